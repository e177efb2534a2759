namespace Swim.Protocol.Framing;

/// <summary>Header flag bits.</summary>
[Flags]
public enum FrameFlags : byte
{
    None = 0,

    /// <summary>Set by the board on every response; clear on requests.</summary>
    Response = 0x01,

    /// <summary>Set by the board on a response served from its response cache (a repeated sequence number).</summary>
    Replayed = 0x02,
}
