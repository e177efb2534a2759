using Swim.Controller.Mapping;
using Swim.Protocol.Client;

namespace Swim.Controller.Sessions;

/// <summary>
/// Before a resumed session skips the cells its journal says were programmed, reads a sample of them back to see
/// that the board still holds them. A board that restarted without its state (an emulator without a state file),
/// or a chip swapped in the socket, answers every identity check the same and would otherwise be reported as a
/// programmed model it is not.
/// </summary>
/// <remarks>
/// The evidence is how closely the read-back follows the targets: programmed cells land near their targets (open
/// loop error, drift and stuck cells keep the correlation far above <see cref="MinimumCorrelation"/>), while cells
/// that were never programmed, or were lost, sit wherever the board leaves them, which has nothing to do with the
/// targets. It needs no model of what a blank board reads, so it holds for any device and any board.
/// </remarks>
internal static class HeldCellsCheck
{
    /// <summary>Cells read: enough that a correlation of a blank board's cells stays far below the threshold (about 1/sqrt(n)).</summary>
    public const int SampleCells = 256;

    public const double MinimumCorrelation = 0.5;

    /// <summary>Below this many programmed cells the sample says too little, and the check passes.</summary>
    private const int MinimumEvidence = 16;

    /// <summary>Throws when the journal's programmed cells are not on the board, unless <see cref="ProgrammingOptions.AcceptLostCells"/>.</summary>
    /// <param name="order">The order the session sends cells in, in which the journal's program chunks count them.</param>
    public static async Task RequireAsync(BoardClient client, CellPlan plan, int[] order, SessionJournal journal, ProgrammingOptions options, CancellationToken cancellationToken)
    {
        if (options.AcceptLostCells || journal.Fact("state") == "completed")
        {
            return;
        }
        int[] sample = Sample(ProgrammedCells(journal, order), SampleCells);
        if (sample.Length < MinimumEvidence)
        {
            return;
        }
        float[] read = await client.ReadAsync(sample.Select(c => plan.Cells[c]).ToArray(), 4, cancellationToken).ConfigureAwait(false);
        double[] targets = sample.Select(c => (double)plan.TargetConductance(c)).ToArray();
        if (Correlation(targets, read.Select(r => (double)r).ToArray()) is { } r && r < MinimumCorrelation)
        {
            throw new SwimInputException($"journal '{journal.Path}' records {ProgrammedCount(journal):N0} cells programmed, but the board does not hold them: "
                + $"{sample.Length} of them read back follow their targets with a correlation of {r:F2} (programmed cells give well above {MinimumCorrelation}). "
                + "The board restarted without its state or is another chip; resumed on it, the session would skip those cells and report a model they are missing from. "
                + "Resume on the board that holds them ('swim emulator --state FILE' keeps an emulator's cells across restarts), or start afresh (without --resume; 'swim run --force' for a script); "
                + "to go on regardless, add --resume-on-blank-board to 'swim program'.");
        }
    }

    /// <summary>The cells of every finished program chunk, in the order they were sent.</summary>
    private static List<int> ProgrammedCells(SessionJournal journal, int[] order)
    {
        var cells = new List<int>();
        for (int start = 0; start < order.Length;)
        {
            if (journal.Find("program", start) is not { } chunk)
            {
                break;
            }
            if (chunk.Done)
            {
                cells.AddRange(order.AsSpan(start, chunk.Count));
            }
            start += chunk.Count;
        }
        return cells;
    }

    private static long ProgrammedCount(SessionJournal journal) => journal.Summary().Where(s => s is { Phase: "program", Done: true }).Sum(s => s.Cells);

    /// <summary>Up to <paramref name="count"/> cells spread evenly over the list, so every programmed layer has its say.</summary>
    internal static int[] Sample(IReadOnlyList<int> cells, int count)
    {
        if (cells.Count <= count)
        {
            return [.. cells];
        }
        return [.. Enumerable.Range(0, count).Select(i => cells[(int)((long)i * cells.Count / count)])];
    }

    /// <summary>Pearson's correlation; null when either side does not vary (nothing to judge by).</summary>
    internal static double? Correlation(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        if (sxx <= 0)
        {
            return null;
        }
        // Targets that vary read back as one constant: nothing was kept.
        return syy <= 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }
}
