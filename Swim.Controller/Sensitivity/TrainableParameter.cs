using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

/// <summary>
/// A float initializer that derivative graphs differentiate: a crossbar-mapped weight, or the bias of the
/// layer a mapped weight belongs to (Conv's B, Gemm's C, or an initializer added to a MatMul's output).
/// </summary>
/// <param name="LayerWeight">For a bias: the mapped weight of its layer; for a weight: its own name.</param>
public sealed record TrainableParameter(string Name, IReadOnlyList<long> Dims, bool IsMappedWeight, string LayerWeight)
{
    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>The mapped weights of <paramref name="model"/> followed by their layers' biases.</summary>
    public static IReadOnlyList<TrainableParameter> Find(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<MappedWeight> weights = model.RequireMappedWeights();
        var parameters = weights.Select(w => new TrainableParameter(w.Name, w.Dims, true, w.Name)).ToList();
        var taken = new HashSet<string>(parameters.Select(p => p.Name), StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (NodeProto node in model.Nodes)
        {
            foreach (string input in node.Input)
            {
                if (!consumers.TryGetValue(input, out List<NodeProto>? list))
                {
                    consumers[input] = list = [];
                }
                list.Add(node);
            }
        }
        foreach (MappedWeight weight in weights)
        {
            NodeProto layer = model.Nodes.First(n => OnnxModel.NodeLabel(n, model.Nodes.ToList().IndexOf(n)) == weight.NodeLabel);
            string? bias = layer.OpType switch
            {
                "Conv" or "Gemm" when layer.Input.Count > 2 => layer.Input[2],
                "MatMul" => consumers.GetValueOrDefault(layer.Output[0])?
                    .Where(n => n.OpType == "Add" && n.Input.Count == 2)
                    .Select(n => n.Input[0] == layer.Output[0] ? n.Input[1] : n.Input[0])
                    .FirstOrDefault(model.Initializers.ContainsKey),
                _ => null,
            };
            if (bias is { Length: > 0 } && model.Initializers.TryGetValue(bias, out TensorProto? tensor)
                && tensor.DataType == (int)TensorProto.Types.DataType.Float && taken.Add(bias))
            {
                parameters.Add(new TrainableParameter(bias, tensor.Dims.ToArray(), false, weight.Name));
            }
        }
        return parameters;
    }
}
