using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

/// <summary>
/// Turns a list of cells into the fewest bytes of READ commands that answer them in the same order: a stretch of
/// cells that is a rectangle of one tile, row by row, goes as one rectangle (12 bytes however many cells), the rest
/// as cell lists (6 bytes a cell). A session reads its cells back in the order it placed them, mostly whole rows.
/// </summary>
internal static class ReadPlanner
{
    /// <summary>The shortest row run worth a rectangle of its own: below it, listing the cells costs no more.</summary>
    private const int MinimumRun = 3;

    /// <param name="maxCells">Most cells one command may cover (the board's max_batch, and what fits its answer).</param>
    /// <param name="maxListed">Most cells one list command may carry (what fits the board's max_payload as well).</param>
    public static List<ReadRequest> Plan(IReadOnlyList<CellAddress> cells, byte samples, int maxCells, int maxListed)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCells, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxListed, 1);
        maxListed = Math.Min(maxListed, maxCells);
        var commands = new List<ReadRequest>();
        var listed = new List<CellAddress>();
        int i = 0;
        while (i < cells.Count)
        {
            int width = RowRun(cells, i, maxCells);
            if (width < MinimumRun)
            {
                listed.Add(cells[i]);
                i++;
                if (listed.Count == maxListed)
                {
                    Flush();
                }
                continue;
            }
            Flush();
            int height = 1;
            while ((height + 1) * width <= maxCells && IsRow(cells, i + height * width, width, cells[i], height))
            {
                height++;
            }
            commands.Add(ReadRequest.Rectangle(cells[i], (ushort)height, (ushort)width, samples));
            i += height * width;
        }
        Flush();
        return commands;

        void Flush()
        {
            if (listed.Count > 0)
            {
                commands.Add(ReadRequest.Cells([.. listed], samples));
                listed.Clear();
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
