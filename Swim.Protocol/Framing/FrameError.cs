namespace Swim.Protocol.Framing;

/// <summary>Why a delimited block on the line was not a frame. The decoder drops the block and carries on with the next.</summary>
public enum FrameError : byte
{
    None = 0,

    /// <summary>The block is not valid COBS (line noise, a lost byte).</summary>
    Cobs,

    /// <summary>Shorter than a header and CRC.</summary>
    TooShort,

    /// <summary>Longer than the largest frame this end accepts; the excess was discarded unread.</summary>
    TooLong,

    /// <summary>The CRC does not match: some byte changed on the way.</summary>
    BadCrc,

    /// <summary>A protocol version this end does not speak.</summary>
    BadVersion,

    /// <summary>The header's length field disagrees with the bytes received.</summary>
    BadLength,
}
