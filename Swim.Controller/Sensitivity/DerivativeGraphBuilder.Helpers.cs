using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// Small graph-building helpers shared by the op rules.
public sealed partial class DerivativeGraphBuilder
{
    private long[] ShapeOf(string value) => _probe.Shape(value);

    private static long Product(IEnumerable<long> dims) => dims.Aggregate(1L, (a, d) => a * d);

    private string Scalar(float value)
    {
        if (!_scalars.TryGetValue(value, out string? name))
        {
            _scalars[value] = name = _g.Scalar("c", value);
        }
        return name;
    }

    private string Zeros(IReadOnlyList<long> dims) =>
        _g.Node("ConstantOfShape", [_g.Ints("zeros_shape", [.. dims])], ("value", TensorData.CreateFloat("zero", [1], [0f])));

    /// <summary>v * v, built once per value: squared activations and weights recur across rules.</summary>
    private string Square(string value)
    {
        if (!_squares.TryGetValue(value, out string? name))
        {
            _squares[value] = name = _g.Node("Mul", [value, value]);
        }
        return name;
    }

    /// <summary>A coefficient as the current pass needs it: squared in the OBD curvature pass, as it is otherwise.</summary>
    private string Coefficient(string value) => _kind == PassKind.Curvature ? Square(value) : value;

    private float Coefficient(float value) => _kind == PassKind.Curvature ? value * value : value;

    private string Scale(string value, float factor) => factor == 1f ? value : _g.Node("Mul", [value, Scalar(factor)]);

    private string Reshape(string value, IReadOnlyList<long> shape)
    {
        if (_probe.Knows(value) && ShapeOf(value).SequenceEqual(shape))
        {
            return value;
        }
        return _g.Node("Reshape", [value, _g.Ints("shape", [.. shape])]);
    }

    private string Transpose(string value, long[] perm) => _g.Node("Transpose", [value], ("perm", perm));

    /// <summary>The transpose of a 2-D forward value, built once.</summary>
    private string Transposed2D(string value)
    {
        if (!_transposed.TryGetValue(value, out string? name))
        {
            _transposed[value] = name = Transpose(value, [1, 0]);
        }
        return name;
    }

    /// <summary>Swaps the last two axes of a value of rank <paramref name="rank"/>.</summary>
    private string SwapLastTwo(string value, int rank)
    {
        long[] perm = Enumerable.Range(0, rank).Select(i => (long)i).ToArray();
        (perm[rank - 2], perm[rank - 1]) = (perm[rank - 1], perm[rank - 2]);
        return Transpose(value, perm);
    }

    private string ReduceSum(string value, IReadOnlyList<long> axes, bool keepDims) =>
        axes.Count == 0 ? value : _g.Node("ReduceSum", [value, _g.Ints("axes", [.. axes])], ("keepdims", keepDims ? 1 : 0));

    /// <summary>
    /// Sums a broadcast result of shape <paramref name="from"/> back to an operand's shape <paramref name="to"/>
    /// (numpy broadcasting: leading axes and size-1 axes were stretched).
    /// </summary>
    private string ReduceTo(string value, IReadOnlyList<long> from, IReadOnlyList<long> to)
    {
        if (from.SequenceEqual(to))
        {
            return value;
        }
        int offset = from.Count - to.Count;
        var axes = new List<long>();
        for (int i = 0; i < from.Count; i++)
        {
            if (i < offset || (to[i - offset] == 1 && from[i] != 1))
            {
                axes.Add(i);
            }
        }
        return Reshape(ReduceSum(value, axes, keepDims: true), to);
    }

    /// <summary>
    /// For a parameter broadcast over a batch: the sum over samples of the square of each sample's own
    /// reduction of <paramref name="value"/> (shape <paramref name="from"/>, batch axis first) to <paramref name="to"/>.
    /// </summary>
    private string PerSampleSquaredReduceTo(string value, IReadOnlyList<long> from, IReadOnlyList<long> to)
    {
        int offset = from.Count - to.Count;
        if (offset == 0 && to[0] != 1)
        {
            throw new OnnxModelException("a parameter with its own batch axis cannot be separated per sample; the ggn curvatures do not support it.");
        }
        var axes = new List<long>();
        for (int i = 1; i < from.Count; i++)
        {
            if (i < offset || (to[i - offset] == 1 && from[i] != 1))
            {
                axes.Add(i);
            }
        }
        string perSample = ReduceSum(value, axes, keepDims: true);
        return Reshape(ReduceSum(Square(perSample), [0], keepDims: true), to);
    }

    private long[] IntsAttribute(NodeProto node, string name, long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? [.. a.Ints] : fallback;

    private static long IntAttribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    private static float FloatAttribute(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    private static string StringAttribute(NodeProto node, string name, string fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.S.ToStringUtf8() : fallback;

    private float[] ConstantFloats(NodeProto node, int input)
    {
        string name = node.Input[input];
        return _constants.TryGetValue(name, out TensorProto? t)
            ? TensorData.ReadFloats(t)
            : throw Unsupported(node, $"its input '{name}' must be a constant (an initializer or a Constant node)");
    }

    /// <summary>
    /// An int64 input's values: an initializer's or a Constant node's, or what a subgraph of constants and shapes
    /// computed (PyTorch's F.pad and TensorFlow-SAME ports build pads that way), as the shape probe saw it.
    /// </summary>
    private long[] ConstantInts(NodeProto node, int input)
    {
        string name = node.Input[input];
        if (_constants.TryGetValue(name, out TensorProto? t))
        {
            return TensorData.ReadInt64s(t);
        }
        return !_dependsOnData.Contains(name) && IsConstant(name) && _probe.SmallInts(name) is { } computed
            ? computed
            : throw Unsupported(node, $"its input '{name}' must be a constant (an initializer, a Constant node, or computed from those and shapes alone)");
    }

    private bool IsConstant(string value) => !_needsGradient.Contains(value);

    private OnnxModelException Unsupported(NodeProto node, string why) =>
        new($"model {_model.Description}: node '{(string.IsNullOrEmpty(node.Name) ? node.OpType : node.Name)}' ({node.OpType}) cannot be differentiated: {why}.");
}
