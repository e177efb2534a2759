using System.IO.Hashing;

namespace Swim.Protocol.Framing;

/// <summary>
/// The frame check: CRC-32/ISO-HDLC (the CRC of Ethernet and zlib): polynomial 0x04C11DB7, reflected in and
/// out, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF; check value 0xCBF43926 for ASCII "123456789".
/// Sent little-endian after the payload.
/// </summary>
public static class FrameCrc
{
    public static uint Compute(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(data);
}
