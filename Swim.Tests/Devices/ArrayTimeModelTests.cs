using Swim.Devices;

namespace Swim.Tests.Devices;

/// <summary>The row-parallel time model against examples worked by hand (times in ns; the model answers in seconds).</summary>
public sealed class ArrayTimeModelTests
{
    // A read sample 100 ns, a pulse 1,000 ns, a verify iteration 1,500 ns: its verify read is 500 ns (5 samples).
    private static ArrayTimeModel Model(int perRead, int perPulse) =>
        new() { ReadNs = 100, PulseNs = 1_000, VerifyIterationNs = 1_500, CellsPerRead = perRead, CellsPerPulse = perPulse };

    [Fact]
    public void A_row_pass_lasts_as_long_as_its_slowest_cell_with_converged_cells_inhibited()
    {
        // Cells of one row taking 3, 1 and 0 iterations, a whole row per read and per pulse:
        // first read 500; iteration 1: two cells active, a SET and a RESET pulse (2,000) and a read (500);
        // iterations 2 and 3: one cell, one pulse and a read (1,500 each). 500 + 2,500 + 1,500 + 1,500 = 6,000.
        // Serially: three first reads (1,500) and four iterations (6,000) = 7,500.
        DeviceTime t = Model(256, 256).Verify([(0, 3), (0, 1), (0, 0)]);
        Assert.Equal(6_000e-9, t.ParallelSeconds, 1e-15);
        Assert.Equal(7_500e-9, t.SerialSeconds, 1e-15);
    }

    [Fact]
    public void Without_parallelism_a_row_pass_costs_what_the_cells_cost_one_by_one()
    {
        // One cell a read and a pulse: first reads 3 x 500; iteration 1: 2 pulses and 2 reads (3,000); then 1,500 twice.
        DeviceTime t = Model(1, 1).Verify([(0, 3), (0, 1), (0, 0)]);
        Assert.Equal(7_500e-9, t.ParallelSeconds, 1e-15);
        Assert.Equal(t.SerialSeconds, t.ParallelSeconds, 1e-15);
    }

    [Fact]
    public void Rows_are_passed_one_after_another()
    {
        // Two rows of one cell taking 2 iterations each: 500 + 2 x 1,500 = 3,500 a row.
        DeviceTime t = Model(256, 256).Verify([(0, 2), (7, 2)]);
        Assert.Equal(7_000e-9, t.ParallelSeconds, 1e-15);
        Assert.Equal(7_000e-9, t.SerialSeconds, 1e-15);
    }

    [Fact]
    public void Open_loop_programming_pulses_a_rows_cells_of_one_level_together_and_reads_sense_a_row()
    {
        // Two cells a pulse: row 0 has three cells of level 1 (2 pulses) and one of level 2 (1), row 1 one of level 1 (1): 4 pulses.
        DeviceTime program = Model(2, 2).Program([(0, 1), (0, 1), (0, 1), (0, 2), (1, 1)]);
        Assert.Equal(4_000e-9, program.ParallelSeconds, 1e-15);
        Assert.Equal(5_000e-9, program.SerialSeconds, 1e-15);
        // Two cells a read, two samples of 100 ns: row 0's three cells take 2 reads, row 1's one cell 1: 3 x 200.
        DeviceTime read = Model(2, 2).Read([0, 0, 0, 1], samples: 2);
        Assert.Equal(600e-9, read.ParallelSeconds, 1e-15);
        Assert.Equal(800e-9, read.SerialSeconds, 1e-15);
    }
}
