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
}
