namespace Swim.Protocol.Framing;

/// <summary>
/// The frame check: CRC-32/ISO-HDLC (the CRC of Ethernet and zlib): polynomial 0x04C11DB7, reflected in and
/// out, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF; check value 0xCBF43926 for ASCII "123456789".
/// Sent little-endian after the payload. Computed here with a 256-entry table so that the wire contract needs
/// no package (firmware computes it the same way).
/// </summary>
public static class FrameCrc
{
    private const uint ReflectedPolynomial = 0xEDB88320;

    private static readonly uint[] s_table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? ReflectedPolynomial ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }
}
