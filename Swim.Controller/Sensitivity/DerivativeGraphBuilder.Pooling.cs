using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// Rules for pooling.
public sealed partial class DerivativeGraphBuilder
{
    /// <summary>
    /// Routes each output's derivative to the input element that won. Windows that cannot overlap (stride at least
    /// the dilated kernel's extent, as in LeNet's 2 x 2 pools) win distinct elements, so MaxUnpool places the values
    /// (measured: 1 ms against 3.3 ms for ScatterElements on LeNet's first pool, batch 256). Overlapping windows can
    /// pick the same element, whose derivatives must add: ScatterElements with reduction add (MaxUnpool would
    /// overwrite).
    /// </summary>
    private void MaxPool(NodeProto node, string dy)
    {
        if (_reluMaskedByPool.Contains(node.Input[0]))
        {
            dy = _g.Node("Where", [PositiveMask(node.Output[0]), dy, Scalar(0f)]);
        }
        long[] xs = ShapeOf(node.Input[0]);
        long[] ys = ShapeOf(node.Output[0]);
        int spatial = xs.Length - 2;
        long[] kernel = IntsAttribute(node, "kernel_shape", []);
        long[] ones = Enumerable.Repeat(1L, spatial).ToArray();
        long[] strides = IntsAttribute(node, "strides", ones);
        long[] dilations = IntsAttribute(node, "dilations", ones);
        (long[] padsBegin, long[] padsEnd) = ConvPads(node, xs[2..], ys[2..], kernel, strides, dilations);
        // MaxUnpool refuses an output smaller than the one its attributes imply, which ceil_mode can make larger
        // than the input; those pools scatter too.
        bool disjoint = Enumerable.Range(0, spatial).All(i =>
            strides[i] >= (kernel[i] - 1) * dilations[i] + 1 && (ys[2 + i] - 1) * strides[i] + kernel[i] - padsBegin[i] - padsEnd[i] <= xs[2 + i]);
        if (disjoint)
        {
            // The indices are flat positions in the input tensor, so the output shape places them.
            Contribute(node.Input[0], _g.Node("MaxUnpool", [dy, node.Output[1], _g.Ints("pool_input_shape", xs)],
                ("kernel_shape", kernel), ("strides", strides), ("pads", (long[])[.. padsBegin, .. padsEnd])));
            return;
        }
        long outputs = Product(ys);
        string indices = Reshape(node.Output[1], [outputs]);
        string scattered = _g.Node("ScatterElements", [Zeros([Product(xs)]), indices, Reshape(dy, [outputs])],
            ("axis", 0), ("reduction", "add"));
        Contribute(node.Input[0], Reshape(scattered, xs));
    }

    /// <summary>Spreads each output's derivative evenly over its window: a transposed convolution by a constant kernel.</summary>
    private void AveragePool(NodeProto node, string dy)
    {
        if (IntAttribute(node, "ceil_mode", 0) != 0)
        {
            throw Unsupported(node, "it uses ceil_mode = 1; export with ceil_mode = 0");
        }
        long[] xs = ShapeOf(node.Input[0]);
        long[] ys = ShapeOf(node.Output[0]);
        int spatial = xs.Length - 2;
        long[] kernel = IntsAttribute(node, "kernel_shape", []);
        long[] ones = Enumerable.Repeat(1L, spatial).ToArray();
        long[] strides = IntsAttribute(node, "strides", ones);
        long[] dilations = IntsAttribute(node, "dilations", ones);
        if (dilations.Any(d => d != 1))
        {
            throw Unsupported(node, "it uses dilations");
        }
        (long[] padsBegin, long[] padsEnd) = ConvPads(node, xs[2..], ys[2..], kernel, strides, ones);
        bool includePad = IntAttribute(node, "count_include_pad", 0) != 0;
        bool padded = padsBegin.Concat(padsEnd).Any(p => p != 0);

        string scaled;
        if (includePad || !padded)
        {
            scaled = Scale(dy, Coefficient(1f / Product(kernel)));
        }
        else
        {
            // Windows at the border cover fewer real elements; each output divides by its own count.
            float[] reciprocal = WindowCountReciprocals(xs, ys, kernel, strides, padsBegin);
            scaled = _g.Node("Mul", [dy, _g.Initializer("pool_counts", [1, 1, .. ys[2..]], reciprocal)]);
        }
        var outputPadding = new long[spatial];
        for (int i = 0; i < spatial; i++)
        {
            outputPadding[i] = xs[2 + i] - (strides[i] * (ys[2 + i] - 1) + kernel[i] - padsBegin[i] - padsEnd[i]);
        }
        long channels = xs[1];
        string box = _g.Initializer("pool_box", [channels, 1, .. kernel], Enumerable.Repeat(1f, (int)(channels * Product(kernel))).ToArray());
        Contribute(node.Input[0], _g.Node("ConvTranspose", [scaled, box],
            ("strides", strides), ("pads", (long[])[.. padsBegin, .. padsEnd]), ("output_padding", outputPadding),
            ("group", channels), ("kernel_shape", kernel)));
    }

