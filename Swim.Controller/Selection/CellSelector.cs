using Swim.Controller.Mapping;
using Swim.Controller.Sensitivity;

namespace Swim.Controller.Selection;

/// <summary>
/// The one selection module that programming sessions and simulations share: ranks weights (or cells) by the
/// chosen method and returns which cells to write-verify for a global fraction p (not per layer, as SWIM does).
/// </summary>
public static class CellSelector
{
    /// <param name="cellVariance">The device's programming variance (uS^2) of a cell at its target; needed by uswim and cell-level.</param>
    /// <param name="measured">Every cell's conductance after open-loop programming (plan order); needed by posterior.</param>
    public static bool[] Select(SelectionMethod method, double fraction, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance = null, float[]? measured = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (fraction is < 0 or > 1 || double.IsNaN(fraction))
        {
            throw new SwimInputException($"the verified fraction must lie in [0, 1] (got {fraction}).");
        }
        int units = method == SelectionMethod.CellLevel ? plan.CellCount : checked((int)plan.WeightCount);
        int perUnit = method == SelectionMethod.CellLevel ? 1 : plan.Mapping.CellsPerWeight;
        var selected = new bool[plan.CellCount];
        foreach (int cell in Rank(method, plan, sensitivity, cellVariance, measured, seed).Take((int)Math.Round(fraction * units) * perUnit))
        {
            selected[cell] = true;
        }
        return selected;
    }

    /// <summary>
    /// Every cell, most deserving of write-verify first: whole weights (all their cells together) in the method's
    /// order, or single cells for cell-level. Verifying a prefix of this order is what a fraction or a device-time
    /// budget buys.
    /// </summary>
    public static int[] Rank(SelectionMethod method, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance = null, float[]? measured = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (method == SelectionMethod.CellLevel)
        {
            double[] cellScores = CellScores(plan, Require(sensitivity, method), cellVariance ?? throw new SwimInputException("cell-level selection needs the device's variance model."));
            return [.. Top(cellScores, plan.CellCount, null)];
        }
        (double[] scores, double[]? ties) = WeightScores(method, plan, sensitivity, cellVariance, measured, seed);
        int perWeight = plan.Mapping.CellsPerWeight;
        return [.. Top(scores, scores.Length, ties).SelectMany(weight => Enumerable.Range(weight * perWeight, perWeight))];
    }

    private static (double[] Scores, double[]? Ties) WeightScores(SelectionMethod method, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance, float[]? measured, int seed)
    {
        int count = checked((int)plan.WeightCount);
        var scores = new double[count];
        double[] magnitude = PerWeight(plan, (layer, e) => Math.Abs(plan.TargetWeights[layer][e]));
        switch (method)
        {
            case SelectionMethod.Magnitude:
                return (magnitude, null);
            case SelectionMethod.Random:
                var random = new Random(seed);
                for (int i = 0; i < count; i++)
                {
                    scores[i] = random.NextDouble();
                }
                return (scores, null);
            case SelectionMethod.Swim:
                return (PerWeight(plan, (layer, e) => Math.Abs(Layer(plan, Require(sensitivity, method), layer).Score![e])), magnitude);
            case SelectionMethod.Gradient:
                return (PerWeight(plan, (layer, e) =>
                {
                    ParameterSensitivity p = Layer(plan, Require(sensitivity, method), layer);
                    return Math.Abs(p.Gradient[e]) * p.FullScale;
                }), magnitude);
            case SelectionMethod.USwim:
                Func<int, double> variance = cellVariance ?? throw new SwimInputException("uswim needs the device's variance model.");
                return (PerWeight(plan, (layer, e) =>
                {
                    double h = Layer(plan, Require(sensitivity, method), layer).Curvature[e];
                    return Math.Abs(h) * WeightVariance(plan, (int)(plan.LayerStarts[layer] + e), variance);
                }), magnitude);
            case SelectionMethod.Posterior:
                float[] reads = measured ?? throw new SwimInputException("posterior selection needs every cell read after open-loop programming.");
                float[][] actual = plan.Decode(reads);
                return (PerWeight(plan, (layer, e) =>
                {
                    ParameterSensitivity p = Layer(plan, Require(sensitivity, method), layer);
                    double d = actual[layer][e] - plan.TargetWeights[layer][e];
                    // The first-order term counts as risk whatever its sign. Ranking by 1/2 h d^2 + g d leaves every
                    // error with g d < 0 unverified; tens of thousands of them then push together along -g, far beyond
                    // where the expansion holds, and the loss rises (measured: 59.8 % instead of 97.7 % on LeNet-5).
                    return 0.5 * p.Curvature[e] * d * d + Math.Abs(p.Gradient[e] * d);
                }), magnitude);
            default:
                throw new ArgumentOutOfRangeException(nameof(method));
        }
    }

    /// <summary>Expected squared weight error of a weight from its cells' variances and significances.</summary>
    private static double WeightVariance(CellPlan plan, int weight, Func<int, double> cellVariance)
    {
        int first = weight * plan.Mapping.CellsPerWeight;
        double sum = 0;
        for (int c = first; c < first + plan.Mapping.CellsPerWeight; c++)
        {
            double k = plan.WeightPerMicrosiemens(c);
            sum += k * k * cellVariance(c);
        }
        return sum;
    }

    private static double[] CellScores(CellPlan plan, SensitivityResult sensitivity, Func<int, double> cellVariance)
    {
        var scores = new double[plan.CellCount];
        int perWeight = plan.Mapping.CellsPerWeight;
        for (int c = 0; c < scores.Length; c++)
        {
            long weight = c / perWeight;
            int layer = plan.LayerOf(weight);
            double h = Layer(plan, sensitivity, layer).Curvature[weight - plan.LayerStarts[layer]];
            double k = plan.WeightPerMicrosiemens(c);
            scores[c] = Math.Abs(h) * k * k * cellVariance(c);
        }
        return scores;
    }

    private static double[] PerWeight(CellPlan plan, Func<int, int, double> score)
    {
        var scores = new double[plan.WeightCount];
        for (int layer = 0; layer < plan.Mapping.Weights.Count; layer++)
        {
            long start = plan.LayerStarts[layer];
            for (int e = 0; e < plan.LayerStarts[layer + 1] - start; e++)
            {
                scores[start + e] = score(layer, e);
            }
        }
        return scores;
    }

    private static ParameterSensitivity Layer(CellPlan plan, SensitivityResult sensitivity, int layer)
    {
        string name = plan.Mapping.Weights[layer].Name;
        return sensitivity.Parameters.FirstOrDefault(p => p.Parameter.Name == name)
            ?? throw new SwimInputException($"the sensitivity results have no entry for weight '{name}'; compute them for this model.");
    }

    private static SensitivityResult Require(SensitivityResult? sensitivity, SelectionMethod method) =>
        sensitivity ?? throw new SwimInputException($"{SelectionMethods.Name(method)} selection needs the sensitivity pass (give calibration data).");

    /// <summary>Indices of the <paramref name="count"/> largest scores, ties broken by <paramref name="ties"/> then index.</summary>
    private static IEnumerable<int> Top(double[] scores, int count, double[]? ties)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        Array.Sort(order, (a, b) =>
        {
            int c = scores[b].CompareTo(scores[a]);
            if (c == 0 && ties is not null)
            {
                c = ties[b].CompareTo(ties[a]);
            }
            return c != 0 ? c : a.CompareTo(b);
        });
        return order.Take(Math.Clamp(count, 0, scores.Length));
    }
}
