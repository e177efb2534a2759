using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Tests.Support;

/// <summary>Small classifiers that exercise one operator family each, with seeded random weights.</summary>
public sealed class TestNets
{
    private readonly Random _random;
    private readonly GraphBuilder _g = new();

    private TestNets(int seed, string activation = "Relu")
    {
        _random = new Random(seed);
        _activation = activation;
    }

    private readonly string _activation;

    /// <summary>The net's nonlinearity: ReLU (piecewise linear, so Gauss-Newton is the exact Hessian) or Tanh (smooth, so finite differences of the loss see no kinks).</summary>
    private string Act(string x) => _g.Node(_activation, [x]);

    /// <summary>A standard normal draw (Box-Muller) from a seeded generator.</summary>
    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private string W(string name, params long[] dims)
    {
        long count = dims.Aggregate(1L, (a, d) => a * d);
        long fanIn = dims.Length > 1 ? count / dims[0] : 4;
        double scale = 1.2 / Math.Sqrt(fanIn);
        return _g.Initializer(name, dims, Enumerable.Range(0, (int)count).Select(_ => (float)(Gaussian(_random) * scale)).ToArray());
    }

    private string Bias(string name, long size) =>
        _g.Initializer(name, [size], Enumerable.Range(0, (int)size).Select(_ => (float)(Gaussian(_random) * 0.1)).ToArray());

    private string Input(params long[] sample) => _g.Input("x", DataType.Float, [.. new object[] { "N" }.Concat(sample.Cast<object>())]);

    private ModelProto Finish(string logits, long classes, long opset = 18)
    {
        _g.Output(logits, DataType.Float, "N", classes);
        return _g.ToModel(opset);
    }

    private string Dense(string x, long inFeatures, long outFeatures, string name) =>
        _g.Node("Gemm", [x, W(name + ".weight", outFeatures, inFeatures), Bias(name + ".bias", outFeatures)], ("transB", 1));

    private string Flatten(string x) => _g.Node("Flatten", [x], ("axis", 1));

    /// <summary>Dense layers of the given widths (the first is the input's), Relu between them: a classifier of any size.</summary>
    public static ModelProto Mlp(int seed, params long[] widths)
    {
        var t = new TestNets(seed);
        string h = t.Input(widths[0]);
        for (int l = 1; l < widths.Length; l++)
        {
            h = t.Dense(h, widths[l - 1], widths[l], $"fc{l}");
            h = l < widths.Length - 1 ? t.Act(h) : h;
        }
        return t.Finish(h, widths[^1]);
    }

    public static ModelProto Gemm(int seed, bool transA, bool transB, float alpha, float beta, bool rowBias)
    {
        var t = new TestNets(seed);
        string x = t.Input(6);
        string a = transA ? t._g.Node("Transpose", [x], ("perm", new long[] { 1, 0 })) : x;
        string w = transB ? t.W("fc.weight", 4, 6) : t.W("fc.weight", 6, 4);
        string c = rowBias ? t._g.Initializer("fc.bias", [1, 4], [0.1f, -0.2f, 0.05f, 0.3f]) : t.Bias("fc.bias", 4);
        string y = t._g.Node("Gemm", [a, w, c], ("transA", transA ? 1 : 0), ("transB", transB ? 1 : 0), ("alpha", alpha), ("beta", beta));
        return t.Finish(y, 4);
    }

    /// <summary>A dense layer, Tanh, then a Gemm with alpha and beta, so OBD reaches the first layer through alpha.</summary>
    public static ModelProto HiddenGemm(int seed, float alpha, float beta)
    {
        var t = new TestNets(seed, "Tanh");
        string x = t.Input(6);
        string h = t.Act(t.Dense(x, 6, 5, "fc1"));
        string y = t._g.Node("Gemm", [h, t.W("fc2.weight", 4, 5), t.Bias("fc2.bias", 4)], ("transB", 1), ("alpha", alpha), ("beta", beta));
        return t.Finish(y, 4);
    }

    /// <summary>A dense layer, then a MatMul whose weight is stored [2, 12] and reshaped to [6, 4] on the way: a weight Swim cannot trace to the crossbar.</summary>
    /// <summary>A dense weight stored [2, 12], cast to float32 and reshaped to [6, 4] on its way to MatMul; with <paramref name="transposedFirst"/>,
    /// stored [12, 2] and transposed before the reshape, which reads its elements in another order.</summary>
    public static ModelProto ReshapedWeight(int seed, bool transposedFirst = false, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(6);
        string h = t.Act(t.Dense(x, 6, 6, "fc1"));
        // A float32-to-float32 Cast on the way, as some converters write.
        string packed = transposedFirst ? t._g.Node("Transpose", [t.W("fc2.packed", 12, 2)], ("perm", new long[] { 1, 0 }))
            : t._g.Node("Cast", [t.W("fc2.packed", 2, 12)], ("to", (long)DataType.Float));
        string w = t._g.Node("Reshape", [packed, t._g.Ints("fc2.shape", 6, 4)]);
        return t.Finish(t._g.Node("MatMul", [h, w]), 4);
    }

