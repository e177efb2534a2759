using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// Rules for the layers a crossbar holds: Gemm, MatMul, Conv.
public sealed partial class DerivativeGraphBuilder
{
    private bool PerSampleWeight(string value) => _kind == PassKind.PerSampleSquared && IsWeightBranch(value);

    /// <summary>Y = alpha op(A) op(B) + beta C, with op a transpose where transA/transB say so.</summary>
    private void Gemm(NodeProto node, string dy)
    {
        float alpha = FloatAttribute(node, "alpha", 1f);
        float beta = FloatAttribute(node, "beta", 1f);
        bool transA = IntAttribute(node, "transA", 0) != 0;
        bool transB = IntAttribute(node, "transB", 0) != 0;
        string a = node.Input[0];
        string b = node.Input[1];
        string aEff = transA ? Transposed2D(a) : a;
        string bEff = transB ? Transposed2D(b) : b;
        if (Needs(node, 0))
        {
            if (PerSampleWeight(a))
            {
                throw Unsupported(node, "its weight is operand A, so the batch is not the rows of the product; the ggn curvatures need the data as A");
            }
            string da = Scale(_g.Node("MatMul", [dy, Transposed2D(Coefficient(bEff))]), Coefficient(alpha));
            Contribute(a, transA ? Transposed2D(da) : da);
        }
        if (Needs(node, 1) && SharedPerSample(b))
        {
            // Per sample, the outer product of the sample's row of op(A) and its row of dY: [N, K, M].
            string outer = Scale(_g.Node("MatMul", [_g.Node("Unsqueeze", [aEff, _g.Ints("axis2", 2)]), _g.Node("Unsqueeze", [dy, _g.Ints("axis1", 1)])]), alpha);
            _perSampleParts[b].Add(transB ? SwapLastTwo(outer, 3) : outer);
        }
        else if (Needs(node, 1))
        {
            string db = PerSampleWeight(b)
                ? _g.Node("MatMul", [Transposed2D(Square(aEff)), Square(dy)])
                : _g.Node("MatMul", [Transposed2D(Coefficient(aEff)), dy]);
            db = Scale(db, _kind == PassKind.Gradient ? alpha : alpha * alpha);
            Contribute(b, transB ? Transposed2D(db) : db);
        }
        if (Needs(node, 2))
        {
            string c = node.Input[2];
            long[] ys = ShapeOf(node.Output[0]);
            string dc = PerSampleWeight(c)
                ? PerSampleSquaredReduceTo(dy, ys, ShapeOf(c))
                : ReduceTo(dy, ys, ShapeOf(c));
            Contribute(c, Scale(dc, _kind == PassKind.Gradient ? beta : beta * beta));
        }
    }

    /// <summary>Y = A B with numpy matrix-product broadcasting over leading axes.</summary>
    private void MatMul(NodeProto node, string dy)
    {
        string a = node.Input[0];
        string b = node.Input[1];
        long[] sa = ShapeOf(a);
        long[] sb = ShapeOf(b);
        long[] sy = ShapeOf(node.Output[0]);
        if (sa.Length < 2 || sb.Length < 2)
        {
            throw Unsupported(node, "one operand is 1-D; Swim differentiates matrix products of 2-D or batched operands");
        }
        long[] batchDims = sy[..^2];
        if (Needs(node, 0))
        {
            string da;
            if (PerSampleWeight(a))
            {
                if (sa.Length != 2 || sb.Length != 3)
                {
                    throw Unsupported(node, "the ggn curvatures need a weight on the left to be 2-D and the data to be N x K x T");
                }
                da = ReduceSum(Square(_g.Node("MatMul", [dy, SwapLastTwo(b, 3)])), [0], keepDims: false);
            }
            else
            {
                da = _g.Node("MatMul", [dy, SwapLastTwo(Coefficient(b), sb.Length)]);
                da = ReduceTo(da, [.. batchDims, sy[^2], sa[^1]], sa);
            }
            Contribute(a, da);
        }
        if (Needs(node, 1) && MatMulWeightDerivative(node, a, b, dy, sa, sb, sy, batchDims) is { } db)
        {
            Contribute(b, db);
        }
    }

