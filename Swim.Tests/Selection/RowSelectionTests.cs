using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Selection;

/// <summary>Selection for a row-parallel array: whole crossbar rows in order of the score they hold.</summary>
public sealed class RowSelectionTests
{
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;

    [Fact]
    public void Rows_come_whole_in_order_of_their_summed_score_and_cells_by_score_within_a_row()
    {
        BoardInfo board = EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(16, 256, 256), 1);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_lenet, board, new MappingOptions()), s_lenet);
        var random = new Random(3);
        // Heavy-tailed scores, as SWIM's are.
        double[] scores = [.. Enumerable.Range(0, plan.CellCount).Select(_ => Math.Exp(4 * random.NextDouble()))];

        int[] order = CellSelector.ByRows(scores, plan);

        Assert.Equal(Enumerable.Range(0, plan.CellCount), order.Order());
        // Worked out independently: each row's total, then the rows in descending total.
        var rows = Enumerable.Range(0, plan.CellCount).GroupBy(c => (plan.Cells[c].Tile, plan.Cells[c].Row))
            .Select(g => (Key: g.Key, Total: g.Sum(c => scores[c]), Count: g.Count())).OrderByDescending(r => r.Total).ToList();
        int at = 0;
        foreach (var row in rows)
        {
            int[] cells = order[at..(at + row.Count)];
            Assert.All(cells, c => Assert.Equal(row.Key, (plan.Cells[c].Tile, plan.Cells[c].Row)));
            Assert.Equal(cells.OrderByDescending(c => scores[c]).Select(c => scores[c]), cells.Select(c => scores[c]));
            at += row.Count;
        }
    }

    [Fact]
    public void A_fraction_taken_by_rows_touches_few_rows_where_the_methods_top_cells_touch_most()
    {
        BoardInfo board = EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(16, 256, 256), 1);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_lenet, board, new MappingOptions()), s_lenet);
        int Rows(bool[] selected) => Enumerable.Range(0, plan.CellCount).Where(c => selected[c]).Select(c => (plan.Cells[c].Tile, plan.Cells[c].Row)).Distinct().Count();
        int allRows = plan.Cells.Select(c => (c.Tile, c.Row)).Distinct().Count();

        bool[] scattered = CellSelector.Select(SelectionMethod.Random, 0.1, plan, null, seed: 1);
        bool[] byRows = CellSelector.Select(SelectionMethod.Random, 0.1, plan, null, seed: 1, cost: SelectionCost.RowParallel);

        Assert.Equal(scattered.Count(v => v), byRows.Count(v => v));
        Assert.True(Rows(scattered) > 0.9 * allRows, $"{Rows(scattered)} of {allRows} rows");
        // A tenth of the cells in whole rows: about a tenth of the rows (rows of a layer's last block may be shorter).
        Assert.True(Rows(byRows) < 0.2 * allRows, $"{Rows(byRows)} of {allRows} rows");
    }

    private static CellPlan LeNetPlan() =>
        CellPlan.Build(CrossbarMapping.Build(s_lenet, EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(16, 256, 256), 1), new MappingOptions()), s_lenet);

    [Fact]
    public void By_bench_time_a_row_of_several_good_cells_goes_before_a_lone_better_cell_when_its_pass_costs_more_than_their_bytes()
    {
        CellPlan plan = LeNetPlan();
        var scores = new double[plan.CellCount];
        // Row A holds one cell of score 5; row B four cells of score 3; nothing else scores.
        int lone = 100;
        int[] group = [.. Enumerable.Range(0, plan.CellCount).Where(c => plan.RowOf(c) != plan.RowOf(lone)).GroupBy(plan.RowOf).First(g => g.Count() >= 4).Take(4)];
        scores[lone] = 5;
        foreach (int c in group)
        {
            scores[c] = 3;
        }

        // Worked by hand: a pass of 1 s and 0.1 s a cell give A 5 / 1.1 = 4.5 a second and B 12 / 1.4 = 8.6 a second.
        int[] slowPasses = CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 1, CellLinkSeconds: 0.1));
        Assert.Equal([.. group, lone], slowPasses[..5]);
        // Passes that cost nothing: every cell by its score, as selection by count takes them.
        int[] freePasses = CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 0, CellLinkSeconds: 1));
        Assert.Equal(lone, freePasses[0]);
        Assert.Equal(group.Order(), freePasses[1..5].Order());
        Assert.Equal(Enumerable.Range(0, plan.CellCount), slowPasses.Order());
        Assert.Equal(Enumerable.Range(0, plan.CellCount), freePasses.Order());
    }

    [Fact]
    public void By_bench_time_with_free_link_bytes_is_whole_rows_and_with_free_passes_is_every_cell_by_score()
    {
        CellPlan plan = LeNetPlan();
        var random = new Random(5);
        double[] scores = [.. Enumerable.Range(0, plan.CellCount).Select(_ => Math.Exp(4 * random.NextDouble()))];

        Assert.Equal(CellSelector.ByRows(scores, plan), CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 1e-4, CellLinkSeconds: 0)));
        int[] cells = CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 0, CellLinkSeconds: 1e-5));
        Assert.Equal(scores.OrderByDescending(v => v), cells.Select(c => scores[c]));
    }

    [Fact]
    public void Bench_costs_come_from_the_boards_row_pass_at_the_iteration_cap_and_each_outcomes_bytes_on_the_line()
    {
        BoardInfo board = EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(16, 256, 256), 1);

        BenchCost cost = BenchCost.Of(board, maxIterations: 20, lineBaud: 3_000_000);

        // Three bytes an outcome (status and u16 iterations), ten bits a byte on the UART.
        Assert.Equal(3 * 10 / 3e6, cost.CellLinkSeconds, 12);
        // A row read whole: a first read, then 20 iterations of two pulses (cells going both ways) and a read.
        ArrayTimeModel model = ArrayTimeModel.Of(board);
        Assert.Equal((model.VerifyReadNs + 20 * (2.0 * model.PulseNs + model.VerifyReadNs)) / 1e9, cost.RowPassSeconds, 12);
        Assert.True(cost.RowPassSeconds > 0);
    }
}
