namespace Swim.Protocol.Messages;

/// <summary>A response's status, and the per-cell status inside PROGRAM and PROGRAM_VERIFY responses.</summary>
public enum StatusCode : byte
{
    Ok = 0x00,

    /// <summary>The request's CRC failed; the sequence number echoed is as received and may be wrong. Retransmit.</summary>
    BadCrc = 0x01,

    /// <summary>The header's length disagrees with the frame, or the payload exceeds the board's maximum.</summary>
    BadLength = 0x02,

    UnknownOpcode = 0x03,

    /// <summary>The frame's protocol version is not one the board speaks.</summary>
    BadVersion = 0x04,

    /// <summary>A cell address, level, conductance, tolerance or count outside the board's limits.</summary>
    OutOfRange = 0x05,

    /// <summary>A pulse amplitude or width outside the safe operating area; nothing was pulsed.</summary>
    OutsideSafeOperatingArea = 0x06,

    /// <summary>The board cannot take the request now; it was not executed and may be retried with the same sequence number.</summary>
    Busy = 0x07,

    /// <summary>Write-verify reached its iteration limit without entering the tolerance band.</summary>
    DidNotConverge = 0x08,

    /// <summary>The cell does not respond to pulses (stuck at a conductance).</summary>
    CellStuck = 0x09,

    /// <summary>More cells or sub-requests than the board's maximum batch.</summary>
    BatchTooLarge = 0x0A,

    /// <summary>The payload does not parse as the opcode's layout.</summary>
    Malformed = 0x0B,

    /// <summary>A BATCH inside a BATCH.</summary>
    NestedBatch = 0x0C,

    /// <summary>The board failed for a reason of its own; the message is lost, the state is as the board reports.</summary>
    InternalError = 0x0D,

    /// <summary>
    /// The sequence number is K or more behind the newest the board executed (in version 2, in its session; in
    /// version 1, K to 4K behind): a long-delayed copy of a request whose response left the cache. Not executed.
    /// </summary>
    StaleSequence = 0x0E,

    /// <summary>
    /// Version 2: the frame names a session the board does not hold (never opened, evicted, or lost with power), or a
    /// request other than IDENTIFY, STATUS and OPEN came outside any session. Not executed; OPEN a session.
    /// </summary>
    NoSession = 0x0F,

    /// <summary>Version 2: an OPEN for writing while another session holds the write lease and has not let it lapse.</summary>
    LeaseHeld = 0x10,

    /// <summary>Version 2: a command that changes the array from a session without the write lease. Not executed.</summary>
    NotLeased = 0x11,
}

/// <summary>Which status codes mean "not executed, send the same request again".</summary>
public static class StatusCodes
{
    public static bool IsRetryable(StatusCode status) => status is StatusCode.BadCrc or StatusCode.Busy;
}
