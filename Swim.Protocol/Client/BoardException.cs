using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

/// <summary>The board answered with a status other than OK; <see cref="Status"/> is the protocol's code.</summary>
public class BoardException : Exception
{
    public BoardException(StatusCode status, Opcode opcode, uint sequence)
        : base($"the board refused {opcode} (sequence {sequence}) with status {status} (0x{(byte)status:X2}).")
    {
        Status = status;
        Opcode = opcode;
        Sequence = sequence;
    }

    public StatusCode Status { get; }

    public Opcode Opcode { get; }

    public uint Sequence { get; }
}

/// <summary>An attempt that did not execute and may be sent again with the same sequence number (BUSY, BAD_CRC, a corrupted response).</summary>
internal sealed class RetryableAttemptException(string reason) : Exception(reason);
