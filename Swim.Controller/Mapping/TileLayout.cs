namespace Swim.Controller.Mapping;

/// <summary>
/// Places weight matrices (rows = inputs, columns = outputs times cells per weight) on a board's tiles as
/// non-overlapping rectangles. Two layouts: <see cref="Shelves"/>, which cuts each matrix at tile-sized
/// boundaries only (few, large blocks, but gaps between them: LeNet-5 needs 94 % of 8 x 256 x 256 and does not fit
/// this way), and <see cref="Skyline"/>, which also cuts matrices wherever a tile has room and so fills a board
/// completely (more, smaller blocks).
/// A matrix cut into row ranges is summed digitally across its blocks, as blocks on different tiles already are.
/// </summary>
internal static class TileLayout
{
    /// <summary>
    /// Shelf packing: each matrix is cut into tile-sized blocks, which fill a tile left to right on shelves
    /// as tall as their first block. Returns null when the blocks do not all fit.
    /// </summary>
    public static List<CrossbarBlock>[]? Shelves(IReadOnlyList<(int Rows, int Columns)> matrices, int tiles, int rows, int columns)
    {
        var shelves = Enumerable.Range(0, tiles).Select(_ => new List<(int Top, int Height, int Cursor)>()).ToList();
        var layout = new List<CrossbarBlock>[matrices.Count];
        for (int m = 0; m < matrices.Count; m++)
        {
            layout[m] = [];
            for (int r = 0; r < matrices[m].Rows; r += rows)
            {
                for (int c = 0; c < matrices[m].Columns; c += columns)
                {
                    int height = Math.Min(rows, matrices[m].Rows - r);
                    int width = Math.Min(columns, matrices[m].Columns - c);
                    if (PlaceOnShelf(shelves, rows, columns, height, width) is not { } at)
                    {
                        return null;
                    }
                    layout[m].Add(new CrossbarBlock(at.Tile, at.Row, at.Column, r, c, height, width));
                }
            }
        }
        return layout;
    }

    private static (int Tile, int Row, int Column)? PlaceOnShelf(List<List<(int Top, int Height, int Cursor)>> tiles, int rows, int columns, int height, int width)
    {
        for (int t = 0; t < tiles.Count; t++)
        {
            List<(int Top, int Height, int Cursor)> shelves = tiles[t];
            for (int s = 0; s < shelves.Count; s++)
            {
                (int top, int shelfHeight, int cursor) = shelves[s];
                if (height <= shelfHeight && cursor + width <= columns)
                {
                    shelves[s] = (top, shelfHeight, cursor + width);
                    return (t, top, cursor);
                }
            }
            int used = shelves.Sum(s => s.Height);
            if (used + height <= rows)
            {
                shelves.Add((used, height, width));
                return (t, used, 0);
            }
        }
        return null;
    }

    /// <summary>
    /// Skyline packing with cuts: every tile is <c>columns / slotWidth</c> slots (a slot holds one output's
    /// cells, so a weight's cells stay side by side on one row) whose filled height rises as pieces land.
    /// Matrices are cut into row bands of at most a tile's height, tallest first; a band lands on the first
    /// run of equally filled slots with room for its height, as many outputs as the run is wide, the rest
    /// going on; when no slot has room for the whole height, the band's top rows fill the emptiest run and its
    /// lower rows go on as a shorter piece. Every slot row is thus usable, so this fails (null) only when the
    /// matrices' slots exceed the board's.
    /// </summary>
    public static List<CrossbarBlock>[]? Skyline(IReadOnlyList<(int Rows, int Outputs)> matrices, int slotWidth, int tiles, int rows, int columns)
    {
        int slots = columns / slotWidth;
        long needed = matrices.Sum(m => (long)m.Rows * m.Outputs);
        if (slots == 0 || needed > (long)tiles * rows * slots)
        {
            return null;
        }
        var layout = new List<CrossbarBlock>[matrices.Count];
        var pending = new List<Piece>();
        for (int m = 0; m < matrices.Count; m++)
        {
            layout[m] = [];
            for (int r = 0; r < matrices[m].Rows; r += rows)
            {
                pending.Add(new Piece(m, r, Math.Min(rows, matrices[m].Rows - r), 0, matrices[m].Outputs));
            }
        }
        // Tallest first, so shorter bands stack on top of taller ones; ties keep model order (a stable sort).
        var queue = new LinkedList<Piece>(pending.OrderByDescending(p => p.Rows));
        var filled = new int[tiles, slots];
        while (queue.First is { } first)
        {
            Piece piece = first.Value;
            queue.RemoveFirst();
            (int tile, int slot, int top, int width) = FirstRun(filled, rows, piece.Rows)
                ?? EmptiestRun(filled, rows)
                ?? throw new InvalidOperationException("the board's slots ran out although they outnumber the matrices'; the slot count is wrong.");
            int outputs = Math.Min(width, piece.Outputs);
            int height = Math.Min(piece.Rows, rows - top);
            layout[piece.Matrix].Add(new CrossbarBlock(tile, top, slot * slotWidth, piece.Row, piece.Output * slotWidth, height, outputs * slotWidth));
            for (int s = slot; s < slot + outputs; s++)
            {
                filled[tile, s] += height;
            }
            if (outputs < piece.Outputs)
            {
                queue.AddFirst(piece with { Output = piece.Output + outputs, Outputs = piece.Outputs - outputs });
            }
            if (height < piece.Rows)
            {
                queue.AddFirst(piece with { Row = piece.Row + height, Rows = piece.Rows - height, Outputs = outputs });
            }
        }
        return layout;
    }

    /// <summary>Rows [Row, Row + Rows) of outputs [Output, Output + Outputs) of a matrix, still to be placed.</summary>
    private readonly record struct Piece(int Matrix, int Row, int Rows, int Output, int Outputs);

    /// <summary>The first run of equally filled slots with room for <paramref name="height"/> more rows.</summary>
    private static (int Tile, int Slot, int Top, int Width)? FirstRun(int[,] filled, int rows, int height)
    {
        foreach ((int tile, int slot, int top, int width) in Runs(filled))
        {
            if (top + height <= rows)
            {
                return (tile, slot, top, width);
            }
        }
        return null;
    }

    /// <summary>The run with the most free rows (the widest among equals), or null when every slot is full.</summary>
    private static (int Tile, int Slot, int Top, int Width)? EmptiestRun(int[,] filled, int rows)
    {
        (int Tile, int Slot, int Top, int Width)? best = null;
        foreach ((int tile, int slot, int top, int width) in Runs(filled))
        {
            if (top < rows && (best is not { } b || top < b.Top || (top == b.Top && width > b.Width)))
            {
                best = (tile, slot, top, width);
            }
        }
        return best;
    }

    /// <summary>Maximal runs of neighbouring slots of one tile filled to the same height.</summary>
    private static IEnumerable<(int Tile, int Slot, int Top, int Width)> Runs(int[,] filled)
    {
        int slots = filled.GetLength(1);
        for (int t = 0; t < filled.GetLength(0); t++)
        {
            int s = 0;
            while (s < slots)
            {
                int end = s + 1;
                while (end < slots && filled[t, end] == filled[t, s])
                {
                    end++;
                }
                yield return (t, s, filled[t, s], end - s);
                s = end;
            }
        }
    }
}
