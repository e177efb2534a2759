using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

/// <summary>
/// A stretch of a cell list that one command covers: a rectangle of one tile, row by row (<see cref="Rows"/> above 0),
/// or cells listed one by one.
/// </summary>
public readonly record struct CellSpan(int Start, int Count, ushort Rows, ushort Columns)
{
    public bool IsRectangle => Rows > 0;
}

/// <summary>
/// Cuts a list of cells into the commands that carry it in the fewest bytes, in order: a stretch that is a rectangle
/// of one tile, row by row, as one rectangle (an origin and a size however many cells), the rest as cell lists. A
/// session places its cells, and so programs and reads them, mostly in whole rows.
/// </summary>
public static class CellSpans
{
    /// <summary>The shortest row run worth a rectangle of its own: below it, listing the cells costs no more.</summary>
    private const int MinimumRun = 3;

    /// <param name="maxCells">Most cells one command may cover (the board's max_batch, and what fits its answer).</param>
    /// <param name="maxListed">Most cells one list command may carry (what fits the board's max_payload as well).</param>
    public static List<CellSpan> Plan(IReadOnlyList<CellAddress> cells, int maxCells, int maxListed)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCells, 1);
        return Cut(cells.Count, Math.Min(maxListed, maxCells), start =>
        {
            int width = RowRun(cells, start, maxCells);
            if (width < MinimumRun)
            {
                return null;
            }
            int height = 1;
            while ((height + 1) * width <= maxCells && IsRow(cells, start + height * width, width, cells[start], height))
            {
                height++;
            }
            return new CellSpan(start, height * width, (ushort)height, (ushort)width);
        });
    }

    /// <summary>
    /// Cuts <paramref name="count"/> cells into spans: where <paramref name="rectangleAt"/> finds a rectangle starting at a
    /// cell, that rectangle; the cells between go in lists of at most <paramref name="maxListed"/>.
    /// </summary>
    public static List<CellSpan> Cut(int count, int maxListed, Func<int, CellSpan?> rectangleAt)
    {
        ArgumentNullException.ThrowIfNull(rectangleAt);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxListed, 1);
        var spans = new List<CellSpan>();
        int listedFrom = 0, listed = 0;
        for (int i = 0; i < count;)
        {
            if (rectangleAt(i) is { } rectangle)
            {
                Flush();
                spans.Add(rectangle);
                i += rectangle.Count;
                continue;
            }
            if (listed == 0)
            {
                listedFrom = i;
            }
            listed++;
            i++;
            if (listed == maxListed)
            {
                Flush();
            }
        }
        Flush();
        return spans;

        void Flush()
        {
            if (listed > 0)
            {
                spans.Add(new CellSpan(listedFrom, listed, 0, 0));
                listed = 0;
            }
        }
    }

    /// <summary>How many cells from <paramref name="start"/> continue one row of one tile, column after column (at most <paramref name="limit"/>).</summary>
    private static int RowRun(IReadOnlyList<CellAddress> cells, int start, int limit)
    {
        CellAddress first = cells[start];
        int run = 1;
        while (run < limit && start + run < cells.Count && cells[start + run] == first with { Column = (ushort)(first.Column + run) } && first.Column + run <= ushort.MaxValue)
        {
            run++;
        }
        return run;
    }

    /// <summary>Whether the <paramref name="width"/> cells from <paramref name="start"/> are row <paramref name="offset"/> below <paramref name="origin"/>'s, same columns.</summary>
    private static bool IsRow(IReadOnlyList<CellAddress> cells, int start, int width, CellAddress origin, int offset)
    {
        if (start + width > cells.Count || origin.Row + offset > ushort.MaxValue)
        {
            return false;
        }
        for (int k = 0; k < width; k++)
        {
            if (cells[start + k] != new CellAddress(origin.Tile, (ushort)(origin.Row + offset), (ushort)(origin.Column + k)))
            {
                return false;
            }
        }
        return true;
    }
}
