using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Tests.Support;

/// <summary>
/// The OBD diagonal of the mean loss from its definition, with every Jacobian measured instead of derived:
/// h = p (1 - p) / N at the logits, carried back node by node in reverse as h_in = sum over outputs of
/// J^2 h_out, where each node's Jacobian towards each input is found by central differences of that node
/// alone on ONNX Runtime, element by element. Knows no derivative rule of any operator, so it checks every
/// rule of the derivative graph at once. Affine operators are probed with a step of 1 (exact up to float32
/// rounding), the others (activations, max pool) with 1e-3, halved where the step would cross a kink.
/// </summary>
public static class ProbedObd
{
    private static readonly HashSet<string> Affine = new(StringComparer.Ordinal)
    {
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "BatchNormalization", "AveragePool", "GlobalAveragePool",
        "Pad", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Identity", "Dropout",
    };

    public static Dictionary<string, double[]> Compute(OnnxModel model, float[] x, long[] sampleShape, IReadOnlySet<string> parameters)
    {
        int samples = x.Length / (int)sampleShape.Aggregate(1L, (a, d) => a * d);
        string input = model.SingleDataInput().Name;
        Dictionary<string, Value> values = Forward(model, input, x, [samples, .. sampleShape]);
        foreach ((string name, TensorProto t) in model.Initializers)
        {
            values[name] = t.DataType == (int)DataType.Int64
                ? new Value([.. t.Dims], null, TensorData.ReadInt64s(t))
                : new Value([.. t.Dims], TensorData.ReadFloats(t), null);
        }
        var variable = new HashSet<string>(parameters, StringComparer.Ordinal) { input };
        foreach (NodeProto node in model.Nodes)
        {
            if (node.Input.Any(variable.Contains))
            {
                variable.UnionWith(node.Output.Where(o => values.TryGetValue(o, out Value? v) && v.Floats is not null));
            }
        }

        var h = new Dictionary<string, double[]>(StringComparer.Ordinal);
        string logits = model.Outputs[0].Name;
        h[logits] = CurvatureAtLogits(values[logits].Floats!, samples);

        var obd = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (NodeProto node in model.Nodes.Reverse())
        {
            if (!h.TryGetValue(node.Output[0], out double[]? hOut))
            {
                continue;
            }
            using var single = new SingleNode(node, values);
            for (int i = 0; i < node.Input.Count; i++)
            {
                string name = node.Input[i];
                if (name.Length == 0 || name == input || !variable.Contains(name))
                {
                    continue;
                }
                double[] hIn = single.SquaredJacobianTransposed(i, hOut, Affine.Contains(node.OpType) ? 1.0 : 1e-3);
                Dictionary<string, double[]> target = parameters.Contains(name) ? obd : h;
                if (target.TryGetValue(name, out double[]? sum))
                {
                    for (int e = 0; e < sum.Length; e++)
                    {
                        sum[e] += hIn[e];
                    }
                }
                else
                {
                    target[name] = hIn;
                }
            }
        }
        return obd;
    }

    /// <summary>The softmax cross-entropy curvature of the mean loss at each logit, p(1 - p) / N.</summary>
    private static double[] CurvatureAtLogits(float[] z, int samples)
    {
        int classes = z.Length / samples;
        var atLogits = new double[z.Length];
        for (int n = 0; n < samples; n++)
        {
            double max = Enumerable.Range(0, classes).Max(k => (double)z[n * classes + k]);
            double total = Enumerable.Range(0, classes).Sum(k => Math.Exp(z[n * classes + k] - max));
            for (int k = 0; k < classes; k++)
            {
                double p = Math.Exp(z[n * classes + k] - max) / total;
                atLogits[n * classes + k] = p * (1 - p) / samples;
            }
        }
        return atLogits;
    }

    private sealed record Value(long[] Shape, float[]? Floats, long[]? Longs);

