using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// Rules for operators that move values without changing them: Transpose, Pad, Concat (reshapes are in the dispatcher).
public sealed partial class DerivativeGraphBuilder
{
    private void TransposeRule(NodeProto node, string dy)
    {
        int rank = ShapeOf(node.Input[0]).Length;
        long[] perm = IntsAttribute(node, "perm", Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray());
        var inverse = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            inverse[perm[i]] = i;
        }
        Contribute(node.Input[0], Transpose(dy, inverse));
    }

    private void Pad(NodeProto node, string dy)
    {
        string mode = StringAttribute(node, "mode", "constant");
        if (mode != "constant")
        {
            throw Unsupported(node, $"it pads in '{mode}' mode; Swim differentiates constant padding only");
        }
        long[] xs = ShapeOf(node.Input[0]);
        long[] pads = ConstantInts(node, 1);
        long[] axes = node.Input.Count > 3 && node.Input[3].Length > 0
            ? ConstantInts(node, 3).Select(a => a < 0 ? a + xs.Length : a).ToArray()
            : Enumerable.Range(0, xs.Length).Select(i => (long)i).ToArray();
        if (pads.Any(p => p < 0))
        {
            throw Unsupported(node, "it has negative pads (cropping)");
        }
        long[] starts = pads[..axes.Length];
        long[] ends = axes.Select((a, i) => starts[i] + xs[a]).ToArray();
        Contribute(node.Input[0], _g.Node("Slice", [dy, _g.Ints("starts", starts), _g.Ints("ends", ends), _g.Ints("axes", axes)]));
    }

    private void Concat(NodeProto node, string dy)
    {
        long[] ys = ShapeOf(node.Output[0]);
        long axis = IntAttribute(node, "axis", 0);
        if (axis < 0)
        {
            axis += ys.Length;
        }
        long offset = 0;
        for (int i = 0; i < node.Input.Count; i++)
        {
            long size = ShapeOf(node.Input[i])[axis];
            if (Needs(node, i))
            {
                Contribute(node.Input[i], _g.Node("Slice", [dy, _g.Ints("starts", offset), _g.Ints("ends", offset + size), _g.Ints("axes", axis)]));
            }
            offset += size;
        }
    }

    /// <summary>The derivative through a node that passes its value on unchanged: Identity, Dropout at inference, a float32-to-float32 Cast.</summary>
    private string PassedThrough(NodeProto node, string dy) =>
        node.OpType != "Cast" || _probe.IsFloat(node.Input[0]) && _probe.IsFloat(node.Output[0]) ? dy
            : throw Unsupported(node, "it casts to or from a type other than float32; Swim differentiates float32 values only");
}