    public static ModelProto MatMulBatched(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(3, 4);
        string h = t.Act(t._g.Node("Add", [t._g.Node("MatMul", [x, t.W("proj.weight", 4, 5)]), t.Bias("proj.bias", 5)]));
        return t.Finish(t.Dense(t.Flatten(h), 15, 3, "head"), 3);
    }

    public static ModelProto MatMulWeightOnLeft(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(4, 3);
        string h = t.Act(t._g.Node("MatMul", [t.W("mix.weight", 5, 4), x]));
        return t.Finish(t.Dense(t.Flatten(h), 15, 3, "head"), 3);
    }

    /// <param name="inChannels">Input channels (4; 32 or more, with as many outputs, takes the im2col and flipped-kernel rules).</param>
    public static ModelProto Conv(int seed, int group, int stride, int pad, int dilation, string autoPad = "NOTSET", string activation = "Relu",
        int inChannels = 4, int outChannels = 8, int size = 7)
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(inChannels, size, size);
        var attributes = new List<(string, object)> { ("group", group), ("strides", new long[] { stride, stride }), ("dilations", new long[] { dilation, dilation }) };
        if (autoPad == "NOTSET")
        {
            attributes.Add(("pads", new long[] { pad, pad, pad + 1, pad }));
        }
        else
        {
            attributes.Add(("auto_pad", autoPad));
        }
        string y = t._g.Node("Conv", [x, t.W("conv.weight", outChannels, inChannels / group, 3, 3), t.Bias("conv.bias", outChannels)], [.. attributes]);
        string flat = t.Flatten(t.Act(y));
        long features = ProbeFeatures(t, flat, [inChannels, size, size]);
        return t.Finish(t.Dense(flat, features, 3, "head"), 3);
    }

    /// <summary>
    /// Two unstrided 3 x 3 convs, 32 to 32 to 40 channels: the second's input derivative is needed, and is taken by
    /// its flipped, transposed kernel ([32, 40, 3, 3]).
    /// </summary>
    public static ModelProto WideConvPair(int seed, int size = 5)
    {
        var t = new TestNets(seed, "Relu");
        string x = t.Input(32, size, size);
        var pads = ("pads", (object)new long[] { 1, 1, 1, 1 });
        string h = t.Act(t._g.Node("Conv", [x, t.W("conv1.weight", 32, 32, 3, 3), t.Bias("conv1.bias", 32)], pads));
        string y = t.Act(t._g.Node("Conv", [h, t.W("conv2.weight", 40, 32, 3, 3), t.Bias("conv2.bias", 40)], pads));
        return t.Finish(t.Dense(t.Flatten(y), 40L * size * size, 3, "head"), 3);
    }

    /// <summary>A conv layer whose kernel covers its whole input: one output position, so OBD is exact.</summary>
    public static ModelProto ConvSinglePosition(int seed)
    {
        var t = new TestNets(seed);
        string x = t.Input(2, 3, 3);
        string y = t._g.Node("Conv", [x, t.W("conv.weight", 4, 2, 3, 3), t.Bias("conv.bias", 4)]);
        return t.Finish(t.Flatten(y), 4);
    }

    public static ModelProto Activation(int seed, string op)
    {
        var t = new TestNets(seed);
        string x = t.Input(5);
        string h = t.Dense(x, 5, 6, "fc1");
        h = op switch
        {
            "LeakyRelu" => t._g.Node("LeakyRelu", [h], ("alpha", 0.1f)),
            "Clip" => t._g.Node("Clip", [t._g.Node("Mul", [h, t._g.Scalar("gain", 4f)]), t._g.Scalar("lo", 0f), t._g.Scalar("hi", 1f)]),
            // torch.clamp with one bound: PyTorch leaves max out, or names min empty when max is given alone; other
            // writers name an absent max empty.
            "ClipMin" => t._g.Node("Clip", [t._g.Node("Mul", [h, t._g.Scalar("gain", 4f)]), t._g.Scalar("lo", -0.5f)]),
            "ClipMinEmptyMax" => t._g.Node("Clip", [t._g.Node("Mul", [h, t._g.Scalar("gain", 4f)]), t._g.Scalar("lo", -0.5f), ""]),
            "ClipMax" => t._g.Node("Clip", [t._g.Node("Mul", [h, t._g.Scalar("gain", 4f)]), "", t._g.Scalar("hi", 0.5f)]),
            // A learned slope per hidden unit, some steeper than 1 and one negative.
            "PRelu" => t._g.Node("PRelu", [h, t._g.Initializer("prelu.slope", [6], PReluSlopes)]),
            // SiLU (Swish) as exporters write it: the input times its sigmoid.
            "Silu" => t._g.Node("Mul", [h, t._g.Node("Sigmoid", [h])]),
            // Layer normalisation as PyTorch writes it before opset 17: (h - mean) / sqrt(mean((h - mean)^2) + eps).
            "LayerNormDecomposed" => LayerNormDecomposed(t, h),
            // The same as one operator (opset 17), with a scale and a bias per unit.
            "LayerNormalization" => t._g.Node("LayerNormalization", [h, t._g.Initializer("ln.scale", [6], [1.2f, -0.8f, 0.5f, 2f, 1f, -1.5f]),
                t._g.Initializer("ln.bias", [6], [0.1f, 0f, -0.3f, 0.2f, 0.5f, 0f])], ("axis", -1L), ("epsilon", 1e-3f)),
            // Over the last axis of [N, 2, 3] with the axis left to its default (-1, not 1: not the last two) and epsilon to its own.
            "LayerNormDefaults" => t._g.Node("Reshape", [t._g.Node("LayerNormalization", [t._g.Node("Reshape", [h, t._g.Ints("ln.rows", 0, 2, 3)]),
                t._g.Initializer("ln.scale", [3], [1.2f, -0.8f, 0.5f]), t._g.Initializer("ln.bias", [3], [0.1f, 0f, -0.3f])]), t._g.Ints("ln.flat", 0, 6)]),
            _ => t._g.Node(op, [h]),
        };
        return t.Finish(t.Dense(h, 6, 3, "fc2"), 3);
    }

    private static string LayerNormDecomposed(TestNets t, string h)
    {
        string centred = t._g.Node("Sub", [h, t._g.Node("ReduceMean", [h, t._g.Ints("ln.axes", -1)])]);
        string variance = t._g.Node("ReduceMean", [t._g.Node("Pow", [centred, t._g.Scalar("ln.two", 2f)]), t._g.Ints("ln.axes2", -1)]);
        return t._g.Node("Div", [centred, t._g.Node("Sqrt", [t._g.Node("Add", [variance, t._g.Scalar("ln.eps", 1e-5f)])])]);
    }

    /// <summary>
    /// Weights read by two layers side by side, as a Siamese network ties them: one Conv weight over the input and over
    /// the input scaled, and one dense weight over each branch, the two logits added.
    /// </summary>
    public static ModelProto SharedWeights(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(2, 5, 5);
        string w = t.W("shared.conv", 3, 2, 3, 3);
        string a = t.Act(t._g.Node("Conv", [x, w], ("pads", new long[] { 1, 1, 1, 1 })));
        string b = t.Act(t._g.Node("Conv", [t._g.Node("Mul", [x, t._g.Scalar("branch.gain", -0.7f)]), w], ("pads", new long[] { 1, 1, 1, 1 })));
        string v = t.W("shared.dense", 3, 75);
        string logits = t._g.Node("Add", [t._g.Node("Gemm", [t.Flatten(a), v], ("transB", 1L)), t._g.Node("Gemm", [t.Flatten(b), v], ("transB", 1L))]);
        return t.Finish(logits, 3);
    }

    /// <summary>The slopes TestNets.Activation gives PRelu's six hidden units.</summary>
    public static readonly float[] PReluSlopes = [0.25f, 0.1f, 1.5f, -0.3f, 0.6f, 0f];

    public static ModelProto Pooling(int seed, string pool, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(2, 7, 7);
        string h = t.Act(t._g.Node("Conv", [x, t.W("conv.weight", 3, 2, 3, 3), t.Bias("conv.bias", 3)], ("pads", new long[] { 1, 1, 1, 1 })));
        h = pool switch
        {
            "MaxPool" => t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 })),
            "MaxPoolPadded" => t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 0, 0 })),
            // Windows that tile the input (routed by MaxUnpool), with the last row and column in no window; then
            // ceil_mode's partial windows, which MaxUnpool cannot place (scattered); then disjoint dilated windows.
            "MaxPoolTiling" => t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 })),
            "MaxPoolCeil" => t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }), ("ceil_mode", 1)),
            "MaxPoolDilated" => t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 3, 3 }), ("dilations", new long[] { 2, 2 })),
            "AveragePool" => t._g.Node("AveragePool", [h], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })),
            "AveragePoolIncludePad" => t._g.Node("AveragePool", [h], ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 }), ("count_include_pad", 1)),
            "GlobalAveragePool" => t._g.Node("GlobalAveragePool", [h]),
            // PyTorch's x.mean((2, 3)) (axes an input from opset 18), and a mean over one axis with the axis dropped.
            "ReduceMean" => t._g.Node("ReduceMean", [h, t._g.Ints("axes", 2, 3)], ("keepdims", 0)),
            "ReduceMeanRows" => t._g.Node("ReduceMean", [h, t._g.Ints("axes", -1)]),
            // Squeeze-excitation's gate: each channel scaled by the sigmoid of its own mean (broadcast over the map).
            "SqueezeExcite" => t._g.Node("Mul", [h, t._g.Node("Sigmoid", [t._g.Node("GlobalAveragePool", [h])])]),
            // The activation read by a pool and by a second branch: a ReLU's mask cannot be taken from the pool alone.
            "MaxPoolAndSkip" => t._g.Node("Concat", [
                t.Flatten(t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))),
                t.Flatten(t._g.Node("GlobalAveragePool", [h]))], ("axis", 1)),
            _ => throw new ArgumentException(pool, nameof(pool)),
        };
        string flat = t.Flatten(h);
        return t.Finish(t.Dense(flat, ProbeFeatures(t, flat, [2, 7, 7]), 3, "head"), 3);
    }

    public static ModelProto BatchNorm(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(2, 5, 5);
        string c = t._g.Node("Conv", [x, t.W("conv.weight", 3, 2, 3, 3)], ("pads", new long[] { 1, 1, 1, 1 }));
        string bn = t._g.Node("BatchNormalization", [c, t._g.Initializer("bn.gamma", [3], [1.5f, 0.7f, -0.9f]), t._g.Initializer("bn.beta", [3], [0.1f, 0f, -0.2f]),
            t._g.Initializer("bn.mean", [3], [0.2f, -0.1f, 0f]), t._g.Initializer("bn.var", [3], [0.5f, 2f, 1.2f])], ("epsilon", 1e-3f));
        string h = t.Flatten(t._g.Node("GlobalAveragePool", [t.Act(bn)]));
        return t.Finish(t.Dense(h, 3, 3, "head"), 3);
    }

    /// <summary>Pad, Transpose, a Reshape whose shape a Shape/Gather/Unsqueeze/Concat subgraph computes, Identity, Dropout, Squeeze/Unsqueeze.</summary>
    /// <param name="computedPads">The pads as PyTorch's F.pad exports them: its (left, right, top, bottom) pairs
    /// turned into ONNX's order by Concat, Reshape, a reversing Slice, Transpose and Reshape.</param>
    public static ModelProto ShapeOps(int seed, long opset = 18, string activation = "Relu", bool computedPads = false)
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(1, 4, 4);
        string c = t.Act(t._g.Node("Conv", [x, t.W("conv.weight", 2, 1, 3, 3), t.Bias("conv.bias", 2)]));
        string pads = computedPads ? t.TorchPads() : t._g.Ints("pads", 0, 0, 1, 0, 0, 0, 0, 1);
        string padded = t._g.Node("Pad", [c, pads]);
        string tr = t._g.Node("Transpose", [padded], ("perm", new long[] { 0, 2, 3, 1 }));
        string batch = t._g.Node("Gather", [t._g.Node("Shape", [tr]), t._g.Int64Initializer("zero", [], [0])], ("axis", 0));
        string shape = t._g.Node("Concat", [t.Unsqueeze(batch, 0, opset), t._g.Ints("rest", -1)], ("axis", 0));
        string flat = t._g.Node("Dropout", [t._g.Node("Identity", [t._g.Node("Reshape", [tr, shape])])]);
        string u = t.Unsqueeze(flat, 1, opset);
        string m = t._g.Node("MatMul", [u, t.W("proj.weight", 18, 3)]);
        return t.Finish(t.Squeeze(m, 1, opset), 3, opset);
    }

    /// <summary>Pads (0, 0, 1, 0, 0, 0, 0, 1) computed from F.pad's (0, 1, 1, 0) the way PyTorch's exporter writes it.</summary>
    private string TorchPads()
    {
        string pairs = _g.Node("Concat", [_g.Ints("torch.pads", 0, 1, 1, 0), _g.Ints("torch.zeros", 0, 0, 0, 0)], ("axis", 0));
        string byAxis = _g.Node("Reshape", [pairs, _g.Ints("torch.pairs", -1, 2)]);
        string reversed = _g.Node("Slice", [byAxis, _g.Ints("torch.starts", -1), _g.Ints("torch.ends", long.MinValue), _g.Ints("torch.axes", 0), _g.Ints("torch.steps", -1)]);
        return _g.Node("Reshape", [_g.Node("Transpose", [reversed], ("perm", new long[] { 1, 0 })), _g.Ints("torch.flat", -1)]);
    }

    private string Unsqueeze(string x, long axis, long opset) => opset >= 13
        ? _g.Node("Unsqueeze", [x, _g.Ints("axes", axis)])
        : _g.Node("Unsqueeze", [x], ("axes", new long[] { axis }));

    private string Squeeze(string x, long axis, long opset) => opset >= 13
        ? _g.Node("Squeeze", [x, _g.Ints("axes", axis)])
        : _g.Node("Squeeze", [x], ("axes", new long[] { axis }));

    /// <summary>Two branches concatenated along channels, a residual Add, and arithmetic with constants.</summary>
    public static ModelProto ConcatResidual(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(3, 5, 5);
        long[] same = [1, 1, 1, 1];
        string a = t._g.Node("Conv", [x, t.W("a.weight", 2, 3, 3, 3), t.Bias("a.bias", 2)], ("pads", same));
        string b = t._g.Node("Conv", [x, t.W("b.weight", 2, 3, 3, 3)], ("pads", same));
        string cat = t._g.Node("Concat", [a, t.Act(b)], ("axis", 1));
        string r = t._g.Node("Conv", [t.Act(cat), t.W("c.weight", 4, 4, 3, 3), t.Bias("c.bias", 4)], ("pads", same));
        string sum = t._g.Node("Add", [r, cat]);
        string scaled = t._g.Node("Div", [t._g.Node("Sub", [t._g.Node("Mul", [sum, t._g.Initializer("gain", [1, 4, 1, 1], [0.5f, 2f, -1f, 1.5f])]), t._g.Scalar("shift", 0.1f)]), t._g.Scalar("div", 1.7f)]);
        string flat = t.Flatten(t.Act(scaled));
        return t.Finish(t.Dense(flat, 100, 3, "head"), 3);
    }

    /// <summary>
    /// Arithmetic with the constant as the first operand (c - x, c * x, c + x, c / x is not differentiable here but
    /// x / c is covered above): each rule must handle the activation on its right, where c - x flips the sign.
    /// </summary>
    public static ModelProto ConstantFirst(int seed, string activation = "Relu")
    {
        var t = new TestNets(seed, activation);
        string x = t.Input(6);
        string h = t.Dense(x, 6, 5, "fc1");
        string flipped = t._g.Node("Sub", [t._g.Initializer("offset", [1, 5], [0.3f, -0.1f, 0.2f, 0.05f, -0.4f]), h]);
        string scaled = t._g.Node("Mul", [t._g.Scalar("gain", 1.3f), flipped]);
        string shifted = t._g.Node("Add", [t._g.Scalar("lift", 0.2f), scaled]);
        return t.Finish(t.Dense(t.Act(shifted), 5, 3, "fc2"), 3);
    }

    /// <summary>A LeNet-shaped network at a small scale: conv, ReLU, max pool, conv, ReLU, average pool, two dense layers.</summary>
    public static ModelProto SmallLeNet(int seed)
    {
        var t = new TestNets(seed);
        string x = t.Input(1, 8, 8);
        string h = t._g.Node("Relu", [t._g.Node("Conv", [x, t.W("c1.weight", 3, 1, 3, 3), t.Bias("c1.bias", 3)], ("pads", new long[] { 1, 1, 1, 1 }))]);
        h = t._g.Node("MaxPool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        h = t._g.Node("Relu", [t._g.Node("Conv", [h, t.W("c2.weight", 4, 3, 3, 3), t.Bias("c2.bias", 4)])]);
        h = t._g.Node("AveragePool", [h], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        h = t._g.Node("Relu", [t.Dense(t.Flatten(h), 4, 6, "fc1")]);
        return t.Finish(t.Dense(h, 6, 3, "fc2"), 3);
    }

    private static long ProbeFeatures(TestNets t, string value, long[] sample)
    {
        var probe = ShapeProbe.Run(t._g.Graph, 18, "x", [1, .. sample]);
        return probe.Shape(value)[1];
    }
}
