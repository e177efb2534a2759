namespace Swim.Protocol.Messages;

/// <summary>
/// Level indices packed in b bits each, least significant first: level i is bits i x b .. i x b + b - 1 of the stream,
/// bit k of the stream being bit k mod 8 of byte k / 8; the bits after the last level are 0. PROGRAM_LEVELS and
/// VERIFY_LEVELS carry their levels so.
/// </summary>
public static class PackedLevels
{
    /// <summary>The bits a level index of a cell with <paramref name="levels"/> levels needs.</summary>
    public static byte BitsFor(int levels) => (byte)Math.Max(1, 32 - int.LeadingZeroCount(Math.Max(1, levels - 1)));

    /// <summary>Bytes that <paramref name="count"/> levels of <paramref name="bits"/> bits take packed.</summary>
    public static int Length(int count, int bits) => (count * bits + 7) / 8;

    public static byte[] Pack(IReadOnlyList<ushort> levels, int bits)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var packed = new byte[Length(levels.Count, bits)];
        for (int i = 0; i < levels.Count; i++)
        {
            for (int b = 0; b < bits; b++)
            {
                if ((levels[i] >> b & 1) != 0)
                {
                    int bit = i * bits + b;
                    packed[bit >> 3] |= (byte)(1 << (bit & 7));
                }
            }
        }
        return packed;
    }

    /// <summary>Reads <paramref name="count"/> levels; throws <see cref="MalformedPayloadException"/> when a bit after the last is set.</summary>
    public static ushort[] Unpack(ReadOnlySpan<byte> packed, int count, int bits)
    {
        var levels = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            int value = 0;
            for (int b = 0; b < bits; b++)
            {
                int bit = i * bits + b;
                value |= (packed[bit >> 3] >> (bit & 7) & 1) << b;
            }
            levels[i] = (ushort)value;
        }
        int used = count * bits;
        if (used % 8 != 0 && packed[^1] >> (used % 8) != 0)
        {
            throw new MalformedPayloadException("the bits after the last level are not 0.");
        }
        return levels;
    }
}