    private static Dictionary<string, Value> Forward(OnnxModel model, string input, float[] x, long[] shape)
    {
        GraphProto graph = model.Graph.Clone();
        var names = new List<string>();
        var declared = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        names.AddRange(declared);
        foreach (NodeProto node in graph.Node)
        {
            foreach (string output in node.Output.Where(o => o.Length > 0 && declared.Add(o)))
            {
                graph.Output.Add(new ValueInfoProto { Name = output });
                names.Add(output);
            }
        }
        var proto = new ModelProto { IrVersion = 8, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = model.DefaultOpset });
        using var session = new InferenceSession(proto.ToByteArray());
        using OrtValue value = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(run, [input], [value], names);
        var values = new Dictionary<string, Value>(StringComparer.Ordinal) { [input] = new Value(shape, x, null) };
        for (int i = 0; i < names.Count; i++)
        {
            OrtTensorTypeAndShapeInfo info = outputs[i].GetTensorTypeAndShape();
            values[names[i]] = info.ElementDataType == TensorElementType.Float
                ? new Value(info.Shape, outputs[i].GetTensorDataAsSpan<float>().ToArray(), null)
                : new Value(info.Shape, null, outputs[i].GetTensorDataAsSpan<long>().ToArray());
        }
        return values;
    }

    /// <summary>One node as its own ONNX Runtime session, fed the forward values, probed one input element at a time.</summary>
    private sealed class SingleNode : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly Value[] _inputs;
        private readonly string[] _inputNames;
        private readonly string _output;

        public SingleNode(NodeProto node, Dictionary<string, Value> values)
        {
            var graph = new GraphProto { Name = "probe" };
            var wired = new NodeProto(node);
            _inputNames = new string[node.Input.Count];
            _inputs = new Value[node.Input.Count];
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i].Length == 0)
                {
                    continue;
                }
                _inputNames[i] = "in" + i;
                wired.Input[i] = _inputNames[i];
                _inputs[i] = values[node.Input[i]];
                DataType type = _inputs[i].Floats is null ? DataType.Int64 : DataType.Float;
                graph.Input.Add(GraphBuilder.ValueInfo(_inputNames[i], type, [.. _inputs[i].Shape.Cast<object>()]));
            }
            _output = node.Output[0];
            wired.Output.Clear();
            wired.Output.Add(_output);
            graph.Node.Add(wired);
            graph.Output.Add(new ValueInfoProto { Name = _output });
            var proto = new ModelProto { IrVersion = 8, Graph = graph };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 18 });
            _session = new InferenceSession(proto.ToByteArray());
        }

        /// <summary>
        /// sum over outputs o of J[o, e]^2 h[o] for every element e of input <paramref name="index"/>. Where the
        /// forward and backward differences disagree, the step crossed a kink (a ReLU at 0, a max-pool tie), so
        /// it is halved until they agree.
        /// </summary>
        public double[] SquaredJacobianTransposed(int index, double[] hOut, double step)
        {
            float[] original = _inputs[index].Floats!;
            float[] probe = (float[])original.Clone();
            float[] middle = Run(index, probe);
            var result = new double[original.Length];
            for (int e = 0; e < original.Length; e++)
            {
                float[] up, down;
                double h = step;
                for (int halvings = 0; ; halvings++)
                {
                    probe[e] = (float)(original[e] + h);
                    up = Run(index, probe);
                    probe[e] = (float)(original[e] - h);
                    down = Run(index, probe);
                    probe[e] = original[e];
                    if (OneSided(up, middle, down, h) || halvings == 20)
                    {
                        break;
                    }
                    h /= 2;
                }
                double sum = 0;
                for (int o = 0; o < hOut.Length; o++)
                {
                    double j = (up[o] - (double)down[o]) / (2 * h);
                    sum += j * j * hOut[o];
                }
                result[e] = sum;
            }
            return result;
        }

        private static bool OneSided(float[] up, float[] middle, float[] down, double step)
        {
            double worst = 0, scale = 0;
            for (int o = 0; o < up.Length; o++)
            {
                double forward = (up[o] - (double)middle[o]) / step, backward = (middle[o] - (double)down[o]) / step;
                worst = Math.Max(worst, Math.Abs(forward - backward));
                scale = Math.Max(scale, Math.Max(Math.Abs(forward), Math.Abs(backward)));
            }
            return worst <= 1e-2 * scale + 1e-4;
        }

        private float[] Run(int index, float[] probed)
        {
            var feeds = new List<OrtValue>();
            var names = new List<string>();
            try
            {
                for (int i = 0; i < _inputs.Length; i++)
                {
                    if (_inputNames[i] is null)
                    {
                        continue;
                    }
                    names.Add(_inputNames[i]);
                    feeds.Add(_inputs[i].Floats is { } f
                        ? OrtValue.CreateTensorValueFromMemory(i == index ? probed : f, _inputs[i].Shape)
                        : OrtValue.CreateTensorValueFromMemory(_inputs[i].Longs!, _inputs[i].Shape));
                }
                using var run = new RunOptions();
                using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(run, names, feeds, [_output]);
                return outputs[0].GetTensorDataAsSpan<float>().ToArray();
            }
            finally
            {
                foreach (OrtValue feed in feeds)
                {
                    feed.Dispose();
                }
            }
        }

        public void Dispose() => _session.Dispose();
    }
}
