using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Mapping;

/// <summary>How a model is spread over several boards: tiles dealt out in turn, every cell on exactly one board, alike boards only.</summary>
public sealed class BoardSetTests
{
    private static BoardInfo Board(string serial, ushort tiles, ushort rows = 64, ushort columns = 64, ushort levels = 4) =>
        EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(tiles, rows, columns), 1) with { Serial = serial, LevelsPerCell = levels };

    [Fact]
    public void Tiles_are_dealt_out_in_turn_and_boards_with_fewer_tiles_drop_out_when_theirs_run_out()
    {
        var set = BoardSet.Of([Board("A", 2), Board("B", 1), Board("C", 3)]);

        Assert.Equal(6, set.Combined.Tiles);
        // Worked by hand: round 1 gives A0 B0 C0, round 2 A1 C1, round 3 C2.
        (int, ushort)[] expected = [(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (2, 2)];
        Assert.Equal(expected, Enumerable.Range(0, 6).Select(set.Locate));
    }

    [Fact]
    public void Every_cell_of_a_plan_lands_on_exactly_one_board_at_its_row_and_column_there()
    {
        var set = BoardSet.Of([Board("A", 8, 256, 256), Board("B", 8, 256, 256)]);
        CrossbarMapping mapping = CrossbarMapping.Build(BundledLeNet.Model, set.Combined, new MappingOptions());
        CellPlan plan = CellPlan.Build(mapping, BundledLeNet.Model);

        IReadOnlyList<BoardShare> shares = set.Split(plan);

        var seen = new int[plan.CellCount];
        foreach (BoardShare share in shares)
        {
            Assert.Equal(share.Cells.Length, share.Plan.CellCount);
            Assert.True(share.Cells.SequenceEqual(share.Cells.Order()), "a share's cells are in the plan's order");
            for (int i = 0; i < share.Cells.Length; i++)
            {
                int cell = share.Cells[i];
                seen[cell]++;
                CellAddress whole = plan.Cells[cell], there = share.Plan.Cells[i];
                Assert.Equal((share.Board, there.Tile), set.Locate(whole.Tile));
                Assert.Equal((whole.Row, whole.Column), (there.Row, there.Column));
                Assert.True(there.Tile < set.Boards[share.Board].Tiles);
                Assert.Equal(plan.Levels[cell], share.Plan.Levels[i]);
            }
        }
        Assert.All(seen, n => Assert.Equal(1, n));
        // A model of many tiles is spread evenly: the two boards' shares differ by at most a tile.
        Assert.InRange(Math.Abs(shares[0].Cells.Length - shares[1].Cells.Length), 0, 256 * 256);
    }

    [Fact]
    public void Boards_of_other_cells_or_one_board_twice_are_refused_by_name()
    {
        var other = Assert.Throws<SwimInputException>(() => BoardSet.Of([Board("A", 4), Board("B", 4, rows: 128)]));
        Assert.Contains("board 2 (B)", other.Message, StringComparison.Ordinal);
        Assert.Contains("128 x 64", other.Message, StringComparison.Ordinal);

        var levels = Assert.Throws<SwimInputException>(() => BoardSet.Of([Board("A", 4), Board("B", 4), Board("C", 4, levels: 16)]));
        Assert.Contains("board 3 (C)", levels.Message, StringComparison.Ordinal);

        var twice = Assert.Throws<SwimInputException>(() => BoardSet.Of([Board("A", 4), Board("B", 4), Board("A", 4)]));
        Assert.Contains("boards 1 and 3", twice.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_boards_and_more_tiles_than_a_session_addresses_are_refused()
    {
        Assert.Equal("boards", Assert.Throws<ArgumentException>(() => BoardSet.Of([])).ParamName);
        Assert.Throws<ArgumentNullException>(() => BoardSet.Of(null!));
        Assert.Throws<ArgumentNullException>(() => BoardSet.Single(null!));
        Assert.Throws<ArgumentNullException>(() => BoardSet.Single(Board("A", 1)).Split(null!));

        // A tile number is 16 bits: 65,535 tiles between the boards is the most a session addresses.
        Assert.Equal(ushort.MaxValue, BoardSet.Of([Board("A", 32768, 1, 1), Board("B", 32767, 1, 1)]).Combined.Tiles);
        var tooMany = Assert.Throws<SwimInputException>(() => BoardSet.Of([Board("A", 32768, 1, 1), Board("B", 32768, 1, 1)]));
        Assert.Contains("65,536 tiles between them; a session addresses at most 65,535", tooMany.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_emulated_set_is_one_boards_cells_dealt_out_tile_by_tile()
    {
        // Independent of the session: the same write on the same cell of the one board and of the set's board gives the same conductance.
        var whole = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(6, 16, 16), seed: 5);
        EmulatedBoard[] set = [.. Enumerable.Range(0, 3).Select(b => new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(2, 16, 16), 5, b, 3))];
        Assert.Equal(["EMU0005-1of3", "EMU0005-2of3", "EMU0005-3of3"], set.Select(b => b.Info.Serial));
        for (int tile = 0; tile < 6; tile++)
        {
            for (int cell = 0; cell < 256; cell += 17)
            {
                int there = tile * 256 + cell, here = tile / 3 * 256 + cell;
                EmulatedBoard board = set[tile % 3];
                whole.Cells.Program(there, 20);
                board.Cells.Program(here, 20);
                Assert.Equal(whole.Cells.TrueConductance(there), board.Cells.TrueConductance(here));
                Assert.Equal(whole.Cells.IsStuck(there), board.Cells.IsStuck(here));
            }
        }
        // And not merely any board's: another tile of the one board differs.
        Assert.NotEqual(whole.Cells.TrueConductance(0), whole.Cells.TrueConductance(256));
    }
}
