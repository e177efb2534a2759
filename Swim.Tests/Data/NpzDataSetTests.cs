using Swim.Controller.Data;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;

namespace Swim.Tests.Data;

public sealed class NpzDataSetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_uint8_images_scaled_by_1_over_255_from_stored_and_deflated_entries(bool deflate)
    {
        byte[] pixels = Enumerable.Range(0, 3 * 1 * 2 * 2).Select(i => (byte)(i * 20)).ToArray();
        string path = Write("u8.npz", Zip(deflate,
            ("x.npy", Npy("|u1", [3, 1, 2, 2], pixels)),
            ("y.npy", Npy("<i8", [3], Int64s(2, 0, 1)))));

        DataSet data = DataSet.Open(path);

        Assert.Equal(3, data.Count);
        Assert.Equal([1, 2, 2], data.SampleShape);
        Assert.Equal([2L, 0L, 1L], data.Labels);
        Assert.Equal(3, data.ClassCount);
        DataBatch[] batches = data.ReadBatches(2).ToArray();
        Assert.Equal([2, 1], batches.Select(b => b.Count));
        float[] all = batches.SelectMany(b => b.Features).ToArray();
        Assert.Equal(pixels.Select(p => p / 255f), all);
        Assert.Equal([2L, 0L], batches[0].Labels);
    }

    [Fact]
    public void Reads_float32_feature_rows_and_int32_labels()
    {
        string path = Write("f32.npz", Zip(false,
            ("x.npy", Npy("<f4", [2, 3], Floats(0.5f, -1f, 2f, 3.25f, 0f, -0.125f))),
            ("y.npy", Npy("<i4", [2], [1, 0, 0, 0, 0, 0, 0, 0]))));

        DataSet data = DataSet.Open(path);

        Assert.Equal([3], data.SampleShape);
        Assert.Equal([1L, 0L], data.Labels);
        Assert.Equal([0.5f, -1f, 2f, 3.25f, 0f, -0.125f], data.ReadBatches(10).Single().Features);
    }

    [Fact]
    public void Reads_float16_features_exactly_and_refuses_other_small_types()
    {
        float[] values = [0.5f, -1f, 2f, 3.25f, 65504f, -0.125f];
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), (Half)values[i]);
        }
        string path = Write("f16.npz", Zip(false,
            ("x.npy", Npy("<f2", [2, 3], bytes)),
            ("y.npy", Npy("<i8", [2], Int64s(1, 0)))));
        string int16 = Write("i2.npz", Zip(false,
            ("x.npy", Npy("<i2", [2, 3], bytes)),
            ("y.npy", Npy("<i8", [2], Int64s(1, 0)))));

        Assert.Equal(values, DataSet.Open(path).ReadBatches(10).Single().Features);
        Assert.Contains("holds Int16; store features as float32", Assert.Throws<DataSetException>(() => DataSet.Open(int16)).Message);
    }

    [Fact]
    public void Reads_npy_format_version_2_headers()
    {
        string path = Write("v2.npz", Zip(false,
            ("x.npy", Npy("<f4", [1, 2], Floats(1f, 2f), major: 2)),
            ("y.npy", Npy("|u1", [1], [7], major: 2))));

        DataSet data = DataSet.Open(path);

        Assert.Equal([7L], data.Labels);
        Assert.Equal([1f, 2f], data.ReadBatches(1).Single().Features);
    }

    [Fact]
    public void Train_count_splits_x_and_y_into_train_and_test()
    {
        string path = Write("split.npz", Zip(true,
            ("x.npy", Npy("<f4", [4, 1], Floats(10, 11, 12, 13))),
            ("y.npy", Npy("<i8", [4], Int64s(0, 1, 2, 3))),
            ("train_count.npy", Npy("<i8", [], Int64s(3)))));

        DataSet train = DataSet.Open(path, DataSplit.Train);
        DataSet test = DataSet.Open(path, DataSplit.Test);
        DataSet all = DataSet.Open(path, DataSplit.All);

        Assert.Equal([0L, 1L, 2L], train.Labels);
        Assert.Equal([10f, 11f, 12f], train.ReadBatches(2).SelectMany(b => b.Features));
        Assert.Equal([3L], test.Labels);
        Assert.Equal([13f], test.ReadBatches(2).SelectMany(b => b.Features));
        Assert.Equal(4, all.Count);
        Assert.Equal([10f, 11f], all.Take(2).ReadBatches(1).SelectMany(b => b.Features));
    }

    [Fact]
    public void Keras_style_split_arrays_are_picked_by_split()
    {
        string path = Write("keras.npz", Zip(false,
            ("x_train.npy", Npy("<f4", [2, 1], Floats(1, 2))),
            ("y_train.npy", Npy("<i8", [2], Int64s(0, 1))),
            ("x_test.npy", Npy("<f4", [1, 1], Floats(3))),
            ("y_test.npy", Npy("<i8", [1], Int64s(4)))));

        Assert.Equal([4L], DataSet.Open(path, DataSplit.Test).Labels);
        Assert.Equal([0L, 1L], DataSet.Open(path, DataSplit.Train).Labels);
        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path, DataSplit.All));
        Assert.Contains("--split train", ex.Message);
    }

    [Fact]
    public void Take_limits_the_samples_streamed()
    {
        string path = Write("take.npz", Zip(false,
            ("x.npy", Npy("<f4", [5, 1], Floats(0, 1, 2, 3, 4))),
            ("y.npy", Npy("<i8", [5], Int64s(0, 0, 0, 0, 0)))));

        DataSet first = DataSet.Open(path).Take(2);

        Assert.Equal(2, first.Count);
        Assert.Equal([0f, 1f], first.ReadBatches(8).SelectMany(b => b.Features));
        DataSet beyond = DataSet.Open(path).Take(9);
        Assert.Equal(5, beyond.Count);
        Assert.EndsWith("all 5 (fewer than the 9 asked for)", beyond.Description);
        Assert.DoesNotContain("asked for", DataSet.Open(path).Take(5).Description);
    }

    [Fact]
    public void Fortran_order_is_refused_with_the_fix()
    {
        string path = Write("fortran.npz", Zip(false,
            ("x.npy", Npy("<f4", [2, 2], Floats(1, 2, 3, 4), fortran: true)),
            ("y.npy", Npy("<i8", [2], Int64s(0, 1)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains("Fortran order", ex.Message);
        Assert.Contains("ascontiguousarray", ex.Message);
    }

    [Fact]
    public void Object_arrays_are_refused()
    {
        string path = Write("object.npz", Zip(false,
            ("x.npy", Npy("|O", [2, 2], new byte[16])),
            ("y.npy", Npy("<i8", [2], Int64s(0, 1)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains("object array", ex.Message);
        Assert.Contains("'x'", ex.Message);
    }

    [Fact]
    public void Missing_keys_are_named_with_the_arrays_present()
    {
        string path = Write("nokeys.npz", Zip(false,
            ("images.npy", Npy("<f4", [1, 1], Floats(1))),
            ("y.npy", Npy("<i8", [1], Int64s(0)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains("no array 'x'", ex.Message);
        Assert.Contains("images, y", ex.Message);
    }

    [Fact]
    public void Mismatched_lengths_are_refused_with_both_counts()
    {
        string path = Write("mismatch.npz", Zip(false,
            ("x.npy", Npy("<f4", [3, 1], Floats(1, 2, 3))),
            ("y.npy", Npy("<i8", [2], Int64s(0, 1)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains("3 samples", ex.Message);
        Assert.Contains("2 labels", ex.Message);
    }

    [Theory]
    [InlineData(">f4", "big-endian")]
    [InlineData("<c8", "does not read")]
    [InlineData("<i4", "or as uint8 (scaled by 1/255")]
    public void Unusable_feature_dtypes_are_refused(string descr, string expected)
    {
        string path = Write("dtype.npz", Zip(false,
            ("x.npy", Npy(descr, [1, 1], new byte[8])),
            ("y.npy", Npy("<i8", [1], Int64s(0)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void One_hot_labels_are_refused_with_the_fix()
    {
        string path = Write("onehot.npz", Zip(false,
            ("x.npy", Npy("<f4", [2, 1], Floats(1, 2))),
            ("y.npy", Npy("<i8", [2, 2], Int64s(1, 0, 0, 1)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path));
        Assert.Contains("argmax", ex.Message);
    }

    [Fact]
    public void Float_labels_are_refused()
    {
        string path = Write("floaty.npz", Zip(false,
            ("x.npy", Npy("<f4", [1, 1], Floats(1))),
            ("y.npy", Npy("<f4", [1], Floats(1)))));

        Assert.Contains("integers", Assert.Throws<DataSetException>(() => DataSet.Open(path)).Message);
    }

    [Fact]
    public void Truncated_feature_data_fails_when_read_with_a_clear_message()
    {
        byte[] x = Npy("<f4", [3, 2], Floats(1, 2, 3, 4, 5, 6));
        string path = Write("short.npz", Zip(false,
            ("x.npy", x[..^8]),
            ("y.npy", Npy("<i8", [3], Int64s(0, 1, 2)))));

        DataSet data = DataSet.Open(path);
        DataSetException ex = Assert.Throws<DataSetException>(() => data.ReadBatches(1).ToList());
        Assert.Contains("truncated", ex.Message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Non_finite_float32_features_are_refused_naming_sample_and_element(float bad, string shown)
    {
        string path = Write("nan.npz", Zip(false,
            ("x.npy", Npy("<f4", [3, 2], Floats(1, 2, 3, 4, bad, 6))),
            ("y.npy", Npy("<i8", [3], Int64s(0, 1, 2)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path).ReadBatches(2).ToList());

        Assert.Contains($"non-finite value ({shown}) in sample 2, element 0", ex.Message);
        Assert.Contains("clean or re-export", ex.Message);
    }

    [Fact]
    public void Float64_features_beyond_float32_range_are_refused()
    {
        var bytes = new byte[4 * 8];
        double[] values = [1, 2, 1e300, 4];
        for (int i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), values[i]);
        }
        string path = Write("big.npz", Zip(false,
            ("x.npy", Npy("<f8", [2, 2], bytes)),
            ("y.npy", Npy("<i8", [2], Int64s(0, 1)))));

        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(path).ReadBatches(2).ToList());

        Assert.Contains("in sample 1, element 0 (after conversion to float32", ex.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_zip_or_idx_is_refused()
    {
        string path = Write("junk.npz", "PK this is not really a zip file"u8.ToArray());

        Assert.Throws<DataSetException>(() => DataSet.Open(path));
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        DataSetException ex = Assert.Throws<DataSetException>(() => DataSet.Open(_dir.File("absent.npz")));
        Assert.Contains("absent.npz", ex.Message);
        Assert.Contains("does not exist", ex.Message);
    }
}
