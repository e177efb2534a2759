using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>
/// A derivative graph whose parameter-only work (flipped, transposed and squared weights) is split off to run once
/// a pass: it must return what the whole graph returns, leave no such work in the batches, and refuse to run
/// without what the split-off work makes.
/// </summary>
public sealed class ParameterWorkTests
{
    private const int Samples = 5;

    public static TheoryData<string, CurvatureKind> Nets => new()
    {
        // A second conv of 32 channels in, 40 out, unstrided: its input derivative by the flipped, transposed kernel (squared for OBD).
        { "wide convs", CurvatureKind.Obd },
        { "wide convs", CurvatureKind.Ggn },
        // 32 channels in, 40 out on the data: the im2col weight derivative, no input derivative.
        { "wide conv", CurvatureKind.Obd },
        { "wide conv", CurvatureKind.GgnMonteCarlo },
        // Strided: ConvTranspose by the kernel itself, squared in the curvature pass.
        { "strided wide conv", CurvatureKind.Obd },
        { "gemm", CurvatureKind.Obd },
        { "shared weights", CurvatureKind.Obd },
        { "shared weights", CurvatureKind.Ggn },
        { "lenet", CurvatureKind.Obd },
    };

    private static (ModelProto Net, long[] Sample) Net(string name) => name switch
    {
        "wide conv" => (TestNets.Conv(4, 1, 1, 1, 1, inChannels: 32, outChannels: 40, size: 5), [32, 5, 5]),
        "wide convs" => (TestNets.WideConvPair(9), [32, 5, 5]),
        "strided wide conv" => (TestNets.Conv(5, 1, 2, 1, 1, inChannels: 32, outChannels: 40, size: 6), [32, 6, 6]),
        "gemm" => (TestNets.HiddenGemm(6, 0.8f, 1f), [6]),
        "shared weights" => (TestNets.SharedWeights(7), [2, 5, 5]),
        "lenet" => (TestNets.SmallLeNet(8), [1, 8, 8]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Nets))]
    public void A_split_graph_returns_what_the_whole_graph_returns(string net, CurvatureKind curvature)
    {
        (ModelProto proto, long[] sample) = Net(net);
        OnnxModel model = OnnxModel.FromBytes(proto.ToByteArray(), net, null);
        DerivativeGraph whole = DerivativeGraphBuilder.Build(model, sample, Samples, curvature);
        DerivativeGraph split = ParameterWork.Split(whole);
        Assert.NotNull(split.Preparation);
        Dictionary<string, float[]> parameters = whole.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        (float[] x, long[] labels) = Batch(sample, whole.Classes);

        DerivativeTotals expected = Run(whole, x, labels, parameters);
        DerivativeTotals actual = Run(split, x, labels, ParameterWork.Prepare(split, parameters));

        Assert.Equal(expected.LossSum, actual.LossSum, 1e-9);
        foreach (TrainableParameter p in whole.Parameters)
        {
            AssertClose(expected.Gradient[p.Name], actual.Gradient[p.Name], $"{p.Name} gradient");
            AssertClose(expected.Curvature[p.Name], actual.Curvature[p.Name], $"{p.Name} curvature");
        }
    }

    [Fact]
    public void The_batches_read_the_flipped_kernel_and_its_square_as_inputs_and_do_no_work_on_parameters_alone()
    {
        (ModelProto proto, long[] sample) = Net("wide convs");
        OnnxModel model = OnnxModel.FromBytes(proto.ToByteArray(), "wide convs", null);
        DerivativeGraph split = ParameterWork.Split(DerivativeGraphBuilder.Build(model, sample, Samples, CurvatureKind.Obd));

        // The second kernel is [40 out, 32 in, 3, 3]; the input derivative convolves by it flipped and transposed, [32, 40, 3, 3],
        // once in the gradient pass and once squared in the curvature pass.
        Assert.Equal(2, split.PreparedInputs.Count(i => i.Dims.SequenceEqual([32L, 40, 3, 3])));
        GraphProto batches = split.Model.Graph;
        foreach (PreparedInput input in split.PreparedInputs)
        {
            Assert.Contains(batches.Input, i => i.Name == input.Name);
            Assert.Contains(split.Preparation!.Graph.Output, o => o.Name == input.Name);
        }
        // No node of the batches' graph reads parameters and constants alone.
        var fixedValues = new HashSet<string>(split.Parameters.Select(p => p.Name).Concat(split.PreparedInputs.Select(i => i.Name)), StringComparer.Ordinal);
        var constants = new HashSet<string>(batches.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        Assert.DoesNotContain(batches.Node, n => n.Input.Any(fixedValues.Contains) && n.Input.All(i => i.Length == 0 || fixedValues.Contains(i) || constants.Contains(i))
            && !n.Output.Any(o => batches.Output.Any(g => g.Name == o)));
    }

    [Fact]
    public void A_session_of_a_split_graph_asks_for_the_prepared_values()
    {
        (ModelProto proto, long[] sample) = Net("wide conv");
        OnnxModel model = OnnxModel.FromBytes(proto.ToByteArray(), "wide conv", null);
        DerivativeGraph split = ParameterWork.Split(DerivativeGraphBuilder.Build(model, sample, Samples, CurvatureKind.Obd));
        Dictionary<string, float[]> parameters = split.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        (float[] x, long[] labels) = Batch(sample, split.Classes);

        var error = Assert.Throws<ArgumentException>(() => Run(split, x, labels, parameters));

        Assert.Contains("ParameterWork.Prepare", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_without_parameter_work_and_a_split_graph_are_returned_as_they_are()
    {
        // One Gemm on the data, gradients only: its weight's derivative reads the data, and no input derivative is needed.
        OnnxModel single = OnnxModel.FromBytes(TestNets.Gemm(1, false, true, 1f, 1f, false).ToByteArray(), "gemm", null);
        DerivativeGraph plain = DerivativeGraphBuilder.Build(single, [6], Samples, CurvatureKind.None);
        Assert.Same(plain, ParameterWork.Split(plain));
        Dictionary<string, float[]> parameters = plain.Parameters.ToDictionary(p => p.Name, p => single.ReadWeights(p.Name), StringComparer.Ordinal);
        Assert.Same(parameters, ParameterWork.Prepare(plain, parameters));

        (ModelProto proto, long[] sample) = Net("wide conv");
        OnnxModel model = OnnxModel.FromBytes(proto.ToByteArray(), "wide conv", null);
        DerivativeGraph split = ParameterWork.Split(DerivativeGraphBuilder.Build(model, sample, Samples, CurvatureKind.Obd));
        Assert.Same(split, ParameterWork.Split(split));
    }

    private static (float[] X, long[] Labels) Batch(long[] sample, int classes)
    {
        var random = new Random(3);
        long size = sample.Aggregate(1L, (a, d) => a * d);
        float[] x = [.. Enumerable.Range(0, (int)(Samples * size)).Select(_ => (float)TestNets.Gaussian(random))];
        long[] labels = [.. Enumerable.Range(0, Samples).Select(_ => (long)random.Next(classes))];
        return (x, labels);
    }

    private static DerivativeTotals Run(DerivativeGraph graph, float[] x, long[] labels, IReadOnlyDictionary<string, float[]> parameters)
    {
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true);
        session.Accumulate(x, labels, Samples, parameters, totals, new Random(11));
        return totals;
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * scale + 1e-30, $"{what}[{i}]: {actual[i]} against {expected[i]}");
        }
    }
}
