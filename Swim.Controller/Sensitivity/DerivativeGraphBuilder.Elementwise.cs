using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

// Rules for activations, arithmetic with constants and inference-mode batch normalization.
public sealed partial class DerivativeGraphBuilder
{
    private void Activation(NodeProto node, string dy)
    {
        string x = node.Input[0];
        string y = node.Output[0];
        string dx = node.OpType switch
        {
            // relu(x) > 0 exactly where x > 0: reading the mask off the output leaves the pre-activation
            // unused, so ONNX Runtime can fuse the layer into its ReLU; the mask is shared by every pass.
            "Relu" => _reluMaskedByPool.Contains(y) ? dy : _g.Node("Where", [PositiveMask(y), dy, Scalar(0f)]),
            "LeakyRelu" => _g.Node("Where", [PositiveMask(x), dy, Scale(dy, Coefficient(FloatAttribute(node, "alpha", 0.01f)))]),
            "Clip" => ClipDerivative(node, dy),
            // The derivative of tanh is 1 - y^2, of the logistic sigmoid y (1 - y); OBD squares it (f'' is dropped).
            "Tanh" => _g.Node("Mul", [dy, Coefficient(_g.Node("Sub", [Scalar(1f), Square(y)]))]),
            "Sigmoid" => _g.Node("Mul", [dy, Coefficient(_g.Node("Mul", [y, _g.Node("Sub", [Scalar(1f), y])]))]),
            "HardSigmoid" => HardSigmoidDerivative(node, dy),
            // x relu6(x + 3) / 6: 0 below -3, 1 above 3, (2x + 3) / 6 between.
            "HardSwish" => _g.Node("Mul", [dy, Coefficient(_g.Node("Where", [_g.Node("Less", [x, Scalar(-3f)]), Scalar(0f),
                _g.Node("Where", [_g.Node("Greater", [x, Scalar(3f)]), Scalar(1f), _g.Node("Add", [_g.Node("Mul", [x, Scalar(1f / 3)]), Scalar(0.5f)])])]))]),
            // The derivative of ln(1 + e^x) is the logistic sigmoid of x.
            "Softplus" => _g.Node("Mul", [dy, Coefficient(_g.Node("Sigmoid", [x]))]),
            // d erf(x) / dx = 2 / sqrt(pi) exp(-x^2).
            "Erf" => _g.Node("Mul", [dy, Coefficient(Scale(_g.Node("Exp", [_g.Node("Neg", [Square(x)])]), (float)(2 / Math.Sqrt(Math.PI))))]),
            // The slope of a learned PReLU is a constant here (Swim scores the crossbar's weights, not the slopes).
            "PRelu" => _g.Node("Where", [PositiveMask(x), dy, _g.Node("Mul", [dy, Coefficient(ConstantInput(node, 1))])]),
            // d sqrt(x) = 1 / (2 sqrt(x)); d x^p = p x^(p - 1) for a constant exponent (squares, in normalisations).
            "Sqrt" => _g.Node("Mul", [dy, Coefficient(_g.Node("Div", [Scalar(0.5f), y]))]),
            "Pow" => PowDerivative(node, dy),
            _ => throw Unsupported(node, "not an activation"),
        };
        Contribute(x, dx);
    }

    /// <summary>max(0, min(1, alpha x + beta)) passes alpha strictly inside (0, 1).</summary>
    private string HardSigmoidDerivative(NodeProto node, string dy)
    {
        string y = node.Output[0];
        string inside = _g.Node("And", [_g.Node("Greater", [y, Scalar(0f)]), _g.Node("Less", [y, Scalar(1f)])]);
        return _g.Node("Where", [inside, Scale(dy, Coefficient(FloatAttribute(node, "alpha", 0.2f))), Scalar(0f)]);
    }

    /// <summary>p x^(p - 1) for a constant exponent p, taken as float whatever number type it is stored in.</summary>
    private string PowDerivative(NodeProto node, string dy)
    {
        const long Float = (long)Onnx.Schema.TensorProto.Types.DataType.Float;
        string p = ConstantInput(node, 1);
        if (_constants.TryGetValue(p, out Onnx.Schema.TensorProto? t) && t.DataType != Float)
        {
            p = _g.Node("Cast", [p], ("to", Float));
        }
        string slope = _g.Node("Mul", [p, _g.Node("Pow", [node.Input[0], _g.Node("Sub", [p, Scalar(1f)])])]);
        return _g.Node("Mul", [dy, Coefficient(slope)]);
    }

