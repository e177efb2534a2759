namespace Swim.Protocol.Framing;

/// <summary>
/// A decoded frame. Its payload points into the decoder's buffer and is valid until the decoder is fed again;
/// copy it to keep it. <see cref="Session"/> is 0 in version 1, which has no sessions.
/// </summary>
public readonly record struct Frame(byte Version, FrameFlags Flags, uint Sequence, byte Opcode, byte Status, ReadOnlyMemory<byte> Payload, ushort Session = 0)
{
    public bool IsResponse => (Flags & FrameFlags.Response) != 0;
}
