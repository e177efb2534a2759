namespace Swim.Controller.Data;

/// <summary>
/// Where one array's elements live: a way to open a stream at element 0, and the element layout. Opening anew
/// for each pass keeps memory flat however large the file is.
/// </summary>
internal sealed record ArraySource(string Label, ElementType Type, bool BigEndian, IReadOnlyList<long> Shape, Func<Stream> OpenData)
{
    public long RowElements => Shape.Skip(1).Aggregate(1L, (a, d) => a * d);

    public long Rows => Shape[0];

    /// <summary>Reads the whole array as integer labels, checking it is one label per row.</summary>
    public long[] ReadLabels()
    {
        if (Shape.Count == 0 || Shape.Count > 2 || (Shape.Count == 2 && Shape[1] != 1))
        {
            string hint = Shape.Count == 2 ? " If these are one-hot rows, store y.argmax(axis=1) instead." : "";
            throw new DataSetException($"{Label} has shape ({string.Join(", ", Shape)}); labels must be one integer per sample, shape (N,).{hint}");
        }
        return ReadIntegers(Shape[0]);
    }

    /// <summary>Reads a scalar integer (a zero-dimensional or one-element array).</summary>
    public long ReadScalar()
    {
        long count = Shape.Aggregate(1L, (a, d) => a * d);
        return count == 1 ? ReadIntegers(1)[0] : throw new DataSetException($"{Label} must hold a single number, but has shape ({string.Join(", ", Shape)}).");
    }

    private long[] ReadIntegers(long count)
    {
        if (!ElementTypes.IsInteger(Type))
        {
            throw new DataSetException($"{Label} holds {Type} values; labels must be integers (y.astype(numpy.int64)).");
        }
        int size = ElementTypes.SizeOf(Type);
        var labels = new long[count];
        var buffer = new byte[size * Math.Min(labels.Length, 65536)];
        using Stream stream = OpenData();
        int done = 0;
        while (done < labels.Length)
        {
            int chunk = Math.Min(labels.Length - done, buffer.Length / size);
            if (!NpyHeader.TryReadExactly(stream, buffer.AsSpan(0, chunk * size)))
            {
                throw new DataSetException($"{Label} ends after {done} of its {labels.Length} labels; the file is truncated.");
            }
            for (int i = 0; i < chunk; i++)
            {
                long label = ElementTypes.ToLabel(buffer.AsSpan(i * size, size), Type, BigEndian);
                if (label < 0 || label > int.MaxValue)
                {
                    throw new DataSetException($"{Label} has label {label} at sample {done + i}; class labels must be 0 or more.");
                }
                labels[done + i] = label;
            }
            done += chunk;
        }
        return labels;
    }
}

/// <summary>A stream that also disposes what it was opened through (a zip archive, a file).</summary>
internal sealed class OwningStream(Stream inner, params IDisposable[] owners) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => inner.Read(buffer);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            foreach (IDisposable owner in owners)
            {
                owner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
