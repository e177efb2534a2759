using System.IO.Compression;

namespace Swim.Controller.Data;

/// <summary>
/// A NumPy .npz file: a zip archive of .npy arrays, stored or deflated (numpy.savez and savez_compressed).
/// Arrays are opened as streams on demand; nothing is read that is not asked for.
/// </summary>
public sealed class NpzArchive
{
    private readonly string _path;

    private NpzArchive(string path, IReadOnlyDictionary<string, NpyHeader> arrays)
    {
        _path = path;
        Arrays = arrays;
    }

    /// <summary>The arrays in the file by name (the entry name without ".npy"), with their headers.</summary>
    public IReadOnlyDictionary<string, NpyHeader> Arrays { get; }

    public static NpzArchive Open(string path)
    {
        var arrays = new Dictionary<string, NpyHeader>(StringComparer.Ordinal);
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                {
                    continue;
                }
                string name = entry.FullName[..^4];
                using Stream stream = entry.Open();
                arrays[name] = NpyHeader.Read(stream, $"'{path}' array '{name}'");
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DataSetException($"'{path}' is not a readable .npz file ({ex.Message}); write it with numpy.savez or numpy.savez_compressed.", ex);
        }
        return new NpzArchive(path, arrays);
    }

    /// <summary>Reads a whole float32 array (as Swim writes sensitivity files).</summary>
    public float[] ReadFloat32(string name)
    {
        ArraySource source = Source(name);
        if (source.Type != ElementType.Float32)
        {
            throw new DataSetException($"{source.Label} holds {source.Type}, expected float32.");
        }
        long count = source.Shape.Aggregate(1L, (a, d) => a * d);
        var bytes = new byte[checked(count * 4)];
        using (Stream stream = source.OpenData())
        {
            if (!NpyHeader.TryReadExactly(stream, bytes))
            {
                throw new DataSetException($"{source.Label} is truncated.");
            }
        }
        var values = new float[count];
        ElementTypes.ToFeatures(bytes, ElementType.Float32, bigEndian: false, values);
        return values;
    }

    internal ArraySource Source(string name)
    {
        NpyHeader header = Arrays[name];
        string label = $"'{_path}' array '{name}'";
        return new ArraySource(label, header.ElementType, BigEndian: false, header.Shape, () =>
        {
            ZipArchive zip = ZipFile.OpenRead(_path);
            try
            {
                ZipArchiveEntry entry = zip.GetEntry(name + ".npy")
                    ?? throw new DataSetException($"{label} disappeared while reading; was the file replaced?");
                Stream stream = entry.Open();
                NpyHeader.Read(stream, label);
                return new OwningStream(stream, zip);
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        });
    }
}
