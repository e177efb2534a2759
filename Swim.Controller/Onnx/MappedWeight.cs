namespace Swim.Controller.Onnx;

/// <summary>
/// A float initializer that a crossbar holds: the weight operand of a Conv, Gemm or MatMul node, reached
/// directly or through Transpose/Identity nodes.
/// </summary>
/// <param name="Name">The initializer's name, which is how sensitivity files and mappings refer to it.</param>
/// <param name="Dims">The initializer's shape as stored.</param>
/// <param name="OpType">The consuming operator: Conv, Gemm or MatMul.</param>
/// <param name="NodeLabel">The consuming node's name, or its op type and index when the exporter left it unnamed.</param>
/// <param name="InputIndex">Which input of the consuming node the weight feeds.</param>
/// <param name="Path">Reshape-like, Transpose and Identity nodes between the initializer and its consumer, nearest the initializer first.</param>
public sealed record MappedWeight(
    string Name,
    IReadOnlyList<long> Dims,
    string OpType,
    string NodeLabel,
    int InputIndex,
    IReadOnlyList<string> Path)
{
    /// <summary>
    /// The matrix the stored elements form in their own order, where Reshape, Flatten, Squeeze or Unsqueeze nodes
    /// give the tensor another shape before it reaches its consumer (the ONNX zoo's MNIST keeps its dense weight
    /// [16, 4, 4, 10] and reshapes it to [256, 10]); null where the stored shape is the matrix.
    /// </summary>
    public IReadOnlyList<long>? MatrixDims { get; init; }

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(" x ", Dims) + "]";
}
