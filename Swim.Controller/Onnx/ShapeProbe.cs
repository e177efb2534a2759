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

    internal ShapeProbe(Dictionary<string, long[]> shapes, Dictionary<string, TensorElementType> types, Dictionary<string, long[]> smallInts)
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
        using var prober = new ShapeProber(graph, opset, inputName);
        return prober.At(inputShape);
    }
}
