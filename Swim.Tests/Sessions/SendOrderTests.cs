using Swim.Controller.Mapping;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Messages;
using Swim.Tests.Support;
using Xunit;

namespace Swim.Tests.Sessions;

/// <summary>
/// The order a session sends its cells in: by place on the board for anything new, so rows go whole whatever the
/// placement; the model's (plan) order for a journal an earlier Swim started, whose chunks count positions in it.
/// </summary>
public sealed class SendOrderTests
{
    private static readonly Lazy<CellPlan> s_placed = new(() =>
    {
        BoardInfo board = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(16, 256, 256), seed: 1).Info;
        CrossbarMapping mapping = CrossbarMapping.Build(BundledLeNet.Model, board, new MappingOptions());
        return CellPlan.Build(mapping.Placed(Placements.Scores(mapping, BundledLeNet.Sensitivity(100, 100))), BundledLeNet.Model);
    });

    [Fact]
    public void Board_order_is_every_cell_once_sorted_by_tile_row_and_column()
    {
        CellPlan plan = s_placed.Value;
        int[] order = plan.BoardOrder();

        Assert.Equal(Enumerable.Range(0, plan.CellCount), order.Order());
        for (int i = 1; i < order.Length; i++)
        {
            CellAddress a = plan.Cells[order[i - 1]], b = plan.Cells[order[i]];
            Assert.True((a.Tile, a.Row, a.Column).CompareTo((b.Tile, b.Row, b.Column)) < 0, $"{a} before {b}");
        }
        // The placement permuted rows, so the model's own order is not the board's.
        Assert.NotEqual(Enumerable.Range(0, plan.CellCount), order);
    }

    [Fact]
    public void A_new_journal_records_board_order_and_one_an_earlier_swim_started_keeps_plan_order()
    {
        using var dir = new TempDirectory();
        CellPlan plan = s_placed.Value;

        using (SessionJournal fresh = SessionJournal.Create(dir.File("new.db"), new Dictionary<string, string>()))
        {
            Assert.Equal(plan.BoardOrder(), ProgrammingSession.SendOrder(plan, fresh));
            Assert.Equal("address", fresh.Fact(ProgrammingSession.CellOrderFact));
        }
        using (SessionJournal reopened = SessionJournal.Open(dir.File("new.db")))
        {
            reopened.Started("program", 0, 8192, null);
            Assert.Equal(plan.BoardOrder(), ProgrammingSession.SendOrder(plan, reopened));
        }
        // Chunks and no order recorded: written by a Swim that sent cells in plan order, and resumed in it.
        using SessionJournal old = SessionJournal.Create(dir.File("old.db"), new Dictionary<string, string>());
        old.Started("program", 0, 8192, null);
        old.Done("program", 0, null);
        Assert.Equal(Enumerable.Range(0, plan.CellCount), ProgrammingSession.SendOrder(plan, old));
        Assert.Null(old.Fact(ProgrammingSession.CellOrderFact));
        Assert.Equal(plan.BoardOrder(), ProgrammingSession.SendOrder(plan, journal: null));
    }
}
