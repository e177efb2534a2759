namespace Swim.Controller.Data;

/// <summary>
/// Labelled samples for calibration, training and evaluation, read from an .npz (arrays x and y) or from
/// a pair of IDX files. Labels are held in memory; features are streamed in batches, one pass at a time.
/// </summary>
public sealed class DataSet
{
    private readonly ArraySource _features;
    private readonly long _firstRow;
    private readonly long[] _labels;

    /// <summary>How samples are rearranged as they stream: null, or the stored (H, W, C) or (C, H, W) moved to the other order.</summary>
    private readonly ChannelMove? _move;

    private DataSet(string description, ArraySource features, long firstRow, long[] labels, ChannelMove? move = null)
    {
        Description = description;
        _features = features;
        _firstRow = firstRow;
        _labels = labels;
        _move = move;
        int[] stored = features.Shape.Skip(1).Select(d => checked((int)d)).ToArray();
        SampleShape = move switch
        {
            ChannelMove.ToFirst => [stored[2], stored[0], stored[1]],
            ChannelMove.ToLast => [stored[1], stored[2], stored[0]],
            _ => stored,
        };
        SampleSize = checked((int)features.RowElements);
        ClassCount = labels.Length == 0 ? 0 : (int)labels.Max() + 1;
    }

    /// <summary>Where the samples come from, including the split, for messages and reports.</summary>
    public string Description { get; }

    public int Count => _labels.Length;

    /// <summary>Shape of one sample, e.g. [1, 28, 28] or [784].</summary>
    public IReadOnlyList<int> SampleShape { get; }

    public int SampleSize { get; }

    /// <summary>One more than the largest label present.</summary>
    public int ClassCount { get; }

    public IReadOnlyList<long> Labels => _labels;

    /// <summary>
    /// Opens a data file. <paramref name="split"/> picks a part of a file that carries a split;
    /// when <paramref name="splitRequired"/> is false and the file has none, all samples are used.
    /// </summary>
    /// <param name="labelsPath">For IDX images: the labels file; found by MNIST's naming when omitted.</param>
    public static DataSet Open(string path, DataSplit split = DataSplit.All, bool splitRequired = false, string? labelsPath = null)
    {
        if (!File.Exists(path))
        {
            throw new DataSetException($"data file '{path}' does not exist; check the path.");
        }
        DataSet data = Sniff(path) switch
        {
            "npz" => OpenNpz(path, split, splitRequired),
            "idx" => OpenIdx(path, labelsPath ?? GuessIdxLabels(path)),
            var other => throw new DataSetException($"data file '{path}' is {other}, not samples: give an .npz (a zip of .npy arrays x and y, as numpy.savez writes) "
                + "or an IDX image file with its labels (MNIST's format)."),
        };
        return data.Count > 0 ? data
            : throw new DataSetException($"data file '{path}' holds no samples{(split == DataSplit.All ? "" : $" in its {split.ToString().ToLowerInvariant()} split")}; give a file with at least one labelled sample.");
    }

    /// <summary>What a file's first bytes say it is: "npz", "idx", or a description of what else it is, for the message.</summary>
    private static string Sniff(string path)
    {
        var head = new byte[4];
        int read;
        using (FileStream file = File.OpenRead(path))
        {
            read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        return read switch
        {
            0 => "empty",
            >= 2 when head[0] == 'P' && head[1] == 'K' => "npz",
            4 when head[0] == 0 && head[1] == 0 => "idx",
            // MNIST ships its IDX files gzipped; the IDX reader unpacks them.
            >= 2 when head[0] == 0x1F && head[1] == 0x8B => "idx",
            // An ONNX model is a protobuf whose first field is ir_version (tag 0x08).
            _ when head[0] == 0x08 && Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase) => "an ONNX model",
            _ when head.Take(read).All(b => b is (>= 0x20 and < 0x7F) or (byte)'\n' or (byte)'\r' or (byte)'\t') => "a text file",
            _ => $"neither an .npz archive nor an IDX file (it starts {Convert.ToHexString(head, 0, read)})",
        };
    }

    /// <summary>
    /// The first <paramref name="count"/> samples (all when count is null or larger; then the description says so,
    /// because a calibration or test on fewer samples than asked for should not pass unnoticed).
    /// </summary>
    public DataSet Take(int? count)
    {
        if (count is null || count == Count)
        {
            return this;
        }
        if (count <= 0)
        {
            throw new DataSetException($"--samples must be at least 1 (got {count}).");
        }
        return count > Count
            ? new DataSet($"{Description}, all {Count:N0} (fewer than the {count:N0} asked for)", _features, _firstRow, _labels, _move)
            : new DataSet($"{Description}, first {count}", _features, _firstRow, _labels[..count.Value], _move);
    }

