using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>
/// The OBD diagonal of every operator family's net against <see cref="ProbedObd"/>, which measures each node's
/// Jacobian on ONNX Runtime and knows no derivative rule. Finite differences of gradients check OBD only where
/// it is the exact Hessian (a single layer); these nets put every operator between a weight and the loss.
/// Tolerance: 1e-3 of each tensor's largest entry (float32 central differences with a 1e-3 step).
/// </summary>
public sealed class ProbedObdTests
{
    public static TheoryData<string> Nets => [.. All.Keys];

    private static readonly Dictionary<string, (Func<ModelProto> Build, long[] Sample)> All = new()
    {
        ["gemm with alpha and beta after a hidden layer"] = (() => TestNets.HiddenGemm(41, alpha: 0.7f, beta: 1.3f), [6]),
        ["matmul batched"] = (() => TestNets.MatMulBatched(42, "Tanh"), [3, 4]),
        ["matmul weight on the left"] = (() => TestNets.MatMulWeightOnLeft(43, "Tanh"), [4, 3]),
        ["conv group 2 stride 2 pad 1 dilation 2"] = (() => TestNets.Conv(44, 2, 2, 1, 2, activation: "Tanh"), [4, 7, 7]),
        ["conv same upper"] = (() => TestNets.Conv(45, 1, 2, 0, 1, "SAME_UPPER", activation: "Tanh"), [4, 7, 7]),
        // 32 channels: the weight's curvature from im2col columns, an unstrided input's by the flipped kernel.
        ["wide conv stride 2 pad 1 dilation 2"] = (() => TestNets.Conv(48, 1, 2, 1, 2, activation: "Tanh", inChannels: 32, outChannels: 32, size: 6), [32, 6, 6]),
        ["wide conv stride 1 pad 2 dilation 2"] = (() => TestNets.Conv(49, 1, 1, 2, 2, activation: "Tanh", inChannels: 32, outChannels: 32, size: 6), [32, 6, 6]),
        ["wide conv stride 1 pad 0"] = (() => TestNets.Conv(50, 1, 1, 0, 1, activation: "Tanh", inChannels: 32, outChannels: 32, size: 6), [32, 6, 6]),
        ["leaky relu"] = (() => TestNets.Activation(46, "LeakyRelu"), [5]),
        ["clip"] = (() => TestNets.Activation(46, "Clip"), [5]),
        ["sigmoid"] = (() => TestNets.Activation(46, "Sigmoid"), [5]),
        ["max pool overlapping"] = (() => TestNets.Pooling(47, "MaxPool", "Tanh"), [2, 7, 7]),
        ["max pool asymmetric pads"] = (() => TestNets.Pooling(47, "MaxPoolPadded", "Tanh"), [2, 7, 7]),
        ["max pool tiling"] = (() => TestNets.Pooling(47, "MaxPoolTiling", "Tanh"), [2, 7, 7]),
        // With ReLU, whose mask is read off the pooled values when the pool is its only reader (and not otherwise).
        ["relu, max pool tiling"] = (() => TestNets.Pooling(47, "MaxPoolTiling"), [2, 7, 7]),
        ["relu, max pool overlapping"] = (() => TestNets.Pooling(47, "MaxPool"), [2, 7, 7]),
        ["relu read by a max pool and a skip"] = (() => TestNets.Pooling(47, "MaxPoolAndSkip"), [2, 7, 7]),
        ["max pool dilated"] = (() => TestNets.Pooling(47, "MaxPoolDilated", "Tanh"), [2, 7, 7]),
        ["average pool"] = (() => TestNets.Pooling(47, "AveragePool", "Tanh"), [2, 7, 7]),
        ["average pool counting pads"] = (() => TestNets.Pooling(47, "AveragePoolIncludePad", "Tanh"), [2, 7, 7]),
        ["global average pool"] = (() => TestNets.Pooling(47, "GlobalAveragePool", "Tanh"), [2, 7, 7]),
        ["reduce mean over the feature map"] = (() => TestNets.Pooling(47, "ReduceMean", "Tanh"), [2, 7, 7]),
        ["reduce mean over rows, kept"] = (() => TestNets.Pooling(47, "ReduceMeanRows", "Tanh"), [2, 7, 7]),
        ["hard swish"] = (() => TestNets.Activation(46, "HardSwish"), [5]),
        ["prelu"] = (() => TestNets.Activation(46, "PRelu"), [5]),
        ["silu, a product of two computed values"] = (() => TestNets.Activation(46, "Silu"), [5]),
        ["layer norm written out: reduce mean, pow, sqrt, division by a computed value"] = (() => TestNets.Activation(46, "LayerNormDecomposed"), [5]),
        ["layer normalization as one operator"] = (() => TestNets.Activation(46, "LayerNormalization"), [5]),
        ["layer normalization, default axis and epsilon"] = (() => TestNets.Activation(46, "LayerNormDefaults"), [5]),
        ["squeeze excitation, a broadcast product"] = (() => TestNets.Pooling(47, "SqueezeExcite", "Tanh"), [2, 7, 7]),
        ["batch normalization"] = (() => TestNets.BatchNorm(48, "Tanh"), [2, 5, 5]),
        ["shape operators"] = (() => TestNets.ShapeOps(49, activation: "Tanh"), [1, 4, 4]),
        ["concat, residual add, arithmetic"] = (() => TestNets.ConcatResidual(50, "Tanh"), [3, 5, 5]),
        ["small lenet"] = (() => TestNets.SmallLeNet(51), [1, 8, 8]),
    };

    [Theory]
    [MemberData(nameof(Nets))]
    public void Obd_matches_the_definition_with_measured_jacobians(string net)
    {
        (Func<ModelProto> build, long[] sample) = All[net];
        OnnxModel model = OnnxModel.FromBytes(build().ToByteArray(), net, null);
        const int Samples = 3;
        var random = new Random(52);
        int size = (int)sample.Aggregate(1L, (a, d) => a * d);
        float[] x = [.. Enumerable.Range(0, Samples * size).Select(_ => (float)TestNets.Gaussian(random))];
        long classes = model.Outputs[0].Type.TensorType.Shape.Dim[1].DimValue;
        long[] labels = [.. Enumerable.Range(0, Samples).Select(_ => (long)random.Next((int)classes))];

        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, sample, Samples, CurvatureKind.Obd);
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name));
        session.Accumulate(x, labels, Samples, parameters, totals);

        Dictionary<string, double[]> expected = ProbedObd.Compute(model, x, sample, graph.Parameters.Select(p => p.Name).ToHashSet());
        foreach (TrainableParameter p in graph.Parameters)
        {
            double[] reference = expected[p.Name];
            float[] actual = totals.Mean(totals.Curvature, p.Name);
            double scale = reference.Max(Math.Abs);
            Assert.True(scale > 0, $"{net}: the probed OBD of {p.Name} is all zero");
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(reference[i] - actual[i]) <= 1e-3 * scale,
                    $"{net}: OBD of {p.Name}[{i}]: measured {reference[i]:G6}, graph {actual[i]:G6}");
            }
        }
    }
}
