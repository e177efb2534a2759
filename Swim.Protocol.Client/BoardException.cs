using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

/// <summary>The board answered with a status other than OK; <see cref="Status"/> is the protocol's code.</summary>
public class BoardException : Exception
{
    public BoardException(StatusCode status, Opcode opcode, uint sequence)
        : this($"the board refused {opcode} (sequence {sequence}) with status {status} (0x{(byte)status:X2}){Advice(status)}", status, opcode, sequence)
    {
    }

    /// <summary>What to do about the statuses a user can act on; a full stop for the rest.</summary>
    private static string Advice(StatusCode status) => status switch
    {
        StatusCode.LeaseHeld => ": another host holds the board's write lease. Stop the other controller (or wait until its lease lapses), or connect read-only.",
        StatusCode.NotLeased => ": this host's session does not hold the write lease (another host took it after this one fell silent); nothing was changed. Reconnect once the other host is done.",
        StatusCode.NoSession => ": the board no longer holds this host's session (it lost power, or evicted the session); whether requests in flight ran is unknown. Read the affected cells before going on.",
        StatusCode.BadVersion => ": the board does not speak this protocol version; update its firmware or choose the version it speaks.",
        _ => ".",
    };

    /// <summary>Every attempt of a request drew a status that asks for a resend (BUSY or BAD_CRC); the board executed none.</summary>
    public BoardException(StatusCode status, Opcode opcode, uint sequence, int attempts)
        : this(status == StatusCode.Busy
            ? $"the board answered BUSY to all {attempts} attempts of {opcode} (sequence {sequence}) and executed none; let it finish what it is doing (or RESET it), then try again."
            : $"the board answered {status} to all {attempts} attempts of {opcode} (sequence {sequence}) and executed none: frames reach it damaged; check the cable, the baud rate and the ground.",
            status, opcode, sequence)
    {
    }

    private BoardException(string message, StatusCode status, Opcode opcode, uint sequence)
        : base(message)
    {
        Status = status;
        Opcode = opcode;
        Sequence = sequence;
    }

    public StatusCode Status { get; }

    public Opcode Opcode { get; }

    public uint Sequence { get; }
}

/// <summary>The board answered no attempt of a request in time; whether it executed the request is unknown.</summary>
public sealed class BoardTimeoutException : TimeoutException
{
    public BoardTimeoutException(Opcode opcode, uint sequence, int attempts, TimeSpan attemptTimeout, Exception inner)
        : this(opcode, sequence, attempts, $"in {attempts} attempts of {attemptTimeout.TotalMilliseconds:0} ms each", inner)
    {
    }

    /// <param name="how">How the attempts went, completing "the board did not answer OPCODE (sequence N) ...".</param>
    public BoardTimeoutException(Opcode opcode, uint sequence, int attempts, string how, Exception inner)
        : base($"the board did not answer {opcode} (sequence {sequence}) {how}; check that it is powered and connected, and the quality of the link.", inner)
    {
        Opcode = opcode;
        Sequence = sequence;
        Attempts = attempts;
    }

    public Opcode Opcode { get; }

    public uint Sequence { get; }

    public int Attempts { get; }
}

/// <summary>An attempt that did not execute and may be sent again with the same sequence number (BUSY, BAD_CRC).</summary>
internal sealed class RetryableAttemptException(StatusCode status) : Exception($"the board answered {status}")
{
    public StatusCode Status { get; } = status;
}

/// <summary>
/// An attempt known lost without waiting for its timeout: the board answered a request sent after it. The board runs
/// requests in arrival order and the link keeps their order, so the attempt's request or its response was lost.
/// </summary>
internal sealed class OvertakenAttemptException() : Exception("the board answered a later request first");
