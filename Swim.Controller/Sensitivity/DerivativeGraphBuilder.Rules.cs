using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// The dispatcher: one rule per operator family, each in its own file.
public sealed partial class DerivativeGraphBuilder
{
    private void Propagate(NodeProto node, string dy)
    {
        switch (node.OpType)
        {
            case "Gemm":
                Gemm(node, dy);
                break;
            case "MatMul":
                MatMul(node, dy);
                break;
            case "Conv":
                Conv(node, dy);
                break;
            case "Relu" or "LeakyRelu" or "Clip" or "Tanh" or "Sigmoid" or "HardSigmoid" or "HardSwish" or "Softplus" or "Erf" or "PRelu" or "Sqrt" or "Pow":
                Activation(node, dy);
                break;
            case "Add" or "Sub" or "Mul" or "Div":
                Arithmetic(node, dy);
                break;
            case "BatchNormalization":
                BatchNormalization(node, dy);
                break;
            case "LayerNormalization":
                LayerNormalization(node, dy);
                break;
            case "MaxPool":
                MaxPool(node, dy);
                break;
            case "AveragePool":
                AveragePool(node, dy);
                break;
            case "GlobalAveragePool":
                GlobalAveragePool(node, dy);
                break;
            case "ReduceMean":
                ReduceMean(node, dy);
                break;
            case "Flatten" or "Reshape" or "Squeeze" or "Unsqueeze":
                Contribute(node.Input[0], Reshape(dy, ShapeOf(node.Input[0])));
                break;
            case "Identity" or "Dropout" or "Cast":
                Contribute(node.Input[0], PassedThrough(node, dy));
                break;
            case "Transpose":
                TransposeRule(node, dy);
                break;
            case "Pad":
                Pad(node, dy);
                break;
            case "Concat":
                Concat(node, dy);
                break;
            default:
                throw Unsupported(node, $"supported operators are {string.Join(", ", SupportedOperators)}");
        }
    }
}
