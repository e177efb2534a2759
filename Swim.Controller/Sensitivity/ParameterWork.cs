using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

/// <summary>
/// The part of a derivative graph that reads the parameters and nothing else: kernels flipped and transposed for
/// the input derivative, squared for the curvature pass, matrices transposed. Within a graph it runs every batch;
/// when the parameters stay the same for a whole pass (a sensitivity pass, not training), <see cref="Split"/> moves
/// it into <see cref="DerivativeGraph.Preparation"/>, which <see cref="Prepare"/> runs once, and the batches read its
/// results as inputs. (Measured on a CIFAR ResNet-18, batch 8, one thread: 57 of 853 ms of kernels a batch.)
/// </summary>
public static class ParameterWork
{
    /// <summary>
    /// Operators moved when every input is a parameter, an initializer or a moved node's result: they make floats
    /// from floats, so what they hand the batches is always a float tensor.
    /// </summary>
    private static readonly HashSet<string> s_movable = new(StringComparer.Ordinal)
    {
        "Transpose", "Slice", "Mul", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Neg", "Concat",
    };

    /// <summary>
    /// <paramref name="graph"/> with its parameter-only work split off, or <paramref name="graph"/> itself when it has
    /// none (or when ONNX Runtime cannot tell the shapes of what that work hands on, which the batches' graph declares).
    /// </summary>
    public static DerivativeGraph Split(DerivativeGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Preparation is not null)
        {
            return graph;
        }
        GraphProto whole = graph.Model.Graph;
        var initializers = new HashSet<string>(whole.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var outputs = new HashSet<string>(whole.Output.Select(o => o.Name), StringComparer.Ordinal);
        var derived = new HashSet<string>(graph.Parameters.Select(p => p.Name), StringComparer.Ordinal);
        var moved = new HashSet<NodeProto>();
        foreach (NodeProto node in whole.Node)
        {
            if (node.Domain.Length == 0 && s_movable.Contains(node.OpType)
                && node.Input.Any(derived.Contains)
                && node.Input.All(i => i.Length == 0 || derived.Contains(i) || initializers.Contains(i))
                && !node.Output.Any(outputs.Contains))
            {
                moved.Add(node);
                derived.UnionWith(node.Output);
            }
        }
        var kept = whole.Node.Where(n => !moved.Contains(n)).ToList();
        var madeByMoved = new HashSet<string>(moved.SelectMany(n => n.Output), StringComparer.Ordinal);
        // What the batches read of the moved work, in the order it is made.
        var handedOn = new HashSet<string>(kept.SelectMany(n => n.Input).Where(madeByMoved.Contains), StringComparer.Ordinal);
        List<string> prepared = [.. moved.SelectMany(n => n.Output).Where(handedOn.Contains)];
        if (prepared.Count == 0)
        {
            return graph;
        }

        ModelProto preparation = PreparationModel(graph, moved, prepared);
        IReadOnlyList<PreparedInput>? shapes = ShapesOf(preparation, prepared);
        if (shapes is null)
        {
            return graph;
        }
        ModelProto batches = graph.Model.Clone();
        batches.Graph.Node.Clear();
        batches.Graph.Node.AddRange(kept.Select(n => n.Clone()));
        var stillRead = new HashSet<string>(kept.SelectMany(n => n.Input), StringComparer.Ordinal);
        List<TensorProto> unread = [.. batches.Graph.Initializer.Where(i => !stillRead.Contains(i.Name))];
        foreach (TensorProto initializer in unread)
        {
            batches.Graph.Initializer.Remove(initializer);
        }
        foreach (PreparedInput input in shapes)
        {
            batches.Graph.Input.Add(Onnx.GraphBuilder.ValueInfo(input.Name, TensorProto.Types.DataType.Float, [.. input.Dims.Select(d => (object)d)]));
        }
        return graph with { Model = batches, Preparation = preparation, PreparedInputs = shapes };
    }

    /// <summary>
    /// <paramref name="parameters"/> and, when the graph has a <see cref="DerivativeGraph.Preparation"/>, what it makes
    /// of them: the values every run of <paramref name="graph"/> reads besides the batch. Run it again whenever the
    /// parameters change.
    /// </summary>
    public static IReadOnlyDictionary<string, float[]> Prepare(DerivativeGraph graph, IReadOnlyDictionary<string, float[]> parameters)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(parameters);
        if (graph.Preparation is null)
        {
            return parameters;
        }
        var values = new Dictionary<string, float[]>(parameters, StringComparer.Ordinal);
        using var session = new InferenceSession(graph.Preparation.ToByteArray());
        var inputs = new List<OrtValue>();
        try
        {
            var names = new List<string>();
            foreach (ValueInfoProto input in graph.Preparation.Graph.Input)
            {
                TrainableParameter p = graph.Parameters.First(q => q.Name == input.Name);
                float[] data = parameters.TryGetValue(p.Name, out float[]? v) ? v
                    : throw new ArgumentException($"no values for parameter '{p.Name}'.", nameof(parameters));
                inputs.Add(OrtValue.CreateTensorValueFromMemory(data, [.. p.Dims]));
                names.Add(p.Name);
            }
            string[] outputNames = [.. graph.PreparedInputs.Select(i => i.Name)];
            using var run = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(run, names, inputs, outputNames);
            for (int i = 0; i < outputNames.Length; i++)
            {
                values[outputNames[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
            }
        }
        finally
        {
            foreach (OrtValue input in inputs)
            {
                input.Dispose();
            }
        }
        return values;
    }

    private static ModelProto PreparationModel(DerivativeGraph graph, HashSet<NodeProto> moved, List<string> prepared)
    {
        GraphProto whole = graph.Model.Graph;
        var read = new HashSet<string>(moved.SelectMany(n => n.Input), StringComparer.Ordinal);
        var preparation = new GraphProto { Name = "swim_parameter_work" };
        preparation.Node.AddRange(whole.Node.Where(moved.Contains).Select(n => n.Clone()));
        preparation.Initializer.AddRange(whole.Initializer.Where(i => read.Contains(i.Name)).Select(i => i.Clone()));
        preparation.Input.AddRange(whole.Input.Where(i => read.Contains(i.Name) && graph.Parameters.Any(p => p.Name == i.Name)).Select(i => i.Clone()));
        preparation.Output.AddRange(prepared.Select(name => new ValueInfoProto { Name = name }));
        var model = new ModelProto { IrVersion = graph.Model.IrVersion, ProducerName = graph.Model.ProducerName, Graph = preparation };
        model.OpsetImport.AddRange(graph.Model.OpsetImport.Select(o => o.Clone()));
        return model;
    }

    /// <summary>The static float shapes ONNX Runtime infers for the prepared values; null if any is not one.</summary>
    private static List<PreparedInput>? ShapesOf(ModelProto preparation, List<string> prepared)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(preparation.ToByteArray(), options);
        var shapes = new List<PreparedInput>();
        foreach (string name in prepared)
        {
            NodeMetadata meta = session.OutputMetadata[name];
            if (!meta.IsTensor || meta.ElementDataType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float || meta.Dimensions.Any(d => d < 0))
            {
                return null;
            }
            shapes.Add(new PreparedInput(name, [.. meta.Dimensions.Select(d => (long)d)]));
        }
        return shapes;
    }
}

/// <summary>A value the batches of a split derivative graph read as an input, made once by its <see cref="DerivativeGraph.Preparation"/>.</summary>
public sealed record PreparedInput(string Name, long[] Dims);
