using System.Globalization;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>
/// A board's activity counters at one moment, from STATUS: device time, pulses, reads and verify iterations, with
/// the uptime and RESET count that tell whether two readings belong to one run of the counters. A board that reports
/// no device time although it has pulsed or read gets the estimate the protocol defines from the nominal times it
/// gave in IDENTIFY, so that a budget still stops and a report still means something.
/// </summary>
public readonly record struct BoardActivity(ulong DeviceTimeNs, ulong Pulses, ulong Reads, ulong VerifyIterations,
    ulong UptimeMicroseconds, uint Resets, bool DeviceTimeEstimated)
{
    public static BoardActivity Of(BoardStatus status, BoardInfo board)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(board);
        bool estimated = status.DeviceTimeNs == 0 && (status.Pulses | status.Reads | status.VerifyIterations) != 0;
        ulong deviceTime = estimated ? NominalNs(status.Pulses, status.Reads, status.VerifyIterations, board) : status.DeviceTimeNs;
        return new BoardActivity(deviceTime, status.Pulses, status.Reads, status.VerifyIterations, status.UptimeMicroseconds, status.Resets, estimated);
    }

    /// <summary>
    /// The device time of this much activity at IDENTIFY's nominal times. An iteration's own pulse and read samples
    /// are already among the pulses and reads (a verify read may average several samples), so an iteration adds only
    /// what its nominal time has beyond a pulse and whole reads.
    /// </summary>
    public static ulong NominalNs(ulong pulses, ulong reads, ulong verifyIterations, BoardInfo board)
    {
        ArgumentNullException.ThrowIfNull(board);
        long beyondPulse = Math.Max(0L, (long)board.VerifyIterationNs - board.PulseNs);
        ulong overhead = (ulong)(board.ReadNs == 0 ? beyondPulse : beyondPulse % board.ReadNs);
        return checked(pulses * board.PulseNs + reads * board.ReadNs + verifyIterations * overhead);
    }

    /// <summary>
    /// True when the counters cannot have run on from <paramref name="earlier"/>: the board lost power (uptime went
    /// down), was RESET (which may clear counters), or a counter went down. Per-cell counters read before such a
    /// restart cannot be compared with counters read after it.
    /// </summary>
    public bool RestartedSince(BoardActivity earlier) =>
        UptimeMicroseconds < earlier.UptimeMicroseconds || Resets != earlier.Resets
        || DeviceTimeNs < earlier.DeviceTimeNs || Pulses < earlier.Pulses || Reads < earlier.Reads || VerifyIterations < earlier.VerifyIterations;

    /// <summary>The activity between <paramref name="earlier"/> and this reading; both must be of one run of the counters.</summary>
    public BoardActivity Since(BoardActivity earlier) =>
        new(DeviceTimeNs - earlier.DeviceTimeNs, Pulses - earlier.Pulses, Reads - earlier.Reads, VerifyIterations - earlier.VerifyIterations,
            UptimeMicroseconds - earlier.UptimeMicroseconds, 0, DeviceTimeEstimated || earlier.DeviceTimeEstimated);

    /// <summary>The form kept in a session journal: six integers and whether the device time is estimated.</summary>
    public string ToJournalText() => string.Create(CultureInfo.InvariantCulture,
        $"{DeviceTimeNs} {Pulses} {Reads} {VerifyIterations} {UptimeMicroseconds} {Resets} {(DeviceTimeEstimated ? "estimated" : "reported")}");

    public static BoardActivity? ParseJournalText(string? text)
    {
        string[] parts = text?.Split(' ') ?? [];
        var numbers = new ulong[6];
        if (parts.Length != 7 || parts[6] is not ("estimated" or "reported")
            || parts.Take(6).Select((p, i) => ulong.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i])).Any(ok => !ok)
            || numbers[5] > uint.MaxValue)
        {
            return null;
        }
        return new BoardActivity(numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], (uint)numbers[5], parts[6] == "estimated");
    }
}
