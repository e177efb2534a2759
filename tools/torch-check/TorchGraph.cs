using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Swim.Tools.TorchCheck;

/// <summary>
/// An ONNX classifier run node by node as PyTorch operations, so that PyTorch's autograd differentiates it.
/// Written from the ONNX operator definitions, without any of Swim's derivative code. A trailing Softmax or
/// LogSoftmax is dropped: the loss is taken on the logits, as Swim takes it.
/// </summary>
internal sealed class TorchGraph
{
    private readonly Dictionary<string, Tensor> _constants = new(StringComparer.Ordinal);

    public TorchGraph(OnnxModel model, ScalarType dtype)
    {
        Model = model;
        Dtype = dtype;
        foreach ((string name, TensorProto proto) in model.Initializers)
        {
            _constants[name] = ToTensor(proto);
        }
        var nodes = new List<NodeProto>();
        foreach (NodeProto node in model.Nodes)
        {
            if (node.OpType == "Constant")
            {
                AttributeProto value = node.Attribute.Single(a => a.Name == "value");
                _constants[node.Output[0]] = ToTensor(value.T);
            }
            else
            {
                nodes.Add(node);
            }
        }
        Output = model.Outputs[0].Name;
        while (nodes.Count > 0 && nodes[^1].OpType is "Softmax" or "LogSoftmax" && nodes[^1].Output[0] == Output)
        {
            Output = nodes[^1].Input[0];
            nodes.RemoveAt(nodes.Count - 1);
        }
        Nodes = nodes;
        Input = model.SingleDataInput().Name;
    }

    public OnnxModel Model { get; }

    public ScalarType Dtype { get; }

    public IReadOnlyList<NodeProto> Nodes { get; }

    public string Input { get; }

    public string Output { get; }

    public bool IsConstant(string name) => _constants.ContainsKey(name);

    public Tensor Constant(string name) => _constants[name];

