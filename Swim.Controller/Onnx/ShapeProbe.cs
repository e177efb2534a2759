using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Onnx;

/// <summary>
/// The static shape and element type of every value of a graph at one batch size, learned by running the
/// graph once on zeros with every intermediate value exposed as an output. ONNX Runtime's C# API has no
/// shape inference; a probe pass is exact for whatever the exporter wrote, shape subgraphs included.
/// </summary>
public sealed class ShapeProbe
{
    private readonly Dictionary<string, long[]> _shapes;
    private readonly Dictionary<string, TensorElementType> _types;
    private readonly Dictionary<string, long[]> _smallInts;

    private ShapeProbe(Dictionary<string, long[]> shapes, Dictionary<string, TensorElementType> types, Dictionary<string, long[]> smallInts)
    {
        _shapes = shapes;
        _types = types;
        _smallInts = smallInts;
    }

    /// <summary>Most elements of an int64 value whose contents the probe keeps (pads, axes, shapes: a handful each).</summary>
    public const int SmallIntsLimit = 64;

    /// <summary>
    /// The contents of a small int64 value as the probe computed it (null when it is not one): exact for values
    /// computed from constants and shapes alone, such as the pads an exporter builds with ConstantOfShape and Concat.
    /// </summary>
    public long[]? SmallInts(string value) => _smallInts.TryGetValue(value, out long[]? values) ? values : null;

    public long[] Shape(string value) => _shapes.TryGetValue(value, out long[]? shape)
        ? shape
        : throw new InvalidOperationException($"the shape probe did not see value '{value}'.");

    public bool IsFloat(string value) => _types.TryGetValue(value, out TensorElementType type) && type == TensorElementType.Float;

    public bool Knows(string value) => _shapes.ContainsKey(value);

    /// <summary>Runs <paramref name="graph"/> (with opset <paramref name="opset"/>) on zeros of <paramref name="inputShape"/>.</summary>
    public static ShapeProbe Run(GraphProto graph, long opset, string inputName, long[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(graph);
        GraphProto probe = graph.Clone();
        var declared = new HashSet<string>(probe.Output.Select(o => o.Name), StringComparer.Ordinal);
        var names = new List<string>(declared);
        foreach (NodeProto node in probe.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length > 0 && declared.Add(output))
                {
                    probe.Output.Add(new ValueInfoProto { Name = output });
                    names.Add(output);
                }
            }
        }
        var model = new ModelProto { IrVersion = 8, Graph = probe };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var types = new Dictionary<string, TensorElementType>(StringComparer.Ordinal);
        var smallInts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var zeros = new float[inputShape.Aggregate(1L, (a, d) => a * d)];
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(zeros, inputShape);
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(run, [inputName], [input], names);
        for (int i = 0; i < names.Count; i++)
        {
            if (!outputs[i].IsTensor)
            {
                continue;
            }
            OrtTensorTypeAndShapeInfo info = outputs[i].GetTensorTypeAndShape();
            shapes[names[i]] = info.Shape;
            types[names[i]] = info.ElementDataType;
            if (info.ElementDataType == TensorElementType.Int64 && info.ElementCount <= SmallIntsLimit)
            {
                smallInts[names[i]] = outputs[i].GetTensorDataAsSpan<long>().ToArray();
            }
        }
        shapes[inputName] = inputShape;
        types[inputName] = TensorElementType.Float;
        foreach (TensorProto initializer in graph.Initializer)
        {
            shapes[initializer.Name] = [.. initializer.Dims];
            types[initializer.Name] = initializer.DataType == (int)TensorProto.Types.DataType.Float ? TensorElementType.Float : TensorElementType.Int64;
        }
        return new ShapeProbe(shapes, types, smallInts);
    }
}
