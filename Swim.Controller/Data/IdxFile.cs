using System.Buffers.Binary;
using System.IO.Compression;

namespace Swim.Controller.Data;

/// <summary>
/// IDX, the format MNIST is distributed in: two zero bytes, a type code, the number of dimensions, each
/// dimension as a big-endian int32, then big-endian data. Gzipped files (".gz") are read as they are.
/// </summary>
internal static class IdxFile
{
    public static ArraySource Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataSetException($"IDX file '{path}' does not exist; check the path.");
        }
        (ElementType type, long[] shape) = ReadHeader(path);
        int headerLength = 4 + 4 * shape.Length;
        return new ArraySource($"'{path}'", type, BigEndian: true, shape, () =>
        {
            Stream stream = OpenRaw(path);
            Span<byte> skip = stackalloc byte[headerLength];
            NpyHeader.TryReadExactly(stream, skip);
            return stream;
        });
    }

    private static Stream OpenRaw(string path)
    {
        FileStream file = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? new OwningStream(new GZipStream(file, CompressionMode.Decompress), file)
            : file;
    }

    private static (ElementType, long[]) ReadHeader(string path)
    {
        using Stream stream = OpenRaw(path);
        Span<byte> magic = stackalloc byte[4];
        try
        {
            if (!NpyHeader.TryReadExactly(stream, magic))
            {
                throw new DataSetException($"'{path}' is too short to be an IDX file.");
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DataSetException($"'{path}' ends in .gz but is not gzip data; unpack it or rename it.", ex);
        }
        if (magic[0] != 0 || magic[1] != 0)
        {
            throw new DataSetException($"'{path}' is not an IDX file (it does not start with two zero bytes); give MNIST-style idx files, or an .npz.");
        }
        ElementType type = magic[2] switch
        {
            0x08 => ElementType.UInt8,
            0x09 => ElementType.Int8,
            0x0B => ElementType.Int16,
            0x0C => ElementType.Int32,
            0x0D => ElementType.Float32,
            0x0E => ElementType.Float64,
            _ => throw new DataSetException($"'{path}' has IDX type code 0x{magic[2]:X2}; valid codes are 08, 09, 0B, 0C, 0D, 0E."),
        };
        int rank = magic[3];
        if (rank == 0)
        {
            throw new DataSetException($"'{path}' declares zero dimensions; the IDX header is damaged.");
        }
        var dims = new byte[4 * rank];
        if (!NpyHeader.TryReadExactly(stream, dims))
        {
            throw new DataSetException($"'{path}' is truncated inside its IDX header.");
        }
        var shape = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(dims.AsSpan(4 * i));
            if (shape[i] < 0)
            {
                throw new DataSetException($"'{path}' declares a negative dimension; the IDX header is damaged.");
            }
        }
        return (type, shape);
    }
}
