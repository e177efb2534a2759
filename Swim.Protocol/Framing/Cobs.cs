namespace Swim.Protocol.Framing;

/// <summary>
/// Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): removes every zero byte from a block so
/// that zero can delimit frames. Each group starts with a code byte: the distance to the next zero (or, at
/// 0xFF, a full group of 254 non-zero bytes with no zero implied).
/// </summary>
public static class Cobs
{
    /// <summary>Encodes <paramref name="source"/> into <paramref name="destination"/> (no delimiter); returns the length written.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int write = 1;
        int codeAt = 0;
        byte code = 1;
        for (int i = 0; i < source.Length; i++)
        {
            byte b = source[i];
            if (b == 0)
            {
                destination[codeAt] = code;
                codeAt = write++;
                code = 1;
                continue;
            }
            destination[write++] = b;
            if (++code == 0xFF)
            {
                destination[codeAt] = code;
                code = 1;
                if (i == source.Length - 1)
                {
                    // Canonical COBS: a full group that ends the block is not followed by an empty one.
                    return write;
                }
                codeAt = write++;
            }
        }
        destination[codeAt] = code;
        return write;
    }

    /// <summary>Decodes one COBS block (without its delimiter); false when the block is not valid COBS.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        int read = 0;
        while (read < source.Length)
        {
            byte code = source[read++];
            if (code == 0 || read + code - 1 > source.Length)
            {
                return false;
            }
            for (int i = 1; i < code; i++)
            {
                byte b = source[read++];
                if (b == 0)
                {
                    return false;
                }
                destination[written++] = b;
            }
            if (code != 0xFF && read < source.Length)
            {
                destination[written++] = 0;
            }
        }
        return true;
    }
}
