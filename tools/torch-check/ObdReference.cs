using Swim.Controller.Onnx.Schema;
using TorchSharp;
using static TorchSharp.torch;

namespace Swim.Tools.TorchCheck;

/// <summary>
/// LeCun's OBD diagonal of the mean loss, written from its definition with PyTorch's vector-Jacobian products:
/// h = p (1 - p) / B at the logits, carried back node by node in reverse. A linear node passes h through its
/// Jacobian with every entry squared: for a layer, its VJP taken with squared weights (towards its input) or
/// squared inputs (towards its weight); for a pointwise function, h times its derivative squared; for a 0/1
/// routing (max pool, reshapes, pads, concatenation), its VJP as it is; for an average, its VJP of h times the
/// window's own 1/k. Branches add. It shares no code with Swim's derivative graph.
/// </summary>
internal static class ObdReference
{
    public static Dictionary<string, Tensor> Compute(TorchGraph graph, IReadOnlyDictionary<string, Tensor> values, IReadOnlySet<string> parameters, int samples)
    {
        var h = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var obd = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor Value(string name) => values.TryGetValue(name, out Tensor? v) ? v : graph.Constant(name);
        void Pass(string name, Tensor t)
        {
            if (parameters.Contains(name))
            {
                obd[name] = obd.TryGetValue(name, out Tensor? sum) ? sum + t : t;
            }
            else if (name != graph.Input && !graph.IsConstant(name))
            {
                h[name] = h.TryGetValue(name, out Tensor? sum) ? sum + t : t;
            }
        }
        bool Carries(string name) => parameters.Contains(name) || (name != graph.Input && !graph.IsConstant(name));

        Tensor output = values[graph.Output];
        using (torch.no_grad())
        {
            Tensor p = TorchGraph.Logits(output).softmax(1);
            Pass(graph.Output, (p * (1 - p) / samples).reshape(output.shape));
        }
        foreach (NodeProto node in graph.Nodes.Reverse())
        {
            if (!h.TryGetValue(node.Output[0], out Tensor? hy))
            {
                continue;
            }
            Tensor?[] x = [.. node.Input.Select(n => n.Length == 0 ? null : Value(n))];
            switch (node.OpType)
            {
                case "Conv" or "Gemm" or "MatMul":
                {
                    // Towards input i: the node's VJP with the other operand squared (a product is linear in each).
                    float alpha = node.OpType == "Gemm" ? TorchGraph.Float(node, "alpha", 1f) : 1f;
                    for (int i = 0; i < 2; i++)
                    {
                        if (!Carries(node.Input[i]))
                        {
                            continue;
                        }
                        int other = 1 - i;
                        Tensor?[] args = [.. x.Take(2)];
                        args[other] = x[other]!.square();
                        Pass(node.Input[i], Vjp(graph, node, args, i, hy) * alpha);
                    }
                    if (x.Length > 2 && x[2] is not null && Carries(node.Input[2]))
                    {
                        float beta = node.OpType == "Gemm" ? TorchGraph.Float(node, "beta", 1f) : 1f;
                        // A convolution's bias is per output channel (axis 1); Gemm's C broadcasts numpy-style.
                        Tensor summed = node.OpType == "Conv"
                            ? hy.sum([0, .. Enumerable.Range(2, (int)hy.dim() - 2).Select(a => (long)a)])
                            : ReduceTo(hy, x[2]!.shape);
                        Pass(node.Input[2], summed * (beta * beta));
                    }
                    break;
                }
                case "Relu" or "LeakyRelu" or "Tanh" or "Sigmoid" or "Clip":
                {
                    Tensor slope = Vjp(graph, node, x, 0, torch.ones_like(hy));
                    Pass(node.Input[0], hy * slope.square());
                    break;
                }
                case "MaxPool" or "Flatten" or "Reshape" or "Transpose" or "Squeeze" or "Unsqueeze" or "Identity" or "Dropout" or "Pad":
                    Pass(node.Input[0], Vjp(graph, node, x, 0, hy));
                    break;
                case "Concat":
                    for (int i = 0; i < x.Length; i++)
                    {
                        if (Carries(node.Input[i]))
                        {
                            Pass(node.Input[i], Vjp(graph, node, x, i, hy));
                        }
                    }
                    break;
                case "AveragePool" or "GlobalAveragePool":
                    // Each output's window entries all equal 1/k (k its count); the VJP of h/k gives sum of h/k^2.
                    Pass(node.Input[0], Vjp(graph, node, x, 0, hy * WindowShare(graph, node, x[0]!)));
                    break;
                case "BatchNormalization":
                {
                    long[] shape = [1, -1, .. Enumerable.Repeat(1L, (int)x[0]!.dim() - 2)];
                    Pass(node.Input[0], hy * TorchGraph.BatchNormScale(node, x[1]!, x[4]!).square().reshape(shape));
                    break;
                }
                case "Add" or "Sub":
                    for (int i = 0; i < 2; i++)
                    {
                        if (Carries(node.Input[i]))
                        {
                            Pass(node.Input[i], ReduceTo(hy, x[i]!.shape));
                        }
                    }
                    break;
                case "Mul":
                    for (int i = 0; i < 2; i++)
                    {
                        if (Carries(node.Input[i]))
                        {
                            if (Carries(node.Input[1 - i]))
                            {
                                throw TorchGraph.Unsupported(node, "a product of two variables");
                            }
                            Pass(node.Input[i], ReduceTo(hy * x[1 - i]!.square(), x[i]!.shape));
                        }
                    }
                    break;
                case "Div":
                    if (!Carries(node.Input[0]) || Carries(node.Input[1]))
                    {
                        throw TorchGraph.Unsupported(node, "a division by a variable");
                    }
                    Pass(node.Input[0], ReduceTo(hy / x[1]!.square(), x[0]!.shape));
                    break;
                default:
                    throw TorchGraph.Unsupported(node, "the operator (in the OBD pass)");
            }
        }
        return obd;
    }

