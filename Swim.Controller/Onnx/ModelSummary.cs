using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Onnx;

/// <summary>What <c>swim info</c> reports about a model: its interface, its operators and its crossbar-mapped weights.</summary>
public sealed record ModelSummary(
    string Model,
    long IrVersion,
    long Opset,
    string Producer,
    IReadOnlyList<ModelSummary.TensorInfo> Inputs,
    IReadOnlyList<ModelSummary.TensorInfo> Outputs,
    IReadOnlyList<ModelSummary.OperatorCount> Operators,
    IReadOnlyList<ModelSummary.WeightInfo> MappedWeights,
    long MappedElements,
    int Initializers)
{
    /// <summary>Weight tensors no crossbar holds (an LSTM's, a Conv weight reshaped on its way), with their consumers.</summary>
    public IReadOnlyList<UnmappedInfo> Unmapped { get; init; } = [];

    public sealed record UnmappedInfo(string Name, string ConsumedBy);

    public sealed record TensorInfo(string Name, string ElementType, IReadOnlyList<string> Shape);

    public sealed record OperatorCount(string OpType, int Count);

    public sealed record WeightInfo(string Name, IReadOnlyList<long> Shape, long Elements, string OpType, string Node);

    public static ModelSummary Of(OnnxModel model, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<MappedWeight> weights = model.FindMappedWeights();
        return new ModelSummary(
            name,
            model.Proto.IrVersion,
            model.DefaultOpset,
            $"{model.Proto.ProducerName} {model.Proto.ProducerVersion}".Trim(),
            model.Inputs.Select(Describe).ToList(),
            model.Outputs.Select(Describe).ToList(),
            model.Nodes.GroupBy(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}")
                .Select(g => new OperatorCount(g.Key, g.Count()))
                .OrderByDescending(c => c.Count).ThenBy(c => c.OpType, StringComparer.Ordinal).ToList(),
            weights.Select(w => new WeightInfo(w.Name, w.Dims, w.ElementCount, w.OpType, w.NodeLabel)).ToList(),
            weights.Sum(w => w.ElementCount),
            model.Initializers.Count)
        {
            Unmapped = [.. model.UnmappedWeightTensors().Select(u => new UnmappedInfo(u.Name, u.ConsumedBy))],
        };
    }

    private static TensorInfo Describe(ValueInfoProto value)
    {
        TypeProto.Types.Tensor? tensor = value.Type?.TensorType;
        IReadOnlyList<string> shape = tensor?.Shape?.Dim
            .Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.HasDimParam ? d.DimParam : "?")
            .ToList() ?? [];
        return new TensorInfo(value.Name, tensor is null ? "?" : TensorData.DataTypeName(tensor.ElemType), shape);
    }
}
