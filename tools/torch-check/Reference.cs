using Swim.Controller.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Swim.Tools.TorchCheck;

/// <summary>PyTorch's answer for one batch: autograd's gradient of its own mean cross-entropy, and the OBD reference.</summary>
internal sealed record Reference(double Loss, Dictionary<string, Tensor> Gradient, Dictionary<string, Tensor> Obd)
{
    public static Reference Compute(OnnxModel model, ScalarType dtype, Tensor input, Tensor labels, IReadOnlyList<string> names)
    {
        var graph = new TorchGraph(model, dtype);
        Dictionary<string, Tensor> parameters = names.ToDictionary(n => n, n => graph.Constant(n).detach().requires_grad_(true), StringComparer.Ordinal);
        Dictionary<string, Tensor> values = graph.Forward(input.to_type(dtype), parameters);
        Tensor loss = torch.nn.functional.cross_entropy(TorchGraph.Logits(values[graph.Output]), labels);
        IList<Tensor> gradients = torch.autograd.grad([loss], [.. names.Select(n => parameters[n])]);
        var gradient = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            gradient[names[i]] = gradients[i];
        }
        Dictionary<string, Tensor> detached = values.ToDictionary(kv => kv.Key, kv => kv.Value.detach(), StringComparer.Ordinal);
        Dictionary<string, Tensor> obd = ObdReference.Compute(graph, detached, names.ToHashSet(StringComparer.Ordinal), (int)input.shape[0]);
        return new Reference(loss.to_type(ScalarType.Float64).item<double>(), gradient, obd);
    }
}
