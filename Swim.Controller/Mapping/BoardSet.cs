using Swim.Protocol.Messages;

namespace Swim.Controller.Mapping;

/// <summary>
/// The boards of one session seen as a single board whose tiles are all of theirs: the model is mapped onto
/// <see cref="Combined"/>, and each tile of it is a tile of one board. Tiles are dealt out in turn (board 0's first
/// tile, board 1's first, ..., board 0's second ...), so the mapping, which fills tiles from the first, spreads a
/// model over the boards in whole tiles as evenly as its tiles allow, and the boards program side by side.
/// </summary>
public sealed class BoardSet
{
    private readonly int[] _boardOfTile;
    private readonly ushort[] _localTile;

    private BoardSet(IReadOnlyList<BoardInfo> boards, BoardInfo combined, int[] boardOfTile, ushort[] localTile)
    {
        Boards = boards;
        Combined = combined;
        _boardOfTile = boardOfTile;
        _localTile = localTile;
    }

    public IReadOnlyList<BoardInfo> Boards { get; }

    /// <summary>One board of every board's tiles, described as the first board is: what the model is mapped onto.</summary>
    public BoardInfo Combined { get; }

    public int Count => Boards.Count;

    /// <summary>The set of one board: its tiles are its own.</summary>
    public static BoardSet Single(BoardInfo board) => Of([board ?? throw new ArgumentNullException(nameof(board))]);

    /// <summary>Boards as a set; refuses boards whose cells differ (geometry of a tile, levels, window) or one board given twice.</summary>
    public static BoardSet Of(IReadOnlyList<BoardInfo> boards)
    {
        ArgumentNullException.ThrowIfNull(boards);
        if (boards.Count == 0)
        {
            throw new ArgumentException("a board set needs at least one board.", nameof(boards));
        }
        BoardInfo first = boards[0];
        for (int b = 1; b < boards.Count; b++)
        {
            BoardInfo other = boards[b];
            if (other.Rows != first.Rows || other.Columns != first.Columns || other.LevelsPerCell != first.LevelsPerCell
                || other.ConductanceMinMicrosiemens != first.ConductanceMinMicrosiemens || other.ConductanceMaxMicrosiemens != first.ConductanceMaxMicrosiemens)
            {
                throw new SwimInputException($"board {b + 1} ({other.Serial}) has {Cells(other)}, board 1 ({first.Serial}) {Cells(first)}: one model is spread over boards whose tiles " +
                    "and cells are alike (their tile counts may differ). Give boards of one kind, or program the model on each kind separately.");
            }
            int same = boards.Take(b).ToList().FindIndex(x => x.Serial == other.Serial);
            if (same >= 0 && !string.IsNullOrEmpty(other.Serial))
            {
                throw new SwimInputException($"boards {same + 1} and {b + 1} both answer as serial {other.Serial}: the same board given twice, or two boards with one serial " +
                    "(a journal tells boards apart by serial). Give each board once.");
            }
        }
        long total = boards.Sum(b => (long)b.Tiles);
        if (total > ushort.MaxValue)
        {
            throw new SwimInputException($"the boards have {total:N0} tiles between them; a session addresses at most {ushort.MaxValue:N0}. Program the model over fewer boards.");
        }
        var boardOfTile = new int[total];
        var localTile = new ushort[total];
        int next = 0;
        for (int t = 0; next < total; t++)
        {
            for (int b = 0; b < boards.Count; b++)
            {
                if (t < boards[b].Tiles)
                {
                    boardOfTile[next] = b;
                    localTile[next++] = (ushort)t;
                }
            }
        }
        return new BoardSet(boards, first with { Tiles = (ushort)total }, boardOfTile, localTile);
    }

    private static string Cells(BoardInfo board) =>
        $"tiles of {board.Rows} x {board.Columns} cells of {board.LevelsPerCell} levels over {board.ConductanceMinMicrosiemens}-{board.ConductanceMaxMicrosiemens} uS";

    /// <summary>The board a tile of <see cref="Combined"/> is on, and its number there.</summary>
    public (int Board, ushort Tile) Locate(int tile) => (_boardOfTile[tile], _localTile[tile]);

    /// <summary>
    /// Each board's share of a plan made on <see cref="Combined"/>: its cells (the plan's indices, ascending) and the
    /// plan of them at their addresses on that board.
    /// </summary>
    public IReadOnlyList<BoardShare> Split(CellPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (Count == 1)
        {
            return [new BoardShare(0, [.. Enumerable.Range(0, plan.CellCount)], plan)];
        }
        var counts = new int[Count];
        foreach (CellAddress cell in plan.Cells)
        {
            counts[_boardOfTile[cell.Tile]]++;
        }
        var cells = counts.Select(n => new int[n]).ToArray();
        var filled = new int[Count];
        for (int c = 0; c < plan.CellCount; c++)
        {
            int b = _boardOfTile[plan.Cells[c].Tile];
            cells[b][filled[b]++] = c;
        }
        return [.. Enumerable.Range(0, Count).Select(b => new BoardShare(b, cells[b],
            plan.Share(cells[b], a => new CellAddress(_localTile[a.Tile], a.Row, a.Column))))];
    }
}

/// <summary>One board's part of a session over several: the whole plan's cells it holds (ascending) and the plan of them on that board.</summary>
public sealed record BoardShare(int Board, int[] Cells, CellPlan Plan);
