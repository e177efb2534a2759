using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Tests.Devices;

/// <summary>
/// How an emulated board holds its cells compactly: counters that widen only when a count needs it, write times
/// kept per block of cells, conductances to a 65,535th of the window. Each is checked against what a plain
/// representation (a uint a count, a write time a cell) would give.
/// </summary>
public sealed class CellStorageTests
{
    [Fact]
    public void Counts_widen_when_a_count_passes_a_byte_then_sixteen_bits_and_keep_every_value()
    {
        var counts = new WideningCounts(10);
        var plain = new uint[10];
        var random = new Random(3);
        foreach (uint amount in new uint[] { 1, 7, 200, 60, 1_000, 70_000, 3 })
        {
            for (int k = 0; k < 5; k++)
            {
                int cell = random.Next(10);
                counts.Add(cell, amount);
                plain[cell] += amount;
                counts.Increment(cell);
                plain[cell]++;
            }
            Assert.Equal(plain, Enumerable.Range(0, 10).Select(i => counts[i]));
        }
        Assert.Equal(4, counts.BytesEach);
        counts.Clear();
        Assert.All(Enumerable.Range(0, 10), i => Assert.Equal(0u, counts[i]));
    }

    [Fact]
    public void Counts_stay_one_byte_each_while_every_count_is_under_256()
    {
        var counts = new WideningCounts(4);
        for (int k = 0; k < 255; k++) counts.Increment(2);
        Assert.Equal(1, counts.BytesEach);
        counts.Increment(2);
        Assert.Equal(2, counts.BytesEach);
        Assert.Equal(256u, counts[2]);
    }

    [Theory]
    [InlineData("rram")]
    [InlineData("pcm")]
    [InlineData("hfox")]
    public void A_neighbours_write_long_after_leaves_a_cells_age_and_so_its_relaxation_alone(string presetName)
    {
        DevicePreset preset = DevicePreset.ByName(presetName) with { StuckRate = 0 };
        // Cell 0 written at t = 0 and looked at 100 s later, with and without cell 1 (same block of 64) written at 50 s.
        var alone = new CellArray(preset, 128, seed: 9);
        var beside = new CellArray(preset, 128, seed: 9);
        foreach (CellArray cells in new[] { alone, beside })
        {
            cells.Program(0, preset.LevelConductance(2));
            cells.Wait(TimeSpan.FromSeconds(50));
        }
        beside.Program(1, preset.LevelConductance(1));
        alone.Pulse(100, PulsePolarity.Set, 2f, 100); // the same clock cost, in another block
        foreach (CellArray cells in new[] { alone, beside })
        {
            cells.Wait(TimeSpan.FromSeconds(50));
        }

        Assert.Equal(alone.ClockNs, beside.ClockNs);
        // The moved base leaves cell 0's write time rounded to a float's precision: 2 us in 50 s, 1e-9 uS here.
        Assert.Equal(alone.TrueConductance(0), beside.TrueConductance(0), 1e-6);
        Assert.NotEqual(alone.TrueConductance(0), CellWrittenAt(preset, seconds: 50).TrueConductance(0));
    }

    [Fact]
    public void A_programmed_and_read_board_holds_under_ten_bytes_a_cell()
    {
        DevicePreset preset = DevicePreset.ByName("rram");
        var cells = new CellArray(preset, 256 * 256, seed: 2);
        for (int i = 0; i < cells.Count; i++)
        {
            cells.Program(i, preset.LevelConductance(i % 4));
            cells.Read(i, samples: 4);
        }
        for (int i = 0; i < cells.Count; i += 10)
        {
            VerifyLoop.Run(cells, i, preset.LevelConductance(i % 4), 0.4f, 30);
        }

        Assert.InRange(cells.ResidentBytes / (double)cells.Count, 9.0, 10.0);
    }

    private static CellArray CellWrittenAt(DevicePreset preset, int seconds)
    {
        var cells = new CellArray(preset, 128, seed: 9);
        cells.Wait(TimeSpan.FromSeconds(100 - seconds));
        cells.Program(0, preset.LevelConductance(2));
        cells.Wait(TimeSpan.FromSeconds(seconds));
        return cells;
    }
}