    /// <summary>Which way <see cref="WithChannelsMoved"/> moves a sample's channel axis.</summary>
    public enum ChannelMove
    {
        /// <summary>Stored H x W x C (Keras, TensorFlow), read as C x H x W.</summary>
        ToFirst,

        /// <summary>Stored C x H x W (PyTorch), read as H x W x C.</summary>
        ToLast,
    }

    /// <summary>The same samples with each image's channel axis moved to the other end (transposed as they stream).</summary>
    public DataSet WithChannelsMoved(ChannelMove move)
    {
        if (_move is not null || _features.Shape.Count != 4)
        {
            throw new InvalidOperationException($"only stored images (N x A x B x C) can have their channels moved, once; {Description} has samples of shape [{string.Join(" x ", SampleShape)}].");
        }
        string order = move == ChannelMove.ToFirst ? "stored channels-last, read channels-first" : "stored channels-first, read channels-last";
        return new DataSet($"{Description} ({order})", _features, _firstRow, _labels, move);
    }

    /// <summary>Reads the samples in order, <paramref name="batchSize"/> at a time; the last batch may be short.</summary>
    public IEnumerable<DataBatch> ReadBatches(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int elementSize = ElementTypes.SizeOf(_features.Type);
        long rowBytes = SampleSize * (long)elementSize;
        var raw = new byte[checked(rowBytes * batchSize)];
        using Stream stream = _features.OpenData();
        Skip(stream, _firstRow * rowBytes);
        for (int start = 0; start < Count; start += batchSize)
        {
            int rows = Math.Min(batchSize, Count - start);
            Span<byte> bytes = raw.AsSpan(0, checked((int)(rows * rowBytes)));
            if (!NpyHeader.TryReadExactly(stream, bytes))
            {
                throw new DataSetException($"{_features.Label} ends inside sample {start}..{start + rows - 1}; the file is truncated.");
            }
            var features = new float[rows * SampleSize];
            ElementTypes.ToFeatures(bytes, _features.Type, _features.BigEndian, features);
            if (!ElementTypes.IsInteger(_features.Type))
            {
                RequireFinite(features, start);
            }
            if (_move is { } move)
            {
                MoveChannels(features, rows, move);
            }
            yield return new DataBatch(features, _labels[start..(start + rows)], rows, start);
        }
    }

    /// <summary>Transposes each sample of a batch between (A, B, C) as stored and the order <see cref="SampleShape"/> gives.</summary>
    private void MoveChannels(float[] features, int rows, ChannelMove move)
    {
        int a = (int)_features.Shape[1], b = (int)_features.Shape[2], c = (int)_features.Shape[3];
        var sample = new float[SampleSize];
        for (int n = 0; n < rows; n++)
        {
            Span<float> target = features.AsSpan(n * SampleSize, SampleSize);
            target.CopyTo(sample);
            for (int i = 0; i < a; i++)
            {
                for (int j = 0; j < b; j++)
                {
                    for (int k = 0; k < c; k++)
                    {
                        // ToFirst: stored (h, w, ch) = (i, j, k) goes to (ch, h, w); ToLast: stored (ch, h, w) = (i, j, k) goes to (h, w, ch).
                        int to = move == ChannelMove.ToFirst ? (k * a + i) * b + j : (j * c + k) * a + i;
                        target[to] = sample[(i * b + j) * c + k];
                    }
                }
            }
        }
    }

    /// <summary>
    /// A NaN or infinite feature (or a float64 beyond float32's range) would turn every loss, derivative and
    /// accuracy computed from it into NaN without any other sign, so the file is refused where it happens.
    /// </summary>
    private void RequireFinite(float[] features, int firstSample)
    {
        for (int i = 0; i < features.Length; i++)
        {
            if (!float.IsFinite(features[i]))
            {
                int sample = firstSample + i / SampleSize;
                throw new DataSetException(
                    $"{_features.Label} has a non-finite value ({features[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}) in sample {sample}, element {i % SampleSize}"
                    + (_features.Type == ElementType.Float64 ? " (after conversion to float32, whose range it may exceed)" : "")
                    + "; every feature must be a finite number: clean or re-export the data.");
            }
        }
    }

    private void Skip(Stream stream, long bytes)
    {
        var scratch = new byte[81920];
        while (bytes > 0)
        {
            int read = stream.Read(scratch, 0, (int)Math.Min(scratch.Length, bytes));
            if (read == 0)
            {
                throw new DataSetException($"{_features.Label} is truncated before sample {_firstRow}.");
            }
            bytes -= read;
        }
    }

