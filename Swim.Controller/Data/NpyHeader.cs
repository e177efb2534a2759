using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Swim.Controller.Data;

/// <summary>
/// The header of a NumPy .npy array (format versions 1.0, 2.0 and 3.0): element type, shape, and where the
/// data starts. Only little-endian (or single-byte), C-order, plain numeric arrays are accepted.
/// </summary>
public sealed record NpyHeader(ElementType ElementType, IReadOnlyList<long> Shape, long HeaderLength)
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";

    /// <summary>Reads the header from <paramref name="stream"/>, leaving it at the first data byte.</summary>
    /// <param name="label">Names the array in messages, e.g. "'data.npz' array 'x'".</param>
    public static NpyHeader Read(Stream stream, string label)
    {
        Span<byte> prefix = stackalloc byte[10];
        if (!TryReadExactly(stream, prefix))
        {
            throw new DataSetException($"{label} is too short to be a .npy array; the file is truncated.");
        }
        if (!prefix[..6].SequenceEqual(Magic))
        {
            throw new DataSetException($"{label} is not a .npy array (no \\x93NUMPY magic); save it with numpy.save or numpy.savez.");
        }
        byte major = prefix[6];
        int headerLength;
        int prefixLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
            prefixLength = 10;
        }
        else if (major is 2 or 3)
        {
            Span<byte> rest = stackalloc byte[2];
            if (!TryReadExactly(stream, rest))
            {
                throw new DataSetException($"{label} is truncated inside its .npy header.");
            }
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian([prefix[8], prefix[9], rest[0], rest[1]]));
            prefixLength = 12;
        }
        else
        {
            throw new DataSetException($"{label} uses .npy format version {major}.{prefix[7]}; Swim reads versions 1, 2 and 3.");
        }
        if (headerLength <= 0 || headerLength > 1 << 20)
        {
            throw new DataSetException($"{label} declares a .npy header of {headerLength} bytes; the file is damaged.");
        }
        var headerBytes = new byte[headerLength];
        if (!TryReadExactly(stream, headerBytes))
        {
            throw new DataSetException($"{label} is truncated inside its .npy header.");
        }
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        return Parse(header, label, prefixLength + headerLength);
    }

    internal static NpyHeader Parse(string header, string label, long headerLength)
    {
        string descr = ReadValue(header, "descr", label);
        string fortran = ReadValue(header, "fortran_order", label);
        string shapeText = ReadValue(header, "shape", label);
        if (descr.StartsWith('['))
        {
            throw new DataSetException($"{label} is a structured array ({descr}); store plain numeric arrays named x and y.");
        }
        descr = descr.Trim('\'', '"');
        if (fortran == "True")
        {
            throw new DataSetException($"{label} is stored in Fortran order; save it in C order (numpy.ascontiguousarray) and try again.");
        }
        if (fortran != "False")
        {
            throw new DataSetException($"{label} has fortran_order '{fortran}'; expected True or False.");
        }
        ElementType type = ParseDescr(descr, label);
        var shape = new List<long>();
        foreach (string part in shapeText.Trim('(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long dim))
            {
                throw new DataSetException($"{label} has an unreadable shape {shapeText}.");
            }
            shape.Add(dim);
        }
        return new NpyHeader(type, shape, headerLength);
    }

    private static ElementType ParseDescr(string descr, string label)
    {
        if (descr.Length < 2)
        {
            throw new DataSetException($"{label} has an unreadable dtype '{descr}'.");
        }
        char order = descr[0];
        string code = descr[1..];
        if (code.StartsWith('O'))
        {
            throw new DataSetException($"{label} is an object array (dtype '{descr}'); Swim reads numeric arrays only. Convert with x.astype(numpy.float32) or numpy.uint8 before saving, without allow_pickle.");
        }
        ElementType? type = code switch
        {
            "u1" => ElementType.UInt8,
            "i1" => ElementType.Int8,
            "i2" => ElementType.Int16,
            "u2" => ElementType.UInt16,
            "i4" => ElementType.Int32,
            "u4" => ElementType.UInt32,
            "i8" => ElementType.Int64,
            "u8" => ElementType.UInt64,
            "f2" => ElementType.Float16,
            "f4" => ElementType.Float32,
            "f8" => ElementType.Float64,
            _ => null,
        };
        if (type is null)
        {
            throw new DataSetException($"{label} has dtype '{descr}', which Swim does not read; use float32, float64, float16 or uint8 for x and an integer type for y.");
        }
        if (order == '>' && ElementTypes.SizeOf(type.Value) > 1)
        {
            throw new DataSetException($"{label} is big-endian (dtype '{descr}'); save it little-endian (x.astype('<{code}')).");
        }
        if (order is not ('<' or '|' or '=' or '>'))
        {
            throw new DataSetException($"{label} has an unreadable dtype '{descr}'.");
        }
        return type.Value;
    }

    // The header is a Python dict literal; its three keys have simple values, so a scan is enough and
    // keeps Swim from evaluating anything the file says.
    private static string ReadValue(string header, string key, string label)
    {
        int keyAt = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (keyAt < 0)
        {
            keyAt = header.IndexOf($"\"{key}\"", StringComparison.Ordinal);
        }
        if (keyAt < 0)
        {
            throw new DataSetException($"{label} has a .npy header without '{key}'; the file is damaged.");
        }
        int colon = header.IndexOf(':', keyAt + key.Length + 2);
        if (colon < 0)
        {
            throw new DataSetException($"{label} has a damaged .npy header near '{key}'.");
        }
        int start = colon + 1;
        while (start < header.Length && header[start] == ' ')
        {
            start++;
        }
        int end;
        if (start < header.Length && header[start] == '(')
        {
            end = header.IndexOf(')', start);
            if (end < 0)
            {
                throw new DataSetException($"{label} has a damaged .npy header near '{key}'.");
            }
            end++;
        }
        else if (start < header.Length && header[start] == '[')
        {
            end = header.LastIndexOf(']') + 1;
        }
        else
        {
            end = header.IndexOfAny([',', '}'], start);
            if (end < 0)
            {
                end = header.Length;
            }
        }
        return header[start..end].Trim();
    }

    internal static bool TryReadExactly(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                return false;
            }
            total += read;
        }
        return true;
    }
}
