using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>
/// The derivative graph against an independent loop-by-loop implementation (<see cref="ReferenceLeNet"/>) of
/// the same network with ReLU, max and average pooling: no finite differences, so no kinks; the only gap is
/// float32 arithmetic in ONNX Runtime, hence a relative tolerance of 1e-4 (plus 1e-6 absolute).
/// </summary>
public sealed class ReferenceImplementationTests
{
    [Theory]
    [InlineData(CurvatureKind.Obd)]
    [InlineData(CurvatureKind.Ggn)]
    public void Small_lenet_matches_an_independent_implementation(CurvatureKind kind)
    {
        OnnxModel model = OnnxModel.FromBytes(TestNets.SmallLeNet(21).ToByteArray(), "small lenet", null);
        var random = new Random(22);
        const int Samples = 10;
        float[] x = Enumerable.Range(0, Samples * 64).Select(_ => (float)TestNets.Gaussian(random)).ToArray();
        long[] labels = Enumerable.Range(0, Samples).Select(_ => (long)random.Next(3)).ToArray();
        var reference = new ReferenceLeNet(model);
        reference.Run(x, labels);

        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, [1, 8, 8], 4, kind);
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name));
        for (int start = 0; start < Samples; start += 4)
        {
            int count = Math.Min(4, Samples - start);
            session.Accumulate(x.AsSpan(start * 64, count * 64), labels.AsSpan(start, count), count, parameters, totals);
        }

        Assert.Equal(reference.Loss, totals.LossSum, 1e-4 * reference.Loss);
        Dictionary<string, double[]> expectedCurvature = kind == CurvatureKind.Obd ? reference.Obd : reference.Ggn;
        foreach (TrainableParameter p in graph.Parameters)
        {
            AssertClose(reference.Gradient[p.Name], totals.Gradient[p.Name], $"gradient of {p.Name}");
            AssertClose(expectedCurvature[p.Name], totals.Curvature[p.Name], $"{kind} of {p.Name}");
        }
    }

    [Fact]
    public void Obd_and_ggn_differ_on_shared_conv_weights_as_the_method_says()
    {
        // OBD squares before summing over the positions that share a conv weight; the exact diagonal does not.
        OnnxModel model = OnnxModel.FromBytes(TestNets.SmallLeNet(21).ToByteArray(), "small lenet", null);
        var reference = new ReferenceLeNet(model);
        var random = new Random(3);
        reference.Run(Enumerable.Range(0, 4 * 64).Select(_ => (float)TestNets.Gaussian(random)).ToArray(), [0, 1, 2, 0]);

        double relativeGap = reference.Obd["c1.weight"].Zip(reference.Ggn["c1.weight"]).Sum(p => Math.Abs(p.First - p.Second))
            / reference.Ggn["c1.weight"].Sum();
        Assert.True(relativeGap > 0.05, $"OBD and GGN agree to {relativeGap:P2} on a shared conv weight");
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 + 1e-4 * Math.Max(Math.Abs(expected[i]), 1e-2 * scale),
                $"{what}[{i}]: reference {expected[i]:G8}, graph {actual[i]:G8}");
        }
    }
}
