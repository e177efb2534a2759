using System.IO.Compression;
using Swim.Controller.Data;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;

namespace Swim.Tests.Data;

public sealed class IdxDataSetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_mnist_style_images_and_finds_the_labels_file_by_name()
    {
        byte[] pixels = Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)(i * 10)).ToArray();
        string images = _dir.File("t10k-images-idx3-ubyte");
        File.WriteAllBytes(images, Idx(0x08, [2, 3, 3], pixels));
        File.WriteAllBytes(_dir.File("t10k-labels-idx1-ubyte"), Idx(0x08, [2], [7, 2]));

        DataSet data = DataSet.Open(images);

        Assert.Equal([1, 3, 3], data.SampleShape);
        Assert.Equal([7L, 2L], data.Labels);
        Assert.Equal(pixels.Select(p => p / 255f), data.ReadBatches(5).Single().Features);
    }

    [Fact]
    public void Reads_gzipped_big_endian_float_images_with_an_explicit_labels_file()
    {
        byte[] data = [0x3F, 0x80, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00]; // 1.0f, -2.0f big-endian
        string images = _dir.File("feats.idx.gz");
        using (var file = File.Create(images))
        using (var gzip = new GZipStream(file, CompressionLevel.Optimal))
        {
            gzip.Write(Idx(0x0D, [2, 1], data));
        }
        string labels = _dir.File("labels.idx");
        File.WriteAllBytes(labels, Idx(0x0C, [2], [0, 0, 0, 3, 0, 0, 0, 1]));

        DataSet set = DataSet.Open(images, labelsPath: labels);

        Assert.Equal([1f, -2f], set.ReadBatches(2).Single().Features);
        Assert.Equal([3L, 1L], set.Labels);
    }

    [Fact]
    public void Images_without_labels_are_refused_with_the_fix()
    {
        string images = _dir.File("digits.idx");
        File.WriteAllBytes(images, Idx(0x08, [1, 2, 2], new byte[4]));

        Assert.Contains("--labels", Assert.Throws<DataSetException>(() => DataSet.Open(images)).Message);
    }

    [Fact]
    public void Count_mismatch_and_bad_type_codes_are_refused()
    {
        string images = _dir.File("a-images-idx3-ubyte");
        File.WriteAllBytes(images, Idx(0x08, [2, 1, 1], [1, 2]));
        File.WriteAllBytes(_dir.File("a-labels-idx1-ubyte"), Idx(0x08, [3], [0, 1, 2]));
        Assert.Contains("2 images", Assert.Throws<DataSetException>(() => DataSet.Open(images)).Message);

        string bad = _dir.File("bad.idx");
        File.WriteAllBytes(bad, [0, 0, 0x07, 1, 0, 0, 0, 1, 5]);
        Assert.Contains("type code 0x07", Assert.Throws<DataSetException>(() => DataSet.Open(bad, labelsPath: bad)).Message);
    }
}