    /// <summary>A constant input by name, refused by name when the weights or the data compute it.</summary>
    private string ConstantInput(NodeProto node, int input) =>
        IsConstant(node.Input[input]) ? node.Input[input] : throw Unsupported(node, $"its input '{node.Input[input]}' is computed from the weights or the data; Swim differentiates it with that input constant only");

    private string PositiveMask(string value)
    {
        if (!_masks.TryGetValue(value, out string? mask))
        {
            _masks[value] = mask = _g.Node("Greater", [value, Scalar(0f)]);
        }
        return mask;
    }

    /// <summary>Clip passes the derivative strictly inside (min, max), as ReLU6/hardtanh do.</summary>
    private string ClipDerivative(NodeProto node, string dy)
    {
        string x = node.Input[0];
        string? inside = null;
        if (node.Input.Count > 1 && node.Input[1].Length > 0)
        {
            inside = _g.Node("Greater", [x, node.Input[1]]);
        }
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            string below = _g.Node("Less", [x, node.Input[2]]);
            inside = inside is null ? below : _g.Node("And", [inside, below]);
        }
        return inside is null ? dy : _g.Node("Where", [inside, dy, Scalar(0f)]);
    }

    private void Arithmetic(NodeProto node, string dy)
    {
        long[] sy = ShapeOf(node.Output[0]);
        switch (node.OpType)
        {
            case "Add" or "Sub":
                for (int i = 0; i < 2; i++)
                {
                    if (!Needs(node, i))
                    {
                        continue;
                    }
                    string input = node.Input[i];
                    string d = PerSampleWeight(input) && _dependsOnData.Contains(node.Output[0])
                        ? PerSampleSquaredReduceTo(dy, sy, ShapeOf(input))
                        : ReduceTo(dy, sy, ShapeOf(input));
                    // Subtraction negates the second operand's derivative; squared terms do not see the sign.
                    bool negate = node.OpType == "Sub" && i == 1 && _kind == PassKind.Gradient
                        || node.OpType == "Sub" && i == 1 && _kind == PassKind.PerSampleSquared && !IsWeightBranch(input);
                    Contribute(input, negate ? _g.Node("Neg", [d]) : d);
                }
                break;
            case "Mul" or "Div" when Needs(node, 0) && Needs(node, 1) || node.OpType == "Div" && Needs(node, 1):
                Product(node, dy, sy);
                break;
            case "Mul" or "Div":
                int variable = Needs(node, 0) ? 0 : 1;
                string constant = node.Input[1 - variable];
                string operand = node.Input[variable];
                long[] so = ShapeOf(operand);
                if (_kind == PassKind.PerSampleSquared && IsWeightBranch(operand) && !so.SequenceEqual(sy))
                {
                    throw Unsupported(node, "a weight scaled with broadcasting cannot be separated per sample for the ggn curvatures");
                }
                string factor = _kind == PassKind.PerSampleSquared && IsWeightBranch(operand) ? Square(constant) : Coefficient(constant);
                string scaled = _g.Node(node.OpType, [dy, factor]);
                Contribute(operand, ReduceTo(scaled, sy, so));
                break;
        }
    }

    /// <summary>
    /// A product or quotient of two computed values (SiLU's x sigmoid(x), a squeeze-excitation's channel gates, a
    /// normalisation's division by a computed deviation): each factor gets the derivative with the other held, the
    /// quotient's divisor -y / b. OBD carries each factor's path on its own (squared), as the node-by-node recursion does.
    /// </summary>
    private void Product(NodeProto node, string dy, long[] sy)
    {
        string a = node.Input[0], b = node.Input[1];
        if (_kind == PassKind.PerSampleSquared && (IsWeightBranch(a) || IsWeightBranch(b)))
        {
            throw Unsupported(node, "a weight multiplied by a computed value cannot be separated per sample for the ggn curvatures");
        }
        if (node.OpType == "Mul")
        {
            Contribute(a, ReduceTo(_g.Node("Mul", [dy, Coefficient(b)]), sy, ShapeOf(a)));
            Contribute(b, ReduceTo(_g.Node("Mul", [dy, Coefficient(a)]), sy, ShapeOf(b)));
            return;
        }
        if (Needs(node, 0))
        {
            Contribute(a, ReduceTo(_g.Node("Div", [dy, Coefficient(b)]), sy, ShapeOf(a)));
        }
        // d(a / b) / db = -(a / b) / b; squared terms do not see the sign.
        string towardsDivisor = _g.Node("Mul", [dy, Coefficient(_g.Node("Div", [node.Output[0], b]))]);
        Contribute(b, ReduceTo(_kind == PassKind.Curvature ? towardsDivisor : _g.Node("Neg", [towardsDivisor]), sy, ShapeOf(b)));
    }

    /// <summary>
    /// Layer normalization over the axes from <c>axis</c> on: y = s x^ + b with x^ = (x - mean) / sigma. Towards x the
    /// Jacobian is s_o / sigma (delta - 1/D - x^_o x^_e / D); the gradient applies it transposed, and OBD sums its
    /// squares against the curvature at y in closed form (the node's own Jacobian, as for every other operator).
    /// </summary>
    private void LayerNormalization(NodeProto node, string dy)
    {
        if (Needs(node, 1) || Needs(node, 2))
        {
            throw Unsupported(node, "its scale or bias is computed from the weights; Swim differentiates a layer norm with constant scale and bias");
        }
        if (!Needs(node, 0))
        {
            return;
        }
        string x = node.Input[0];
        long[] xs = ShapeOf(x);
        long axis = IntAttribute(node, "axis", -1);
        axis = axis < 0 ? axis + xs.Length : axis;
        if (axis == 0)
        {
            throw Unsupported(node, "it normalizes over the batch axis, so a sample's output depends on the other samples");
        }
        long[] axes = [.. Enumerable.Range((int)axis, xs.Length - (int)axis).Select(a => (long)a)];
        float count = Product(axes.Select(a => xs[a]));
        string Mean(string value) => _g.Node("ReduceMean", [value, _g.Ints("ln_axes", axes)], ("keepdims", 1L));
        string centred = _g.Node("Sub", [x, Mean(x)]);
        string sigma = _g.Node("Sqrt", [_g.Node("Add", [Mean(Square(centred)), Scalar(FloatAttribute(node, "epsilon", 1e-5f))])]);
        string normalized = _g.Node("Div", [centred, sigma]);
        string scale = node.Input[1];
        string dx;
        if (_kind == PassKind.Curvature)
        {
            // sum over o of u_o (delta_oe - 1/D - x^_o x^_e / D)^2, u = s^2 h, over sigma^2.
            string u = _g.Node("Mul", [dy, Square(scale)]);
            string s0 = Mean(u), s1 = Mean(_g.Node("Mul", [u, normalized])), s2 = Mean(_g.Node("Mul", [u, Square(normalized)]));
            string own = _g.Node("Mul", [u, _g.Node("Sub", [Scalar(1f), Scale(_g.Node("Add", [Scalar(1f), Square(normalized)]), 2f / count)])]);
            string shared = Scale(_g.Node("Add", [_g.Node("Add", [s0, Scale(_g.Node("Mul", [normalized, s1]), 2f)]), _g.Node("Mul", [Square(normalized), s2])]), 1f / count);
            dx = _g.Node("Div", [_g.Node("Add", [own, shared]), Square(sigma)]);
        }
        else
        {
            string scaled = _g.Node("Mul", [dy, scale]);
            string projected = _g.Node("Sub", [_g.Node("Sub", [scaled, Mean(scaled)]), _g.Node("Mul", [normalized, Mean(_g.Node("Mul", [scaled, normalized]))])]);
            dx = _g.Node("Div", [projected, sigma]);
        }
        Contribute(x, dx);
    }

    /// <summary>
    /// Inference-mode batch normalization is y = s x + t per channel, s = gamma / sqrt(var + eps); a model in training
    /// mode is refused when it is loaded.
    /// </summary>
    private void BatchNormalization(NodeProto node, string dy)
    {
        if (!Needs(node, 0))
        {
            return;
        }
        float epsilon = FloatAttribute(node, "epsilon", 1e-5f);
        float[] gamma = ConstantFloats(node, 1);
        float[] variance = ConstantFloats(node, 4);
        long[] xs = ShapeOf(node.Input[0]);
        var s = new float[gamma.Length];
        for (int c = 0; c < s.Length; c++)
        {
            double scale = gamma[c] / Math.Sqrt(variance[c] + (double)epsilon);
            s[c] = (float)(_kind == PassKind.Curvature ? scale * scale : scale);
        }
        long[] shape = [1, gamma.Length, .. Enumerable.Repeat(1L, xs.Length - 2)];
        Contribute(node.Input[0], _g.Node("Mul", [dy, _g.Initializer("bn_scale", shape, s)]));
    }
}