    /// <summary>Runs the graph; <paramref name="parameters"/> replace initializers of the same name.</summary>
    public Dictionary<string, Tensor> Forward(Tensor input, IReadOnlyDictionary<string, Tensor> parameters)
    {
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [Input] = input };
        Tensor Value(string name) =>
            parameters.TryGetValue(name, out Tensor? p) ? p
            : values.TryGetValue(name, out Tensor? v) ? v
            : _constants.TryGetValue(name, out Tensor? c) ? c
            : throw new InvalidOperationException($"no value for '{name}'");
        foreach (NodeProto node in Nodes)
        {
            Tensor?[] inputs = [.. node.Input.Select(n => n.Length == 0 ? null : Value(n))];
            values[node.Output[0]] = Apply(node, inputs);
        }
        return values;
    }

    /// <summary>The logits as N x classes.</summary>
    public static Tensor Logits(Tensor output) => output.reshape(output.shape[0], -1);

    /// <summary>One node's output from the given inputs (null for an omitted optional input).</summary>
    public Tensor Apply(NodeProto node, IReadOnlyList<Tensor?> x)
    {
        Tensor In(int i) => x[i] ?? throw Unsupported(node, $"input {i} is missing");
        switch (node.OpType)
        {
            case "Conv":
                return Conv(node, In(0), In(1), x.Count > 2 ? x[2] : null);
            case "Gemm":
            {
                Tensor a = Int(node, "transA", 0) != 0 ? In(0).t() : In(0);
                Tensor b = Int(node, "transB", 0) != 0 ? In(1).t() : In(1);
                Tensor y = a.matmul(b) * Float(node, "alpha", 1f);
                return x.Count > 2 && x[2] is { } c ? y + c * Float(node, "beta", 1f) : y;
            }
            case "MatMul": return In(0).matmul(In(1));
            case "Add": return In(0) + In(1);
            case "Sub": return In(0) - In(1);
            case "Mul": return In(0) * In(1);
            case "Div": return In(0) / In(1);
            case "Relu": return F.relu(In(0));
            case "LeakyRelu": return F.leaky_relu(In(0), Float(node, "alpha", 0.01f));
            case "Tanh": return In(0).tanh();
            case "Sigmoid": return In(0).sigmoid();
            case "Clip":
            {
                Tensor y = In(0);
                if (x.Count > 1 && x[1] is { } lo)
                {
                    y = y.maximum(lo.to_type(y.dtype));
                }
                if (x.Count > 2 && x[2] is { } hi)
                {
                    y = y.minimum(hi.to_type(y.dtype));
                }
                return y;
            }
            case "MaxPool":
            {
                (long[] kernel, long[] strides, long[] begin, long[] end) = Window(node, In(0));
                if (Int(node, "ceil_mode", 0) != 0)
                {
                    throw Unsupported(node, "ceil_mode = 1");
                }
                Tensor padded = PadSpatial(In(0), begin, end, double.NegativeInfinity);
                long[] dilations = Ints(node, "dilations", [.. kernel.Select(_ => 1L)]);
                return F.max_pool2d(padded, kernel, strides, [0, 0], dilations);
            }
            case "AveragePool":
            {
                (long[] kernel, long[] strides, long[] begin, long[] end) = Window(node, In(0));
                if (!begin.SequenceEqual(end))
                {
                    throw Unsupported(node, "asymmetric padding");
                }
                return F.avg_pool2d(In(0), kernel, strides, begin, ceil_mode: Int(node, "ceil_mode", 0) != 0,
                    count_include_pad: Int(node, "count_include_pad", 0) != 0);
            }
            case "GlobalAveragePool": return In(0).mean([.. Enumerable.Range(2, (int)In(0).dim() - 2).Select(i => (long)i)], keepdim: true);
            case "BatchNormalization":
            {
                long[] shape = [1, -1, .. Enumerable.Repeat(1L, (int)In(0).dim() - 2)];
                Tensor scale = BatchNormScale(node, In(1), In(4)).reshape(shape);
                return (In(0) - In(3).reshape(shape)) * scale + In(2).reshape(shape);
            }
            case "Flatten":
            {
                long axis = Int(node, "axis", 1);
                long[] s = In(0).shape;
                if (axis < 0)
                {
                    axis += s.Length;
                }
                return In(0).reshape(s[..(int)axis].Aggregate(1L, (p, d) => p * d), -1);
            }
            case "Reshape":
            {
                long[] shape = In(1).data<long>().ToArray();
                for (int i = 0; i < shape.Length; i++)
                {
                    if (shape[i] == 0 && Int(node, "allowzero", 0) == 0)
                    {
                        shape[i] = In(0).shape[i];
                    }
                }
                return In(0).reshape(shape);
            }
            case "Transpose":
                return In(0).permute(Ints(node, "perm", [.. Enumerable.Range(0, (int)In(0).dim()).Reverse().Select(i => (long)i)]));
            case "Squeeze":
            {
                long[] axes = Axes(node, x, In(0).dim());
                Tensor y = In(0);
                foreach (long axis in axes.OrderDescending())
                {
                    y = y.squeeze(axis);
                }
                return y;
            }
            case "Unsqueeze":
            {
                long rank = In(0).dim() + (x.Count > 1 && x[1] is { } a ? a.numel() : Ints(node, "axes", []).Length);
                Tensor y = In(0);
                foreach (long axis in Axes(node, x, rank).Order())
                {
                    y = y.unsqueeze(axis);
                }
                return y;
            }
            case "Identity" or "Dropout": return In(0);
            case "Pad":
            {
                if (Str(node, "mode", "constant") != "constant")
                {
                    throw Unsupported(node, "a mode other than constant");
                }
                long[] pads = In(1).data<long>().ToArray();
                int rank = (int)In(0).dim();
                var torchPads = new List<long>();
                for (int i = rank - 1; i >= 0; i--)
                {
                    torchPads.Add(pads[i]);
                    torchPads.Add(pads[rank + i]);
                }
                double value = x.Count > 2 && x[2] is { } v ? v.to_type(ScalarType.Float64).item<double>() : 0;
                return F.pad(In(0), [.. torchPads], PaddingModes.Constant, value);
            }
            case "Concat":
                return torch.cat([.. x.Select((t, i) => t ?? In(i))], Int(node, "axis", 0));
            case "Shape": return torch.tensor(In(0).shape);
            case "Gather": return In(0).index_select(Int(node, "axis", 0), In(1).flatten()).reshape([.. GatherShape(node, In(0), In(1))]);
            case "Cast": return In(0);
            default:
                throw Unsupported(node, "the operator");
        }
    }

    public static Tensor BatchNormScale(NodeProto node, Tensor gamma, Tensor variance) =>
        gamma / (variance + Float(node, "epsilon", 1e-5f)).sqrt();

    /// <summary>A window's kernel, strides and explicit begin/end pads, resolving auto_pad.</summary>
    public static (long[] Kernel, long[] Strides, long[] Begin, long[] End) Window(NodeProto node, Tensor x, long[]? kernelFromWeight = null)
    {
        long[] kernel = kernelFromWeight ?? Ints(node, "kernel_shape", []);
        int spatial = kernel.Length;
        long[] strides = Ints(node, "strides", [.. Enumerable.Repeat(1L, spatial)]);
        long[] dilations = Ints(node, "dilations", [.. Enumerable.Repeat(1L, spatial)]);
        string autoPad = Str(node, "auto_pad", "NOTSET");
        var begin = new long[spatial];
        var end = new long[spatial];
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < spatial; i++)
            {
                long size = x.shape[2 + i];
                long output = (size + strides[i] - 1) / strides[i];
                long total = Math.Max(0, (output - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                end[i] = total - begin[i];
            }
        }
        else if (autoPad is "NOTSET" or "")
        {
            long[] pads = Ints(node, "pads", new long[2 * spatial]);
            Array.Copy(pads, 0, begin, 0, spatial);
            Array.Copy(pads, spatial, end, 0, spatial);
        }
        return (kernel, strides, begin, end);
    }

    private Tensor Conv(NodeProto node, Tensor x, Tensor w, Tensor? bias)
    {
        if (x.dim() != 4)
        {
            throw Unsupported(node, "a convolution that is not 2-D");
        }
        (long[] _, long[] strides, long[] begin, long[] end) = Window(node, x, w.shape[2..]);
        long[] dilations = Ints(node, "dilations", [1, 1]);
        Tensor padded = PadSpatial(x, begin, end, 0);
        return F.conv2d(padded, w, bias, strides, [0, 0], dilations, Int(node, "group", 1));
    }

    private static Tensor PadSpatial(Tensor x, long[] begin, long[] end, double value)
    {
        if (begin.All(p => p == 0) && end.All(p => p == 0))
        {
            return x;
        }
        var pads = new List<long>();
        for (int i = begin.Length - 1; i >= 0; i--)
        {
            pads.Add(begin[i]);
            pads.Add(end[i]);
        }
        return F.pad(x, [.. pads], PaddingModes.Constant, value);
    }

    private static long[] Axes(NodeProto node, IReadOnlyList<Tensor?> x, long rank)
    {
        long[] axes = x.Count > 1 && x[1] is { } a ? a.data<long>().ToArray() : Ints(node, "axes", []);
        return [.. axes.Select(axis => axis < 0 ? axis + rank : axis)];
    }

    private static IEnumerable<long> GatherShape(NodeProto node, Tensor data, Tensor indices)
    {
        long axis = Int(node, "axis", 0);
        return data.shape[..(int)axis].Concat(indices.shape).Concat(data.shape[(int)(axis + 1)..]);
    }

    private Tensor ToTensor(TensorProto proto)
    {
        long[] dims = [.. proto.Dims];
        return proto.DataType == (int)TensorProto.Types.DataType.Int64
            ? torch.tensor(TensorData.ReadInt64s(proto), dims)
            : torch.tensor(TensorData.ReadFloats(proto), dims).to_type(Dtype);
    }

    public static long Int(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    public static float Float(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    public static long[] Ints(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? [.. a.Ints] : fallback;

    private static string Str(NodeProto node, string name, string fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.S.ToStringUtf8() : fallback;

    public static NotSupportedException Unsupported(NodeProto node, string what) =>
        new($"{node.OpType} node '{node.Name}' ({node.Output[0]}): {what} is not supported by this check");
}
