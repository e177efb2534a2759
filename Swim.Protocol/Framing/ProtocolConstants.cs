namespace Swim.Protocol.Framing;

/// <summary>Sizes and offsets of a Swim frame (firmware-spec/protocol.md, section "Frames").</summary>
public static class ProtocolConstants
{
    public const byte Version = 1;

    /// <summary>Ends every frame on the wire; COBS guarantees it occurs nowhere else.</summary>
    public const byte Delimiter = 0x00;

    public const int HeaderLength = 10;
    public const int CrcLength = 4;

    /// <summary>The largest payload the header's 16-bit length can carry; a board advertises its own, smaller limit.</summary>
    public const int MaxPayloadLength = 65535 - HeaderLength - CrcLength;

    public const int VersionOffset = 0;
    public const int FlagsOffset = 1;
    public const int SequenceOffset = 2;
    public const int OpcodeOffset = 6;
    public const int StatusOffset = 7;
    public const int LengthOffset = 8;

    /// <summary>The most bytes a frame of <paramref name="payloadLength"/> takes on the wire: COBS adds one byte per 254, plus one, plus the delimiter.</summary>
    public static int MaxWireLength(int payloadLength)
    {
        int body = HeaderLength + payloadLength + CrcLength;
        return body + body / 254 + 2;
    }
}
