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
        _x = Enumerable.Range(0, (int)(count * size)).Select(_ => (float)TestNets.Gaussian(random)).ToArray();
        _labels = Enumerable.Range(0, count).Select(_ => (long)random.Next(classes)).ToArray();
        Parameters = TrainableParameter.Find(Model).ToDictionary(p => p.Name, p => Model.ReadWeights(p.Name), StringComparer.Ordinal);
        _gradients = new DerivativeSession(DerivativeGraphBuilder.Build(Model, sampleShape, count, CurvatureKind.None));
    }

    public OnnxModel Model { get; }

    public long[] SampleShape { get; }

    public Dictionary<string, float[]> Parameters { get; }

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
    /// Checks every parameter's gradient against (L(w + e) - L(w - e)) / 2e, e = 1e-3. The loss is a float32
    /// sum of about ten: rounding moves the quotient by about 5e-4, so the tolerance is 2e-3 absolute plus 1 %
    /// relative. Where the two one-sided slopes disagree by more than 1e-2 plus 5 %, or the central differences
    /// over e and e/2 by more than 2e-3 plus 0.5 %, the step crossed a kink (ReLU, Clip, a max-pool switch) and
    /// no derivative exists to compare: such elements are skipped, and the check fails if more than a fifth
    /// of them are.
    /// </summary>
    public void AssertGradientsMatchFiniteDifferences(float step = 1e-3f)
    {
        DerivativeTotals analytic = Run(CurvatureKind.None);
        double center = Run(_gradients, Parameters).LossSum;
        int checkedCount = 0;
        int kinks = 0;
        foreach ((string name, float[] values) in Parameters)
        {
            foreach (int i in Sample(values.Length))
            {
                double plus = Perturbed(name, i, step).LossSum;
                double minus = Perturbed(name, i, -step).LossSum;
                double numeric = (plus - minus) / (2 * step);
                double half = (Perturbed(name, i, step / 2).LossSum - Perturbed(name, i, -step / 2).LossSum) / step;
                if (IsKink((plus - center) / step, (center - minus) / step, numeric, ref kinks))
                {
                    continue;
                }
                if (Math.Abs(half - numeric) > 2e-3 + 5e-3 * Math.Abs(numeric))
                {
                    // Central differences over e and e/2 agree to O(e^2) on a smooth loss; they part at a kink.
                    kinks++;
                    continue;
                }
                checkedCount++;
                double actual = analytic.Gradient[name][i];
                Assert.True(Math.Abs(numeric - actual) <= 2e-3 + 1e-2 * Math.Abs(numeric),
                    $"gradient of {name}[{i}]: graph {actual:G6}, finite difference {numeric:G6}");
            }
        }
        Assert.True(kinks * 5 <= checkedCount + kinks, $"{kinks} of {checkedCount + kinks} checks straddled a kink; use a smaller step or other data.");
    }

    /// <summary>
    /// Checks a curvature diagonal against (g(w + e) - g(w - e)) / 2e at the same element: the exact second
    /// derivative, e = 2e-4, small because a conv weight feeds hundreds of ReLUs. Tolerance: 5e-3 absolute
    /// plus 2 % relative (float32 gradients of about one, differenced over 4e-4, lose about 1e-3). A kink makes
    /// the gradient jump, which the one-sided slopes show at once; such elements are skipped as for gradients.
    /// </summary>
    public void AssertCurvatureMatchesFiniteDifferences(CurvatureKind kind, float step = 2e-4f, IEnumerable<string>? only = null)
    {
        DerivativeTotals analytic = Run(kind);
        DerivativeTotals center = Run(_gradients, Parameters);
        int checkedCount = 0;
        int kinks = 0;
        foreach ((string name, float[] values) in Parameters)
        {
            if (only is not null && !only.Contains(name))
            {
                continue;
            }
            foreach (int i in Sample(values.Length, 12))
            {
                double plus = Perturbed(name, i, step).Gradient[name][i];
                double minus = Perturbed(name, i, -step).Gradient[name][i];
                double mid = center.Gradient[name][i];
                double numeric = (plus - minus) / (2 * step);
                if (IsKink((plus - mid) / step, (mid - minus) / step, numeric, ref kinks))
                {
                    continue;
                }
                checkedCount++;
                double actual = analytic.Curvature[name][i];
                Assert.True(Math.Abs(numeric - actual) <= 5e-3 + 2e-2 * Math.Abs(numeric),
                    $"{kind} curvature of {name}[{i}]: graph {actual:G6}, finite difference of gradients {numeric:G6}");
            }
        }
        Assert.True(kinks * 5 <= checkedCount + kinks, $"{kinks} of {checkedCount + kinks} checks straddled a kink; use a smaller step or other data.");
    }

    private static bool IsKink(double right, double left, double central, ref int kinks)
    {
        if (Math.Abs(right - left) <= 1e-2 + 0.05 * Math.Abs(central))
        {
            return false;
        }
        kinks++;
        return true;
    }

    public void Dispose() => _gradients.Dispose();
}
