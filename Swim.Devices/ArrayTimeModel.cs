using Swim.Protocol.Messages;

namespace Swim.Devices;

/// <summary>Device time two ways: one operation on one cell after another, and with the array's row parallelism.</summary>
public readonly record struct DeviceTime(double SerialSeconds, double ParallelSeconds)
{
    public static DeviceTime operator +(DeviceTime a, DeviceTime b) => new(a.SerialSeconds + b.SerialSeconds, a.ParallelSeconds + b.ParallelSeconds);
}

/// <summary>
/// The time an array takes with its parallelism (what IDENTIFY states as cells_per_read and cells_per_pulse): a read
/// senses up to cells_per_read cells of a row at once, a pulse drives up to cells_per_pulse masked cells of a row
/// with their own amplitudes, SET and RESET in separate pulses. Write-verify of a row's selected cells runs in lock
/// step and inhibits each cell once it converges, so a row pass lasts as long as its slowest cell: every iteration
/// reads the row's still-active cells and pulses them. Open-loop programming pulses a row's cells of one level
/// together. Serial time is the same work one cell at a time, as a board without that parallelism spends it.
/// </summary>
public sealed record ArrayTimeModel
{
    public required uint ReadNs { get; init; }

    public required uint PulseNs { get; init; }

    /// <summary>One iteration of the write-verify loop: a pulse and a verify read (which may average several samples).</summary>
    public required uint VerifyIterationNs { get; init; }

    public required int CellsPerRead { get; init; }

    public required int CellsPerPulse { get; init; }

    /// <summary>The verify read of one iteration: the iteration without its pulse.</summary>
    public uint VerifyReadNs => VerifyIterationNs > PulseNs ? VerifyIterationNs - PulseNs : ReadNs;

    public static ArrayTimeModel Of(BoardInfo board)
    {
        ArgumentNullException.ThrowIfNull(board);
        return new ArrayTimeModel
        {
            ReadNs = board.ReadNs, PulseNs = board.PulseNs, VerifyIterationNs = board.VerifyIterationNs,
            CellsPerRead = Math.Max(1, (int)board.CellsPerRead), CellsPerPulse = Math.Max(1, (int)board.CellsPerPulse),
        };
    }

    /// <summary>Open-loop programming of cells given as (row, level): serially a pulse each; in parallel a pulse per level per row (more where a level has more cells than a pulse covers).</summary>
    public DeviceTime Program(IEnumerable<(long Row, int Level)> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var perRowLevel = new Dictionary<(long, int), int>();
        long count = 0;
        foreach ((long row, int level) in cells)
        {
            perRowLevel[(row, level)] = perRowLevel.GetValueOrDefault((row, level)) + 1;
            count++;
        }
        long pulses = perRowLevel.Values.Sum(n => Groups(n, CellsPerPulse));
        return new DeviceTime(count * (double)PulseNs / 1e9, pulses * (double)PulseNs / 1e9);
    }

    /// <summary>Reading cells of the given rows once each, <paramref name="samples"/> samples a read.</summary>
    public DeviceTime Read(IEnumerable<long> rows, int samples)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var perRow = new Dictionary<long, int>();
        long count = 0;
        foreach (long row in rows)
        {
            perRow[row] = perRow.GetValueOrDefault(row) + 1;
            count++;
        }
        long reads = perRow.Values.Sum(n => Groups(n, CellsPerRead));
        double ns = (double)ReadNs * samples;
        return new DeviceTime(count * ns / 1e9, reads * ns / 1e9);
    }

    /// <summary>Write-verify of cells given as (row, iterations the loop took), each row's cells in one lock-step pass.</summary>
    public DeviceTime Verify(IEnumerable<(long Row, int Iterations)> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var perRow = new Dictionary<long, List<int>>();
        double serialNs = 0;
        foreach ((long row, int iterations) in cells)
        {
            if (!perRow.TryGetValue(row, out List<int>? list))
            {
                perRow[row] = list = [];
            }
            list.Add(iterations);
            serialNs += VerifyReadNs + (double)iterations * VerifyIterationNs;
        }
        double parallelNs = 0;
        foreach (List<int> row in perRow.Values)
        {
            var histogram = new int[row.Max() + 1];
            row.ForEach(i => histogram[i]++);
            parallelNs += RowPassNs(histogram);
        }
        return new DeviceTime(serialNs / 1e9, parallelNs / 1e9);
    }

    /// <summary>
    /// One row's lock-step pass, from how many of its cells took each number of iterations (histogram[i]: cells that
    /// took i): a first read of them all, then for each iteration j the cells still active (those that took at least j)
    /// are pulsed and read again.
    /// </summary>
    public double RowPassNs(ReadOnlySpan<int> histogram)
    {
        long cells = 0;
        foreach (int n in histogram)
        {
            cells += n;
        }
        if (cells == 0)
        {
            return 0;
        }
        double ns = Groups(cells, CellsPerRead) * (double)VerifyReadNs;
        long active = cells;
        for (int j = 1; j < histogram.Length; j++)
        {
            active -= histogram[j - 1];
            // Cells going up and cells going down need opposite bias: at least two pulses once two cells are active.
            long pulses = Math.Max(Groups(active, CellsPerPulse), Math.Min(active, 2));
            ns += pulses * (double)PulseNs + Groups(active, CellsPerRead) * (double)VerifyReadNs;
        }
        return ns;
    }

    private static long Groups(long count, int perGroup) => (count + perGroup - 1) / perGroup;
}