    private static DataSet OpenNpz(string path, DataSplit split, bool splitRequired)
    {
        NpzArchive npz = NpzArchive.Open(path);
        string present = string.Join(", ", npz.Arrays.Keys.Order(StringComparer.Ordinal));
        if (split != DataSplit.All && npz.Arrays.ContainsKey(SplitName("x", split)))
        {
            return Build(path, npz, SplitName("x", split), SplitName("y", split), split, null);
        }
        if (!npz.Arrays.ContainsKey("x") || !npz.Arrays.ContainsKey("y"))
        {
            string hint = npz.Arrays.ContainsKey("x_train") && split == DataSplit.All
                ? " It holds a Keras-style split: pass --split train or --split test."
                : " Save features as x and integer labels as y (numpy.savez(path, x=..., y=...)).";
            string missing = npz.Arrays.ContainsKey("x") ? "'y'" : npz.Arrays.ContainsKey("y") ? "'x'" : "'x' and 'y'";
            throw new DataSetException($"'{path}' has no array {missing} (arrays present: {(present.Length == 0 ? "none" : present)}).{hint}");
        }
        long? trainCount = null;
        if (npz.Arrays.ContainsKey("train_count"))
        {
            trainCount = npz.Source("train_count").ReadScalar();
        }
        if (split != DataSplit.All && trainCount is null)
        {
            if (splitRequired)
            {
                throw new DataSetException($"'{path}' carries no train/test split (no train_count, no x_{split.ToString().ToLowerInvariant()}); drop --split or use --split all.");
            }
            split = DataSplit.All;
        }
        return Build(path, npz, "x", "y", split, trainCount);
    }

    private static string SplitName(string array, DataSplit split) => $"{array}_{split.ToString().ToLowerInvariant()}";

    private static DataSet Build(string path, NpzArchive npz, string xName, string yName, DataSplit split, long? trainCount)
    {
        ArraySource x = npz.Source(xName);
        ArraySource y = npz.Source(yName);
        CheckFeatures(x);
        long[] labels = y.ReadLabels();
        if (labels.Length != x.Rows)
        {
            throw new DataSetException($"'{path}' has {x.Rows} samples in '{xName}' but {labels.Length} labels in '{yName}'; both must have one entry per sample.");
        }
        long first = 0;
        string description = $"'{path}'";
        if (trainCount is { } count && split != DataSplit.All)
        {
            if (count < 0 || count > labels.Length)
            {
                throw new DataSetException($"'{path}' says train_count = {count}, but it has {labels.Length} samples.");
            }
            (first, labels) = split == DataSplit.Train ? (0L, labels[..(int)count]) : (count, labels[(int)count..]);
            description += $" ({split.ToString().ToLowerInvariant()} split)";
        }
        else if (xName != "x")
        {
            description += $" ({split.ToString().ToLowerInvariant()} split)";
        }
        return new DataSet(description, x, first, labels);
    }

    private static void CheckFeatures(ArraySource x)
    {
        if (x.Shape.Count < 2)
        {
            throw new DataSetException($"{x.Label} has shape ({string.Join(", ", x.Shape)}); features need a sample axis first: N x C x H x W or N x features.");
        }
        if (x.Type is not (ElementType.Float16 or ElementType.Float32 or ElementType.Float64 or ElementType.UInt8))
        {
            throw new DataSetException($"{x.Label} holds {x.Type}; store features as float32 (or float16, float64), or as uint8 (scaled by 1/255 on reading).");
        }
    }

    private static DataSet OpenIdx(string imagesPath, string? labelsPath)
    {
        if (labelsPath is null)
        {
            throw new DataSetException($"'{imagesPath}' is an IDX file, which holds no labels; pass the labels file with --labels.");
        }
        ArraySource images = IdxFile.Open(imagesPath);
        if (images.Shape.Count == 3)
        {
            // MNIST-style images are N x H x W; models expect a channel axis.
            images = images with { Shape = [images.Shape[0], 1, images.Shape[1], images.Shape[2]] };
        }
        CheckFeatures(images);
        long[] labels = IdxFile.Open(labelsPath).ReadLabels();
        if (labels.Length != images.Rows)
        {
            throw new DataSetException($"'{imagesPath}' has {images.Rows} images but '{labelsPath}' has {labels.Length} labels; pair each images file with its own labels file.");
        }
        return new DataSet($"'{imagesPath}'", images, 0, labels);
    }

    private static string? GuessIdxLabels(string imagesPath)
    {
        string name = Path.GetFileName(imagesPath);
        if (!name.Contains("images", StringComparison.Ordinal))
        {
            return null;
        }
        string guess = Path.Combine(Path.GetDirectoryName(imagesPath) ?? ".", name.Replace("images", "labels", StringComparison.Ordinal).Replace("idx3", "idx1", StringComparison.Ordinal));
        return File.Exists(guess) ? guess : null;
    }
}
