using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Swim.Tests.Support;

/// <summary>
/// Writes .npy, .npz and IDX files byte by byte from their format descriptions, independently of the
/// readers under test, so a reader bug cannot hide behind a writer sharing its code.
/// </summary>
public static class FormatWriters
{
    /// <summary>A .npy v1.0 file: magic, version, header length, a dict literal padded to 64 bytes, data.</summary>
    public static byte[] Npy(string descr, long[] shape, byte[] data, bool fortran = false, byte major = 1)
    {
        string shapeText = shape.Length switch
        {
            0 => "()",
            1 => $"({shape[0]},)",
            _ => "(" + string.Join(", ", shape) + ")",
        };
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shapeText}, }}";
        int prefix = major == 1 ? 10 : 12;
        int padding = (64 - ((prefix + dict.Length + 1) % 64)) % 64;
        string header = dict + new string(' ', padding) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        if (major == 1)
        {
            bytes.Add((byte)(header.Length & 0xFF));
            bytes.Add((byte)(header.Length >> 8));
        }
        else
        {
            bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        }
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }
        return bytes;
    }

    public static byte[] Int64s(params long[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        }
        return bytes;
    }

    /// <summary>
    /// A data file as numpy writes one: x.npy float32 samples of <paramref name="sampleShape"/>, y.npy int64 labels, one
    /// a sample (the sample count is the labels').
    /// </summary>
    public static byte[] LabelledSamples(float[] x, long[] sampleShape, long[] labels, bool deflate = false) =>
        Zip(deflate, ("x.npy", Npy("<f4", [labels.Length, .. sampleShape], Floats(x))), ("y.npy", Npy("<i8", [labels.Length], Int64s(labels))));

    /// <summary>A zip archive written by hand: local headers, central directory, end record; method 0 (stored) or 8 (deflate).</summary>
    public static byte[] Zip(bool deflate, params (string Name, byte[] Data)[] entries)
    {
        using var output = new MemoryStream();
        var writer = new BinaryWriter(output);
        var central = new MemoryStream();
        var centralWriter = new BinaryWriter(central);
        foreach ((string name, byte[] data) in entries)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name);
            byte[] stored = deflate ? DeflateRaw(data) : data;
            uint crc = Crc32(data);
            uint offset = (uint)output.Position;
            ushort method = (ushort)(deflate ? 8 : 0);
            writer.Write(0x04034b50u);
            writer.Write((ushort)20);
            writer.Write((ushort)0);
            writer.Write(method);
            writer.Write((ushort)0);
            writer.Write((ushort)0x21);
            writer.Write(crc);
            writer.Write((uint)stored.Length);
            writer.Write((uint)data.Length);
            writer.Write((ushort)nameBytes.Length);
            writer.Write((ushort)0);
            writer.Write(nameBytes);
            writer.Write(stored);
            centralWriter.Write(0x02014b50u);
            centralWriter.Write((ushort)20);
            centralWriter.Write((ushort)20);
            centralWriter.Write((ushort)0);
            centralWriter.Write(method);
            centralWriter.Write((ushort)0);
            centralWriter.Write((ushort)0x21);
            centralWriter.Write(crc);
            centralWriter.Write((uint)stored.Length);
            centralWriter.Write((uint)data.Length);
            centralWriter.Write((ushort)nameBytes.Length);
            centralWriter.Write((ushort)0);
            centralWriter.Write((ushort)0);
            centralWriter.Write((ushort)0);
            centralWriter.Write((ushort)0);
            centralWriter.Write(0u);
            centralWriter.Write(offset);
            centralWriter.Write(nameBytes);
        }
        uint centralOffset = (uint)output.Position;
        writer.Write(central.ToArray());
        writer.Write(0x06054b50u);
        writer.Write((ushort)0);
        writer.Write((ushort)0);
        writer.Write((ushort)entries.Length);
        writer.Write((ushort)entries.Length);
        writer.Write((uint)central.Length);
        writer.Write(centralOffset);
        writer.Write((ushort)0);
        writer.Flush();
        return output.ToArray();
    }

    /// <summary>IDX: 0, 0, type code, rank, big-endian int32 dimensions, big-endian data.</summary>
    public static byte[] Idx(byte typeCode, int[] dims, byte[] bigEndianData)
    {
        var bytes = new List<byte> { 0, 0, typeCode, (byte)dims.Length };
        foreach (int d in dims)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, d);
            bytes.AddRange(b);
        }
        bytes.AddRange(bigEndianData);
        return bytes.ToArray();
    }

    private static byte[] DeflateRaw(byte[] data)
    {
        using var memory = new MemoryStream();
        using (var deflate = new DeflateStream(memory, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
        }
        return memory.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }
}
