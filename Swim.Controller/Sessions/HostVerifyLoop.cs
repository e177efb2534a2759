using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>
/// Write-verify driven from the host, for boards without PROGRAM_VERIFY: READ, then for every cell outside its
/// band one WRITE_PULSE toward the target, READ again, until in band or out of iterations. All unfinished cells
/// of a chunk move in lockstep, so one iteration is two round trips however many cells it covers.
/// The host knows no pulse model, only the board's safe operating area, so the amplitude adapts per cell
/// (incremental step pulse programming with bisection): it starts low, rises by a step while the cell moves
/// less than half its remaining error, and on an overshoot (the error changes sign) falls back and halves the
/// step; a cell that hardly moves at full amplitude (near a window edge, or a stiff cell) gets pulses four times
/// longer, up to the longest the board allows, before it may be called stuck. Every pulse follows a fresh read, so a chunk interrupted part-way is finished by running the loop again
/// from the cells' actual states: a cell already in band gets no pulse.
/// </summary>
public static class HostVerifyLoop
{
    /// <summary>Pulses in a row at full amplitude that leave a cell where it was before it is declared stuck.</summary>
    public const int StuckAfter = 3;

    /// <summary>Samples each verify read averages, as published loops do (NeuRRAM's averages five): one read's noise is often the band's width.</summary>
    public const byte ReadSamples = 5;

    /// <param name="targets">Each cell and its target conductance, microsiemens.</param>
    /// <param name="iterations">Receives the pulses each cell took.</param>
    public static async Task<StatusCode[]> RunAsync(BoardClient client, BoardInfo board, IReadOnlyList<(CellAddress Cell, float Target)> targets,
        float tolerance, ushort maxIterations, int[]? iterations = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(board);
        ArgumentNullException.ThrowIfNull(targets);
        SafeOperatingArea soa = board.SafeOperatingArea;
        // Ten times the shortest pulse the board allows: short enough for fine steps, long enough to switch.
        uint startWidth = (uint)Math.Clamp(10L * soa.WidthMinNs, soa.WidthMinNs, soa.WidthMaxNs);
        float span = soa.AmplitudeMaxVolts - soa.AmplitudeMinVolts;
        double noMove = Math.Max(3 * board.ReadResolutionMicrosiemens, 1e-4 * (board.ConductanceMaxMicrosiemens - board.ConductanceMinMicrosiemens));
        int n = targets.Count;
        var status = new StatusCode[n];
        var amplitude = new float[n];
        var step = new float[n];
        var lastError = new double[n];
        var still = new int[n];
        var pulses = new int[n];
        var width = new uint[n];
        Array.Fill(width, startWidth);
        Array.Fill(amplitude, soa.AmplitudeMinVolts + 0.25f * span);
        Array.Fill(step, 0.1f * span);
        Array.Fill(status, StatusCode.DidNotConverge);

        float[] g = await client.ReadAsync([.. targets.Select(t => t.Cell)], ReadSamples, cancellationToken).ConfigureAwait(false);
        List<int> active = [.. Enumerable.Range(0, n)];
        for (int iteration = 0; ; iteration++)
        {
            List<int> pulsing = Judge(active, targets, g, tolerance, maxIterations, soa, status, amplitude, step, lastError, still, pulses);
            if (pulsing.Count == 0)
            {
                break;
            }
            await client.WritePulsesAsync([.. pulsing.Select(i => new Pulse(targets[i].Cell, lastError[i] > 0 ? PulsePolarity.Set : PulsePolarity.Reset, amplitude[i], width[i]))],
                cancellationToken).ConfigureAwait(false);
            float[] after = await client.ReadAsync([.. pulsing.Select(i => targets[i].Cell)], ReadSamples, cancellationToken).ConfigureAwait(false);
            for (int k = 0; k < pulsing.Count; k++)
            {
                int i = pulsing[k];
                pulses[i]++;
                bool unmoved = amplitude[i] >= soa.AmplitudeMaxVolts && Math.Abs(after[k] - g[i]) < noMove;
                if (unmoved && width[i] < soa.WidthMaxNs)
                {
                    width[i] = (uint)Math.Min(4L * width[i], soa.WidthMaxNs);
                }
                else
                {
                    still[i] = unmoved ? still[i] + 1 : 0;
                }
                g[i] = after[k];
            }
            active = pulsing;
        }
        pulses.CopyTo(iterations ?? new int[n], 0);
        return status;
    }

    /// <summary>Decides each active cell's fate from its last reading: in band, stuck, out of iterations, or pulsed again (returned).</summary>
    private static List<int> Judge(List<int> active, IReadOnlyList<(CellAddress Cell, float Target)> targets, float[] g, float tolerance, ushort maxIterations,
        SafeOperatingArea soa, StatusCode[] status, float[] amplitude, float[] step, double[] lastError, int[] still, int[] pulses)
    {
        var pulsing = new List<int>(active.Count);
        foreach (int i in active)
        {
            double error = targets[i].Target - g[i];
            if (Math.Abs(error) <= tolerance)
            {
                status[i] = StatusCode.Ok;
            }
            else if (still[i] >= StuckAfter)
            {
                status[i] = StatusCode.CellStuck;
            }
            else if (pulses[i] < maxIterations)
            {
                if (pulses[i] > 0)
                {
                    Adapt(i, error, soa, amplitude, step, lastError);
                }
                lastError[i] = error;
                pulsing.Add(i);
            }
        }
        return pulsing;
    }

    private static void Adapt(int i, double error, SafeOperatingArea soa, float[] amplitude, float[] step, double[] lastError)
    {
        if (Math.Sign(error) != Math.Sign(lastError[i]))
        {
            // Overshot: the last pulse was too strong. Back off and refine.
            amplitude[i] = Math.Max(soa.AmplitudeMinVolts, amplitude[i] - step[i]);
            step[i] /= 2;
        }
        else if (Math.Abs(error) > 0.5 * Math.Abs(lastError[i]))
        {
            // Moved less than half of what was left (or not at all, below the switching threshold): push harder.
            amplitude[i] = Math.Min(soa.AmplitudeMaxVolts, amplitude[i] + step[i]);
        }
    }
}
