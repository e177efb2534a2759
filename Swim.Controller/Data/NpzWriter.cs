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
    private readonly List<(string Name, byte[] Npy)> _arrays = [];

    public NpzWriter AddFloat32(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values)
    {
        var data = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * sizeof(float)), values[i]);
        }
        _arrays.Add((name, Npy("<f4", shape, data)));
        return this;
    }

    public NpzWriter AddInt64(string name, IReadOnlyList<long> shape, ReadOnlySpan<long> values)
    {
        var data = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * sizeof(long)), values[i]);
        }
        _arrays.Add((name, Npy("<i8", shape, data)));
        return this;
    }

    public NpzWriter AddUInt8(string name, IReadOnlyList<long> shape, ReadOnlySpan<byte> values)
    {
        _arrays.Add((name, Npy("|u1", shape, values.ToArray())));
        return this;
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
                foreach ((string name, byte[] npy) in _arrays)
                {
                    using Stream entry = zip.CreateEntry(name + ".npy", CompressionLevel.Fastest).Open();
                    entry.Write(npy);
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

    private static byte[] Npy(string descr, IReadOnlyList<long> shape, byte[] data)
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
        byte[] header = Encoding.Latin1.GetBytes(dict + new string(' ', padding) + "\n");
        var npy = new byte[10 + header.Length + data.Length];
        npy[0] = 0x93;
        "NUMPY"u8.CopyTo(npy.AsSpan(1));
        npy[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(npy.AsSpan(8), (ushort)header.Length);
        header.CopyTo(npy, 10);
        data.CopyTo(npy, 10 + header.Length);
        return npy;
    }
}
