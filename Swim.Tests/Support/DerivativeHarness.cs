using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;

namespace Swim.Tests.Support;

/// <summary>
/// Runs derivative graphs on a fixed batch and checks them against central finite differences of the ONNX
/// Runtime loss (for gradients) and of the graph's own gradients (for second derivatives).
/// </summary>
public sealed class DerivativeHarness : IDisposable
{
    private readonly DerivativeSession _gradients;
    private readonly float[] _x;
    private readonly long[] _labels;
    private readonly int _count;

    public DerivativeHarness(ModelProto model, long[] sampleShape, int count, int seed, int classes)
    {
        Model = OnnxModel.FromBytes(model.ToByteArray(), "test model", null);
        SampleShape = sampleShape;
        _count = count;
        var random = new Random(seed);
        long size = sampleShape.Aggregate(1L, (a, d) => a * d);
        _x = Enumerable.Range(0, (int)(count * size)).Select(_ => (float)Gaussian(random)).ToArray();
        _labels = Enumerable.Range(0, count).Select(_ => (long)random.Next(classes)).ToArray();
        Parameters = TrainableParameter.Find(Model).ToDictionary(p => p.Name, p => Model.ReadWeights(p.Name), StringComparer.Ordinal);
        _gradients = new DerivativeSession(DerivativeGraphBuilder.Build(Model, sampleShape, count, CurvatureKind.None));
    }

    public OnnxModel Model { get; }

    public long[] SampleShape { get; }

    public Dictionary<string, float[]> Parameters { get; }

    public static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public DerivativeTotals Run(CurvatureKind kind, int seed = 1)
    {
        using var session = new DerivativeSession(DerivativeGraphBuilder.Build(Model, SampleShape, _count, kind));
        return Run(session, Parameters, seed);
    }

    private DerivativeTotals Run(DerivativeSession session, Dictionary<string, float[]> parameters, int seed = 1)
    {
        var totals = new DerivativeTotals(session.Graph.Parameters, session.Graph.Curvature != CurvatureKind.None);
        session.Accumulate(_x, _labels, _count, parameters, totals, new Random(seed));
        return totals;
    }

    /// <summary>Loss sum with element <paramref name="index"/> of <paramref name="parameter"/> moved by <paramref name="delta"/>.</summary>
    public DerivativeTotals Perturbed(string parameter, int index, float delta)
    {
        var moved = Parameters.ToDictionary(p => p.Key, p => (float[])p.Value.Clone(), StringComparer.Ordinal);
        moved[parameter][index] += delta;
        return Run(_gradients, moved);
    }

    /// <summary>Indices to check: all of a small parameter, an even spread of a large one.</summary>
    public static IEnumerable<int> Sample(int length, int most = 24)
    {
        int step = Math.Max(1, length / most);
        for (int i = 0; i < length; i += step)
        {
            yield return i;
        }
    }

    /// <summary>
    /// Checks every parameter's gradient against (L(w + e) - L(w - e)) / 2e. The loss is a float32 sum; with
    /// e = 1e-2 the rounding error is about 1e-6 / 1e-2 and the truncation error e^2 L''' / 6: together well
    /// under the stated tolerance of 2e-3 absolute plus 1 % relative.
    /// </summary>
    public void AssertGradientsMatchFiniteDifferences(float step = 1e-2f)
    {
        DerivativeTotals analytic = Run(CurvatureKind.None);
        foreach ((string name, float[] values) in Parameters)
        {
            foreach (int i in Sample(values.Length))
            {
                double numeric = (Perturbed(name, i, step).LossSum - Perturbed(name, i, -step).LossSum) / (2 * step);
                double actual = analytic.Gradient[name][i];
                Assert.True(Math.Abs(numeric - actual) <= 2e-3 + 1e-2 * Math.Abs(numeric),
                    $"gradient of {name}[{i}]: graph {actual:G6}, finite difference {numeric:G6}");
            }
        }
    }

    /// <summary>
    /// Checks a curvature diagonal against (g(w + e) - g(w - e)) / 2e at the same element: the exact second
    /// derivative. Tolerance: 5e-3 absolute plus 2 % relative (float32 gradients differenced over 2e = 2e-2).
    /// </summary>
    public void AssertCurvatureMatchesFiniteDifferences(CurvatureKind kind, float step = 1e-2f, IEnumerable<string>? only = null)
    {
        DerivativeTotals analytic = Run(kind);
        foreach ((string name, float[] values) in Parameters)
        {
            if (only is not null && !only.Contains(name))
            {
                continue;
            }
            foreach (int i in Sample(values.Length, 12))
            {
                double numeric = (Perturbed(name, i, step).Gradient[name][i] - Perturbed(name, i, -step).Gradient[name][i]) / (2 * step);
                double actual = analytic.Curvature[name][i];
                Assert.True(Math.Abs(numeric - actual) <= 5e-3 + 2e-2 * Math.Abs(numeric),
                    $"{kind} curvature of {name}[{i}]: graph {actual:G6}, finite difference of gradients {numeric:G6}");
            }
        }
    }

    public void Dispose() => _gradients.Dispose();
}
