namespace Swim.Protocol.Framing;

/// <summary>Sizes and offsets of a Swim frame (firmware-spec/protocol.md, section "Frames"), for both versions.</summary>
public static class ProtocolConstants
{
    /// <summary>Version 1: one series of sequence numbers per board, new series inferred from distance.</summary>
    public const byte Version1 = 1;

    /// <summary>Version 2: frames carry a session; each session has its own window of numbers (section 3).</summary>
    public const byte Version2 = 2;

    /// <summary>The newest version this code speaks.</summary>
    public const byte Version = Version2;

    /// <summary>Ends every frame on the wire; COBS guarantees it occurs nowhere else.</summary>
    public const byte Delimiter = 0x00;

    public const int CrcLength = 4;

    public const int VersionOffset = 0;
    public const int FlagsOffset = 1;

    /// <summary>The session no request is numbered in: IDENTIFY, STATUS and OPEN before a session exists (version 2).</summary>
    public const ushort NoSession = 0;

    /// <summary>
    /// The largest payload any version's frame carries: version 1's, whose 10-byte header leaves 65,521 bytes of a 65,535-byte
    /// body (version 2 carries 65,519, <see cref="MaxPayloadLengthOf"/>); a board advertises its own, smaller limit.
    /// </summary>
    public const int MaxPayloadLength = 65535 - 10 - CrcLength;

    public static bool IsKnown(byte version) => version is Version1 or Version2;

    /// <summary>Header bytes before the payload: 10 in version 1, 12 in version 2 (the session's u16).</summary>
    public static int HeaderLength(byte version) => version == Version1 ? 10 : 12;

    /// <summary>The largest payload a frame of <paramref name="version"/> carries: its body's length fits the u16 a board may count it in.</summary>
    public static int MaxPayloadLengthOf(byte version) => 65535 - HeaderLength(version) - CrcLength;

    public static int SessionOffset => 2;

    public static int SequenceOffset(byte version) => version == Version1 ? 2 : 4;

    public static int OpcodeOffset(byte version) => SequenceOffset(version) + 4;

    public static int StatusOffset(byte version) => OpcodeOffset(version) + 1;

    public static int LengthOffset(byte version) => StatusOffset(version) + 1;

    /// <summary>The most bytes a frame of <paramref name="payloadLength"/> takes on the wire, in either version: COBS adds one byte per 254, plus one, plus the delimiter.</summary>
    public static int MaxWireLength(int payloadLength)
    {
        int body = HeaderLength(Version2) + payloadLength + CrcLength;
        return body + body / 254 + 2;
    }
}