    /// <summary>The VJP of one node towards its input <paramref name="index"/>, at the given inputs.</summary>
    private static Tensor Vjp(TorchGraph graph, NodeProto node, IReadOnlyList<Tensor?> inputs, int index, Tensor dy)
    {
        Tensor at = inputs[index]!.detach().requires_grad_(true);
        Tensor?[] args = [.. inputs];
        args[index] = at;
        using var enable = torch.enable_grad();
        Tensor y = graph.Apply(node, args);
        return torch.autograd.grad([y], [at], [dy])[0].detach();
    }

    /// <summary>For an average pool, each output's 1/k (k: the elements its window averages), shaped like the output.</summary>
    private static Tensor WindowShare(TorchGraph graph, NodeProto node, Tensor x)
    {
        using var noGrad = torch.no_grad();
        if (node.OpType == "GlobalAveragePool")
        {
            long k = x.shape[2..].Aggregate(1L, (a, d) => a * d);
            return torch.tensor(1.0 / k).to_type(x.dtype);
        }
        long windowSize = TorchGraph.Ints(node, "kernel_shape", []).Aggregate(1L, (a, d) => a * d);
        if (TorchGraph.Int(node, "count_include_pad", 0) != 0)
        {
            return torch.tensor(1.0 / windowSize).to_type(x.dtype);
        }
        // Average of ones with padding counted gives (real elements)/(window size): k = that times the window size.
        var counting = node.Clone();
        if (counting.Attribute.FirstOrDefault(a => a.Name == "count_include_pad") is { } excluded)
        {
            counting.Attribute.Remove(excluded);
        }
        counting.Attribute.Add(new AttributeProto { Name = "count_include_pad", I = 1, Type = AttributeProto.Types.AttributeType.Int });
        Tensor share = graph.Apply(counting, [torch.ones_like(x)]);
        return 1.0 / (share * windowSize);
    }

    /// <summary>Sums a broadcast value back to an operand's shape.</summary>
    private static Tensor ReduceTo(Tensor value, long[] shape)
    {
        int offset = (int)value.dim() - shape.Length;
        Tensor y = value;
        if (offset > 0)
        {
            y = y.sum([.. Enumerable.Range(0, offset).Select(i => (long)i)]);
        }
        long[] axes = [.. Enumerable.Range(0, shape.Length).Where(i => shape[i] == 1 && y.shape[i] != 1).Select(i => (long)i)];
        return axes.Length > 0 ? y.sum(axes, keepdim: true) : y;
    }
}