    /// <summary>
    /// The derivative of MatMul's right operand: squared per sample for a weight's per-sample curvature, or null where
    /// the per-sample derivative went to a weight read by several layers, to be squared once summed.
    /// </summary>
    private string? MatMulWeightDerivative(NodeProto node, string a, string b, string dy, long[] sa, long[] sb, long[] sy, long[] batchDims)
    {
        if (!PerSampleWeight(b))
        {
            string db = _g.Node("MatMul", [SwapLastTwo(Coefficient(a), sa.Length), dy]);
            return ReduceTo(db, [.. batchDims, sb[^2], sy[^1]], sb);
        }
        if (sb.Length != 2)
        {
            throw Unsupported(node, "the ggn curvatures need its weight to be 2-D");
        }
        if (SharedPerSample(b))
        {
            // Per sample, A's rows against dY's rows, summed over any middle axes: [N, K, M].
            long middleAxes = sa.Length == 2 ? 1 : Product(sa[1..^1]);
            _perSampleParts[b].Add(_g.Node("MatMul", [SwapLastTwo(Reshape(a, [sa[0], middleAxes, sa[^1]]), 3), Reshape(dy, [sy[0], middleAxes, sy[^1]])]));
            return null;
        }
        if (sa.Length == 2)
        {
            return _g.Node("MatMul", [Transposed2D(Square(a)), Square(dy)]);
        }
        long middle = Product(sa[1..^1]);
        string a3 = Reshape(a, [sa[0], middle, sa[^1]]);
        string dy3 = Reshape(dy, [sy[0], middle, sy[^1]]);
        return ReduceSum(Square(_g.Node("MatMul", [SwapLastTwo(a3, 3), dy3])), [0], keepDims: false);
    }

    /// <summary>
    /// The fewest rows of the matrix product at the heart of the im2col weight derivative (the layer's output
    /// channels) and the flipped-kernel input derivative (its input channels) for those formulations to be used.
    /// Below it the product is too skinny to gain and the copies they add cost more: measured on LeNet-5 (6 and 16
    /// channels), the pass without gradients took 0.87 s with them on every layer and 0.56 s without, the same as
    /// before they existed; every layer of a ResNet-18 has 64 channels or more.
    /// </summary>
    private const long GemmRows = 32;

    private void Conv(NodeProto node, string dy)
    {
        string x = node.Input[0];
        string w = node.Input[1];
        long[] xs = ShapeOf(x);
        long[] ws = ShapeOf(w);
        long[] ys = ShapeOf(node.Output[0]);
        int spatial = xs.Length - 2;
        long group = IntAttribute(node, "group", 1);
        long[] kernel = ws[2..];
        long[] ones = Enumerable.Repeat(1L, spatial).ToArray();
        long[] strides = IntsAttribute(node, "strides", ones);
        long[] dilations = IntsAttribute(node, "dilations", ones);
        (long[] padsBegin, long[] padsEnd) = ConvPads(node, xs[2..], ys[2..], kernel, strides, dilations);
        if (Needs(node, 0))
        {
            Contribute(x, ConvInputDerivative(dy, w, xs, ys, kernel, strides, dilations, padsBegin, padsEnd, group));
        }
        if (Needs(node, 1) && ConvWeightDerivative(x, w, dy, xs, ws, ys, kernel, strides, dilations, padsBegin, padsEnd, group) is { } dw)
        {
            Contribute(w, dw);
        }
        if (Needs(node, 2))
        {
            long[] spatialAxes = Enumerable.Range(2, spatial).Select(i => (long)i).ToArray();
            string db = PerSampleWeight(node.Input[2])
                ? ReduceSum(Square(ReduceSum(dy, spatialAxes, keepDims: false)), [0], keepDims: false)
                : ReduceSum(dy, [0, .. spatialAxes], keepDims: false);
            Contribute(node.Input[2], db);
        }
    }

