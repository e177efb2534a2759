using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Swim.Controller.Data;

/// <summary>
/// Writes NumPy .npz files (a zip of .npy v1.0 arrays) that numpy.load reads. The file appears only when
/// complete: it is written beside its destination and moved into place.
/// </summary>
public sealed class NpzWriter
{
    // Arrays are kept by reference and written at Save: a sensitivity file of a ResNet-18 holds 180 MB of them,
    // which a copy per array would double.
    private readonly List<(string Name, byte[] Header, Action<Stream> WriteData)> _arrays = [];

    /// <summary>Adds a float32 array; <paramref name="values"/> is read when the file is saved, not copied.</summary>
    public NpzWriter AddFloat32(string name, IReadOnlyList<long> shape, ReadOnlyMemory<float> values)
    {
        _arrays.Add((name, Header("<f4", shape), stream => WriteLittleEndian(stream, values.Span)));
        return this;
    }

    public NpzWriter AddInt64(string name, IReadOnlyList<long> shape, ReadOnlyMemory<long> values)
    {
        _arrays.Add((name, Header("<i8", shape), stream => WriteLittleEndian(stream, values.Span)));
        return this;
    }

    public NpzWriter AddUInt8(string name, IReadOnlyList<long> shape, ReadOnlyMemory<byte> values)
    {
        _arrays.Add((name, Header("|u1", shape), stream => stream.Write(values.Span)));
        return this;
    }

    private static void WriteLittleEndian<T>(Stream stream, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
            return;
        }
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var buffer = new byte[size];
        foreach (T value in values)
        {
            System.Runtime.InteropServices.MemoryMarshal.Write(buffer, in value);
            Array.Reverse(buffer);
            stream.Write(buffer);
        }
    }

    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = full + ".partial-" + Environment.ProcessId;
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
            {
                foreach ((string name, byte[] header, Action<Stream> writeData) in _arrays)
                {
                    // Stored, as numpy's savez writes: float weights and derivatives barely deflate, and deflating a
                    // ResNet-18's 180 MB of them took 2.3 s of a 12 s sensitivity pass.
                    using Stream entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
                    entry.Write(header);
                    writeData(entry);
                }
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>An .npy v1.0 header: magic, version, header length, and the array's description padded to 64 bytes.</summary>
    private static byte[] Header(string descr, IReadOnlyList<long> shape)
    {
        string shapeText = shape.Count switch
        {
            0 => "()",
            1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // numpy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
        int padding = (64 - ((10 + dict.Length + 1) % 64)) % 64;
        byte[] text = Encoding.Latin1.GetBytes(dict + new string(' ', padding) + "\n");
        var header = new byte[10 + text.Length];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)text.Length);
        text.CopyTo(header, 10);
        return header;
    }
}
