using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Onnx;

/// <summary>
/// Rewrites the node forms that changed between older opsets and opset 18 (attributes that became inputs),
/// so that derivative graphs, which need opset-18 operators such as ScatterElements with reduction, can
/// hold the original forward nodes. Only forms of operators Swim differentiates or meets in shape subgraphs
/// are rewritten; the rest are already valid at opset 18.
/// </summary>
public static class OpsetUpgrade
{
    public const long TargetOpset = 18;

    /// <summary>Upgrades <paramref name="graph"/>'s nodes in place from <paramref name="fromOpset"/>.</summary>
    public static void Apply(GraphBuilder graph, long fromOpset)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var nodes = graph.Graph.Node.ToList();
        graph.Graph.Node.Clear();
        foreach (NodeProto node in nodes)
        {
            if (!string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx")
            {
                graph.Graph.Node.Add(node);
                continue;
            }
            switch (node.OpType)
            {
                case "Squeeze" or "Unsqueeze" when fromOpset < 13:
                case "ReduceSum" when fromOpset < 13:
                case "ReduceMean" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceL2" when fromOpset < 18:
                    MoveIntsToInput(graph, node, "axes", 1);
                    break;
                case "Clip" when fromOpset < 11:
                    MoveFloatToInput(graph, node, "min", 1, float.MinValue);
                    MoveFloatToInput(graph, node, "max", 2, float.MaxValue);
                    break;
                case "Pad" when fromOpset < 11:
                    MoveIntsToInput(graph, node, "pads", 1);
                    MoveFloatToInput(graph, node, "value", 2, 0f);
                    break;
                case "Dropout":
                    // Inference: Dropout is the identity. Its optional mask output has no use in a classifier.
                    node.OpType = "Identity";
                    node.Attribute.Clear();
                    while (node.Input.Count > 1)
                    {
                        node.Input.RemoveAt(node.Input.Count - 1);
                    }
                    while (node.Output.Count > 1)
                    {
                        node.Output.RemoveAt(node.Output.Count - 1);
                    }
                    break;
                case "BatchNormalization":
                    RemoveAttribute(node, "spatial");
                    RemoveAttribute(node, "is_test");
                    RemoveAttribute(node, "consumed_inputs");
                    break;
            }
            graph.Graph.Node.Add(node);
        }
    }

    private static void MoveIntsToInput(GraphBuilder graph, NodeProto node, string name, int index)
    {
        AttributeProto? attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
        if (attribute is null)
        {
            return;
        }
        node.Attribute.Remove(attribute);
        PadInputs(node, index);
        node.Input.Insert(index, graph.Ints($"{node.Name}_{name}", [.. attribute.Ints]));
        TrimTrailingEmptyInputs(node);
    }

    private static void MoveFloatToInput(GraphBuilder graph, NodeProto node, string name, int index, float fallback)
    {
        AttributeProto? attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
        PadInputs(node, index);
        if (attribute is not null)
        {
            node.Attribute.Remove(attribute);
            node.Input.Insert(index, graph.Scalar($"{node.Name}_{name}", attribute.F));
        }
        else
        {
            node.Input.Insert(index, fallback == 0f && name == "value" ? "" : graph.Scalar($"{node.Name}_{name}", fallback));
        }
        TrimTrailingEmptyInputs(node);
    }

    private static void PadInputs(NodeProto node, int count)
    {
        while (node.Input.Count < count)
        {
            node.Input.Add("");
        }
    }

    private static void TrimTrailingEmptyInputs(NodeProto node)
    {
        while (node.Input.Count > 0 && node.Input[^1].Length == 0)
        {
            node.Input.RemoveAt(node.Input.Count - 1);
        }
    }

    private static void RemoveAttribute(NodeProto node, string name)
    {
        AttributeProto? attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
        if (attribute is not null)
        {
            node.Attribute.Remove(attribute);
        }
    }
}