    /// <summary>
    /// The derivative of a convolution's weight (squared per sample when the weight's curvature is taken per sample);
    /// null when the per-sample derivative went to a weight read by several layers, to be squared once summed.
    /// </summary>
    private string? ConvWeightDerivative(string x, string w, string dy, long[] xs, long[] ws, long[] ys, long[] kernel, long[] strides, long[] dilations,
        long[] padsBegin, long[] padsEnd, long group)
    {
        int spatial = xs.Length - 2;
        long[] pads = [.. padsBegin, .. padsEnd];
        long[] ones = Enumerable.Repeat(1L, spatial).ToArray();
        long[] channelsFirst = [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)];
        // dW[m, c, k] = sum over n and output positions p of X_pad[n, c, p*s + k*d] dY[n, m, p]: a convolution
        // of X (channels as batch) by dY (as kernel), with the roles of stride and dilation swapped.
        long n = xs[0];
        long m = ws[0];
        string r;
        if (PerSampleWeight(w))
        {
            string kernelPerSample = Reshape(dy, [n * m, 1, .. ys[2..]]);
            r = _g.Node("Conv", [Transpose(x, channelsFirst), kernelPerSample],
                ("strides", dilations), ("dilations", strides), ("pads", pads), ("group", n));
            r = CropKernel(r, xs, ys, kernel, strides, dilations, padsBegin, padsEnd);
            if (SharedPerSample(w))
            {
                // [C_in, N, M, k...] to each sample's derivative in the weight's own layout, [N, M, C_in, k...].
                long[] perSampleFirst = [1, 2, 0, .. Enumerable.Range(3, spatial).Select(i => (long)i)];
                _perSampleParts[w].Add(Transpose(Reshape(r, [xs[1], n, m, .. kernel]), perSampleFirst));
                return null;
            }
            r = _g.Node("Mul", [r, r]);
            r = ReduceSum(Reshape(r, [xs[1], n, m, .. kernel]), [1], keepDims: false);
        }
        else if (group == 1 && m >= GemmRows)
        {
            return ConvWeightByColumns(x, dy, xs, ws, ys, kernel, strides, dilations, padsBegin);
        }
        else
        {
            r = _g.Node("Conv", [Transpose(Coefficient(x), channelsFirst), Transpose(dy, channelsFirst)],
                ("strides", dilations), ("dilations", strides), ("pads", pads));
            r = CropKernel(r, xs, ys, kernel, strides, dilations, padsBegin, padsEnd);
        }
        // r is [C_in, M, k...]; with groups only the block diagonal (input channel in the output's group) is a weight.
        if (group > 1)
        {
            long cg = xs[1] / group;
            long mg = m / group;
            var mask = new float[group * group];
            for (int g = 0; g < group; g++)
            {
                mask[g * group + g] = 1f;
            }
            string maskValue = _g.Initializer("group_mask", [group, 1, group, 1, .. ones], mask);
            r = ReduceSum(_g.Node("Mul", [Reshape(r, [group, cg, group, mg, .. kernel]), maskValue]), [0], keepDims: false);
            r = Reshape(r, [cg, m, .. kernel]);
        }
        return Transpose(r, channelsFirst);
    }

    /// <summary>
    /// dW[m, c, k] = sum over samples and positions of dY[m; n, p] cols[c, k; n, p], with cols the input's im2col: one
    /// matrix product whose inner dimension is every sample's every position. (Measured on a CIFAR ResNet-18, one
    /// thread: about twice as fast as the convolution of the input by the output gradient, whose kernel is as large
    /// as the feature map and whose few output positions leave the fast GEMM shapes.) The curvature pass squares
    /// the same columns.
    /// </summary>
    private string ConvWeightByColumns(string x, string dy, long[] xs, long[] ws, long[] ys, long[] kernel, long[] strides, long[] dilations, long[] padsBegin)
    {
        long c = xs[1];
        long m = ws[0];
        int spatial = kernel.Length;
        long[] channelsFirst = [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)];
        string cols = Columns(x, xs, ys, kernel, strides, dilations, padsBegin);
        string dyByChannel = Reshape(Transpose(dy, channelsFirst), [m, xs[0] * Product(ys[2..])]);
        // The columns run channel-major, so the product is the weight's own layout, [M, C x taps].
        string r = _g.Node("Gemm", [dyByChannel, Coefficient(cols)], ("transB", 1L));
        return Reshape(r, [m, c, .. kernel]);
    }

    /// <summary>
    /// A convolution input's columns, [C x taps, N x output positions]: for each kernel tap, the (zero-padded) input,
    /// channels first, seen through the convolution's stride at that tap's offset. Built once per input and geometry.
    /// </summary>
    private string Columns(string x, long[] xs, long[] ys, long[] kernel, long[] strides, long[] dilations, long[] padsBegin)
    {
        int spatial = kernel.Length;
        string key = $"{x}|{string.Join(',', kernel)}|{string.Join(',', strides)}|{string.Join(',', dilations)}|{string.Join(',', padsBegin)}";
        if (_columns.TryGetValue(key, out string? cached))
        {
            return cached;
        }
        long c = xs[1];
        long columns = xs[0] * Product(ys[2..]);
        long taps = Product(kernel);
        long[] channelsFirst = [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)];
        string byChannel = Transpose(x, channelsFirst);
        // Pad the far side enough for the last tap's window.
        var padsEnd = new long[spatial];
        for (int i = 0; i < spatial; i++)
        {
            padsEnd[i] = Math.Max(0, (ys[2 + i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - padsBegin[i] - xs[2 + i]);
        }
        string padded = padsBegin.All(p => p == 0) && padsEnd.All(p => p == 0) ? byChannel
            : _g.Node("Pad", [byChannel, _g.Ints("pads", [0, 0, .. padsBegin, 0, 0, .. padsEnd])]);
        long[] axes = Enumerable.Range(2, spatial).Select(i => (long)i).ToArray();
        var slices = new List<string>();
        for (long t = 0; t < taps; t++)
        {
            var starts = new long[spatial];
            var ends = new long[spatial];
            long rest = t;
            for (int i = spatial - 1; i >= 0; i--)
            {
                long k = rest % kernel[i];
                rest /= kernel[i];
                starts[i] = k * dilations[i];
                ends[i] = starts[i] + (ys[2 + i] - 1) * strides[i] + 1;
            }
            bool whole = Enumerable.Range(0, spatial).All(i => starts[i] == 0 && strides[i] == 1 && ends[i] == xs[2 + i] + padsBegin[i] + padsEnd[i]);
            string slice = whole ? padded : _g.Node("Slice", [padded, _g.Ints("starts", starts), _g.Ints("ends", ends), _g.Ints("axes", axes), _g.Ints("steps", strides)]);
            slices.Add(slices.Count == 0 && taps == 1 ? slice : _g.Node("Unsqueeze", [slice, _g.Ints("axis1", 1)]));
        }
        // [C, taps, N, positions...]: channel-major, the order of a weight's [C, k...].
        string stacked = taps == 1 ? slices[0] : _g.Node("Concat", slices, ("axis", 1L));
        string cols = Reshape(stacked, [c * taps, columns]);
        _columns[key] = cols;
        return cols;
    }

    /// <summary>
    /// The derivative of a convolution's input: a transposed convolution by the same kernel, with the
    /// output padding that recovers the input's exact size. (Measured: ONNX Runtime's ConvTranspose beats the
    /// equivalent "full" Conv by a flipped kernel, which also convolves the zero border.)
    /// </summary>
    private string ConvInputDerivative(string dy, string w, long[] xs, long[] ys, long[] kernel, long[] strides, long[] dilations,
        long[] padsBegin, long[] padsEnd, long group)
    {
        int spatial = kernel.Length;
        if (group == 1 && xs[1] >= GemmRows && strides.All(s => s == 1) && Enumerable.Range(0, spatial).All(i => padsBegin[i] <= (kernel[i] - 1) * dilations[i] && padsEnd[i] <= (kernel[i] - 1) * dilations[i]))
        {
            // Unstrided: the convolution of dY by the flipped, transposed kernel, padded to give back the input's
            // size; as large as the forward convolution, and about a quarter faster than ConvTranspose (measured on
            // a CIFAR ResNet-18's 3x3 layers, one thread).
            long[] fullPadsBegin = [.. Enumerable.Range(0, spatial).Select(i => (kernel[i] - 1) * dilations[i] - padsBegin[i])];
            long[] fullPadsEnd = [.. Enumerable.Range(0, spatial).Select(i => (kernel[i] - 1) * dilations[i] - padsEnd[i])];
            // The curvature pass squares the flipped kernel (built once) rather than flipping the squared one.
            return _g.Node("Conv", [dy, Coefficient(FlippedTransposed(w, spatial))],
                ("dilations", dilations), ("pads", (long[])[.. fullPadsBegin, .. fullPadsEnd]), ("kernel_shape", kernel));
        }
        var outputPadding = new long[spatial];
        for (int i = 0; i < spatial; i++)
        {
            outputPadding[i] = xs[2 + i] - (strides[i] * (ys[2 + i] - 1) + (kernel[i] - 1) * dilations[i] + 1 - padsBegin[i] - padsEnd[i]);
        }
        return _g.Node("ConvTranspose", [dy, Coefficient(w)],
            ("strides", strides), ("dilations", dilations), ("group", group), ("pads", (long[])[.. padsBegin, .. padsEnd]),
            ("output_padding", outputPadding), ("kernel_shape", kernel));
    }

    /// <summary>A kernel [M, C, k...] as [C, M, k...] with every spatial axis reversed; built once per kernel value.</summary>
    private string FlippedTransposed(string w, int spatial)
    {
        if (!_flipped.TryGetValue(w, out string? name))
        {
            string swapped = Transpose(w, [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)]);
            long[] axes = [.. Enumerable.Range(2, spatial).Select(i => (long)i)];
            _flipped[w] = name = _g.Node("Slice", [swapped, _g.Ints("starts", [.. axes.Select(_ => -1L)]), _g.Ints("ends", [.. axes.Select(_ => long.MinValue)]),
                _g.Ints("axes", axes), _g.Ints("steps", [.. axes.Select(_ => -1L)])]);
        }
        return name;
    }

    private string CropKernel(string r, long[] xs, long[] ys, long[] kernel, long[] strides, long[] dilations, long[] padsBegin, long[] padsEnd)
    {
        bool larger = false;
        for (int i = 0; i < kernel.Length; i++)
        {
            long produced = (xs[2 + i] + padsBegin[i] + padsEnd[i] - ((ys[2 + i] - 1) * strides[i] + 1)) / dilations[i] + 1;
            larger |= produced > kernel[i];
        }
        if (!larger)
        {
            return r;
        }
        long[] axes = Enumerable.Range(2, kernel.Length).Select(i => (long)i).ToArray();
        return _g.Node("Slice", [r, _g.Ints("starts", new long[kernel.Length]), _g.Ints("ends", kernel), _g.Ints("axes", axes)]);
    }

    /// <summary>Explicit begin and end pads of a Conv or pool, resolving auto_pad from the probed shapes.</summary>
    private (long[] Begin, long[] End) ConvPads(NodeProto node, long[] inSpatial, long[] outSpatial, long[] kernel, long[] strides, long[] dilations)
    {
        int spatial = inSpatial.Length;
        string autoPad = StringAttribute(node, "auto_pad", "NOTSET");
        var begin = new long[spatial];
        var end = new long[spatial];
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < spatial; i++)
            {
                long total = Math.Max(0, (outSpatial[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSpatial[i]);
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                end[i] = total - begin[i];
            }
        }
        else if (autoPad is "NOTSET" or "")
        {
            long[] pads = IntsAttribute(node, "pads", new long[2 * spatial]);
            Array.Copy(pads, 0, begin, 0, spatial);
            Array.Copy(pads, spatial, end, 0, spatial);
        }
        return (begin, end);
    }
}