    /// <summary>One over the number of real (not padding) elements in each output's window, in output order.</summary>
    private float[] WindowCountReciprocals(long[] xs, long[] ys, long[] kernel, long[] strides, long[] padsBegin)
    {
        int spatial = xs.Length - 2;
        var reciprocal = new float[Product(ys[2..])];
        var index = new long[spatial];
        for (int flat = 0; flat < reciprocal.Length; flat++)
        {
            long count = 1;
            for (int i = 0; i < spatial; i++)
            {
                long start = index[i] * strides[i] - padsBegin[i];
                count *= Math.Min(start + kernel[i], xs[2 + i]) - Math.Max(start, 0);
            }
            reciprocal[flat] = Coefficient(1f / count);
            for (int i = spatial - 1; i >= 0; i--)
            {
                if (++index[i] < ys[2 + i])
                {
                    break;
                }
                index[i] = 0;
            }
        }
        return reciprocal;
    }

    private void GlobalAveragePool(NodeProto node, string dy)
    {
        long[] xs = ShapeOf(node.Input[0]);
        Contribute(node.Input[0], SpreadMean(dy, xs, [.. Enumerable.Range(2, xs.Length - 2).Select(a => (long)a)], dimsKept: true));
    }

    /// <summary>
    /// A mean's derivative towards its input: the output's, over the count averaged, spread over the averaged axes
    /// (which the output drops unless <paramref name="dimsKept"/>).
    /// </summary>
    private string SpreadMean(string dy, long[] xs, long[] axes, bool dimsKept)
    {
        float share = 1f / Product(axes.Select(a => xs[a]));
        string kept = dimsKept ? dy : Reshape(dy, [.. xs.Select((d, i) => axes.Contains(i) ? 1L : d)]);
        return _g.Node("Expand", [Scale(kept, Coefficient(share)), _g.Ints("shape", xs)]);
    }

    /// <summary>
    /// The mean over some axes (PyTorch's x.mean((2, 3)), Keras' global pooling through tf2onnx): each input gets its
    /// output's derivative over the count averaged. Axes come from the attribute (opset 17 and before) or a constant input.
    /// </summary>
    private void ReduceMean(NodeProto node, string dy)
    {
        long[] xs = ShapeOf(node.Input[0]);
        long[] axes = node.Input.Count > 1 && node.Input[1].Length > 0 ? ConstantInts(node, 1) : IntsAttribute(node, "axes", []);
        if (axes.Length == 0 && IntAttribute(node, "noop_with_empty_axes", 0) != 0)
        {
            Contribute(node.Input[0], dy);
            return;
        }
        axes = axes.Length == 0 ? [.. Enumerable.Range(0, xs.Length).Select(a => (long)a)] : [.. axes.Select(a => a < 0 ? a + xs.Length : a)];
        if (axes.Contains(0))
        {
            throw Unsupported(node, "it averages over the batch axis, so a sample's output depends on the other samples; Swim scores models that map each sample on its own");
        }
        Contribute(node.Input[0], SpreadMean(dy, xs, axes, dimsKept: IntAttribute(node, "keepdims", 1) != 0));
    }
}
