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
    /// <param name="stateSigmaRatio">uswim-paper's s: the device's middle-state programming std over its outer states'.</param>
    public static bool[] Select(SelectionMethod method, double fraction, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance = null, float[]? measured = null, int seed = 0, double stateSigmaRatio = 1, SelectionCost cost = SelectionCost.Count,
        BenchCost? bench = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        int take = method == SelectionMethod.CellLevel ? CellCount(fraction, plan.CellCount)
            : WeightCount(method, fraction, WeightLayers.Of(plan), sensitivity, stateSigmaRatio) * plan.Mapping.CellsPerWeight;
        var selected = new bool[plan.CellCount];
        foreach (int cell in Rank(method, plan, sensitivity, cellVariance, measured, seed, stateSigmaRatio, cost, bench).Take(take))
        {
            selected[cell] = true;
        }
        return selected;
    }

    /// <summary>
    /// How many whole weights a verified fraction buys: the nearest whole number of weights, or for uswim-paper as
    /// many as its authors' quantile threshold lets through (<see cref="UswimPaperScore.SelectedCount"/>).
    /// </summary>
    public static int WeightCount(SelectionMethod method, double fraction, WeightLayers layers, SensitivityResult? sensitivity, double stateSigmaRatio = 1)
    {
        ArgumentNullException.ThrowIfNull(layers);
        CheckFraction(fraction);
        return method == SelectionMethod.USwimPaper
            ? UswimPaperScore.SelectedCount(UswimPaperScore.Scores(layers, Require(sensitivity, method), stateSigmaRatio), fraction)
            : (int)Math.Round(fraction * layers.WeightCount);
    }

    /// <summary>How many single cells a verified fraction buys (cell-level).</summary>
    public static int CellCount(double fraction, long cells)
    {
        CheckFraction(fraction);
        return (int)Math.Round(fraction * cells);
    }

    private static void CheckFraction(double fraction)
    {
        if (fraction is < 0 or > 1 || double.IsNaN(fraction))
        {
            throw new SwimInputException($"the verified fraction must lie in [0, 1] (got {fraction}).");
        }
    }

    /// <summary>
    /// Every cell, most deserving of write-verify first: whole weights (all their cells together) in the method's
    /// order, or single cells for cell-level. Verifying a prefix of this order is what a fraction or a device-time
    /// budget buys.
    /// </summary>
    /// <param name="bench">What a row pass and a cell's link bytes cost, for <see cref="SelectionCost.Bench"/>.</param>
    public static int[] Rank(SelectionMethod method, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance = null, float[]? measured = null, int seed = 0, double stateSigmaRatio = 1, SelectionCost cost = SelectionCost.Count,
        BenchCost? bench = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (cost == SelectionCost.RowParallel)
        {
            return ByRows(CellScores(method, plan, sensitivity, cellVariance, measured, seed, stateSigmaRatio), plan);
        }
        if (cost == SelectionCost.Bench)
        {
            return ByBenchCost(CellScores(method, plan, sensitivity, cellVariance, measured, seed, stateSigmaRatio), plan,
                bench ?? throw new ArgumentNullException(nameof(bench), "selection by bench time needs the board's row pass and link costs."));
        }
        if (method == SelectionMethod.CellLevel)
        {
            double[] scores = CellScores(method, plan, sensitivity, cellVariance);
            return Top(scores, scores.Length, null);
        }
        WeightLayers layers = WeightLayers.Of(plan);
        int perWeight = plan.Mapping.CellsPerWeight;
        Func<long, double>? weightVariance = cellVariance is null ? null : weight => WeightVariance(plan, (int)weight, cellVariance);
        int[] weights = RankWeights(method, layers, sensitivity, weightVariance, measured is null ? null : plan.Decode(measured), seed, stateSigmaRatio);
        return [.. weights.SelectMany(weight => Enumerable.Range(weight * perWeight, perWeight))];
    }

    /// <summary>
    /// Every weight (global index, layer by layer), most deserving of write-verify first: the weight-level methods
    /// on any representation of the weights, cells on a board or the authors' abstract devices alike.
    /// </summary>
    /// <param name="weightVariance">Each weight's expected squared programming error (weight units); needed by uswim.</param>
    /// <param name="measuredWeights">Each layer's weights as measured after open-loop programming; needed by posterior.</param>
    /// <param name="stateSigmaRatio">uswim-paper's s: the device's middle-state programming std over its outer states'.</param>
    public static int[] RankWeights(SelectionMethod method, WeightLayers layers, SensitivityResult? sensitivity,
        Func<long, double>? weightVariance = null, float[][]? measuredWeights = null, int seed = 0, double stateSigmaRatio = 1)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (method == SelectionMethod.CellLevel)
        {
            throw new ArgumentException("cell-level ranks cells, not weights; use RankCells.", nameof(method));
        }
        (double[] scores, double[]? ties) = method == SelectionMethod.USwimPaper
            ? (UswimPaperScore.Scores(layers, Require(sensitivity, method), stateSigmaRatio), null)
            : WeightScores(method, layers, sensitivity, weightVariance, measuredWeights, seed);
        return Top(scores, scores.Length, ties);
    }

    /// <summary>
    /// Every cell (weight * cellsPerWeight + cell), most deserving first: |h| of its weight times the weight error
    /// the cell's own variation causes, <paramref name="weightErrorVariance"/>(weight, cell) in weight units squared.
    /// </summary>
    public static int[] RankCells(WeightLayers layers, SensitivityResult? sensitivity, int cellsPerWeight, Func<long, int, double> weightErrorVariance)
    {
        double[] scores = ScoreCells(layers, sensitivity, cellsPerWeight, weightErrorVariance);
        return Top(scores, scores.Length, null);
    }

    private static double[] ScoreCells(WeightLayers layers, SensitivityResult? sensitivity, int cellsPerWeight, Func<long, int, double> weightErrorVariance)
    {
        SensitivityResult derivatives = Require(sensitivity, SelectionMethod.CellLevel);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(weightErrorVariance);
        var scores = new double[checked((int)(layers.WeightCount * cellsPerWeight))];
        for (int layer = 0; layer < layers.Count; layer++)
        {
            float[] curvature = Layer(layers, derivatives, layer).Curvature;
            long start = layers.Starts[layer];
            for (int e = 0; e < curvature.Length; e++)
            {
                for (int c = 0; c < cellsPerWeight; c++)
                {
                    scores[(start + e) * cellsPerWeight + c] = Math.Abs(curvature[e]) * weightErrorVariance(start + e, c);
                }
            }
        }
        return scores;
    }

    /// <summary>
    /// Every cell's score under the method, the number its ranking orders by: the weight's score on each of its cells for
    /// the weight-level methods, the cell's own for cell-level.
    /// </summary>
    public static double[] CellScores(SelectionMethod method, CellPlan plan, SensitivityResult? sensitivity,
        Func<int, double>? cellVariance = null, float[]? measured = null, int seed = 0, double stateSigmaRatio = 1)
    {
        ArgumentNullException.ThrowIfNull(plan);
        WeightLayers layers = WeightLayers.Of(plan);
        int perWeight = plan.Mapping.CellsPerWeight;
        if (method == SelectionMethod.CellLevel)
        {
            Func<int, double> variance = cellVariance ?? throw new SwimInputException("cell-level selection needs the device's variance model.");
            return ScoreCells(layers, Require(sensitivity, method), perWeight, (weight, digit) =>
            {
                int cell = (int)(weight * perWeight + digit);
                double k = plan.WeightPerMicrosiemens(cell);
                return k * k * variance(cell);
            });
        }
        Func<long, double>? weightVariance = cellVariance is null ? null : weight => WeightVariance(plan, (int)weight, cellVariance);
        double[] weights = method == SelectionMethod.USwimPaper
            ? UswimPaperScore.Scores(layers, Require(sensitivity, method), stateSigmaRatio)
            : WeightScores(method, layers, sensitivity, weightVariance, measured is null ? null : plan.Decode(measured), seed).Scores;
        var cells = new double[plan.CellCount];
        for (int c = 0; c < cells.Length; c++)
        {
            cells[c] = weights[c / perWeight];
        }
        return cells;
    }

    /// <summary>
    /// Cells regrouped for an array that verifies a row at a time (the row-parallel time model: a row pass lasts as long
    /// as its slowest cell, so it costs about the same for one selected cell as for all of the row's). Rows come in order
    /// of the score they hold, most first, each row's cells together, best first: a prefix buys the most score for the
    /// fewest row passes. Greedy by score per pass, which is the exact order when every pass costs the same.
    /// </summary>
    public static int[] ByRows(double[] cellScores, CellPlan plan)
    {
        ArgumentNullException.ThrowIfNull(cellScores);
        ArgumentNullException.ThrowIfNull(plan);
        var rowOf = new long[plan.CellCount];
        var rowScore = new Dictionary<long, double>();
        for (int c = 0; c < plan.CellCount; c++)
        {
            rowOf[c] = plan.RowOf(c);
            rowScore[rowOf[c]] = rowScore.GetValueOrDefault(rowOf[c]) + Math.Max(0, cellScores[c]);
        }
        var order = Enumerable.Range(0, plan.CellCount).ToArray();
        Array.Sort(order, (a, b) =>
        {
            int c = rowScore[rowOf[b]].CompareTo(rowScore[rowOf[a]]);
            c = c != 0 ? c : rowOf[a].CompareTo(rowOf[b]);
            c = c != 0 ? c : cellScores[b].CompareTo(cellScores[a]);
            return c != 0 ? c : a.CompareTo(b);
        });
        return order;
    }

    /// <summary>
    /// Cells in order of score per marginal second of bench time: the first cell taken from a row pays for the row's
    /// pass, every cell its link bytes. A row not yet opened offers its best prefix (its top k cells, the k that gives
    /// the most score per second, pass included); an opened row offers its next cell alone. The offer with the most
    /// score per second goes next. This is the greedy of a knapsack with a fixed charge per row: it gives the exact order
    /// when passes cost nothing (every cell by score) and when cells cost nothing (whole rows, as <see cref="ByRows"/>);
    /// between the two it is a heuristic, since the fixed-charge knapsack is NP-hard and an exact one over thousands of
    /// rows of hundreds of cells is not tractable.
    /// </summary>
    public static int[] ByBenchCost(double[] cellScores, CellPlan plan, BenchCost cost)
    {
        ArgumentNullException.ThrowIfNull(cellScores);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(cost);
        if (!(cost.RowPassSeconds >= 0 && cost.CellLinkSeconds >= 0 && cost.RowPassSeconds + cost.CellLinkSeconds > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(cost), cost, "a row pass and a cell's link time are not negative, and not both zero.");
        }
        int[][] rows = RowsBestFirst(cellScores, plan);
        var order = new List<int>(plan.CellCount);
        var taken = new int[rows.Length];
        // Most score per second first; among equals, the lower row (so zero-score cells come row by row).
        var offers = new PriorityQueue<int, (double Density, int Row)>(Comparer<(double Density, int Row)>.Create((a, b) =>
            a.Density != b.Density ? b.Density.CompareTo(a.Density) : a.Row.CompareTo(b.Row)));
        for (int r = 0; r < rows.Length; r++)
        {
            offers.Enqueue(r, (BestPrefix(rows[r], cellScores, cost).Density, r));
        }
        while (offers.TryDequeue(out int r, out _))
        {
            int[] row = rows[r];
            int take = taken[r] == 0 ? BestPrefix(row, cellScores, cost).Count : 1;
            // Cells that cost nothing more once the row is open go with it.
            take = cost.CellLinkSeconds <= 0 ? row.Length - taken[r] : take;
            order.AddRange(row.AsSpan(taken[r], take));
            taken[r] += take;
            if (taken[r] < row.Length)
            {
                offers.Enqueue(r, (Math.Max(0, cellScores[row[taken[r]]]) / cost.CellLinkSeconds, r));
            }
        }
        return [.. order];
    }

    /// <summary>Each crossbar row's cells, highest score first (ties by plan index), rows by their place on the board.</summary>
    private static int[][] RowsBestFirst(double[] cellScores, CellPlan plan)
    {
        var byRow = new SortedDictionary<long, List<int>>();
        for (int c = 0; c < plan.CellCount; c++)
        {
            long row = plan.RowOf(c);
            if (!byRow.TryGetValue(row, out List<int>? cells))
            {
                byRow[row] = cells = [];
            }
            cells.Add(c);
        }
        return [.. byRow.Values.Select(cells =>
        {
            int[] row = [.. cells];
            Array.Sort(row, (a, b) => cellScores[b] != cellScores[a] ? cellScores[b].CompareTo(cellScores[a]) : a.CompareTo(b));
            return row;
        })];
    }

    /// <summary>A row's top k cells that buy the most score per second, its pass paid (the smallest such k; all of them where nothing scores).</summary>
    private static (int Count, double Density) BestPrefix(int[] row, double[] cellScores, BenchCost cost)
    {
        double sum = 0, best = 0;
        int count = row.Length;
        for (int k = 1; k <= row.Length; k++)
        {
            sum += Math.Max(0, cellScores[row[k - 1]]);
            double density = sum / (cost.RowPassSeconds + k * cost.CellLinkSeconds);
            if (density > best)
            {
                (best, count) = (density, k);
            }
        }
        return (count, best);
    }

    private static (double[] Scores, double[]? Ties) WeightScores(SelectionMethod method, WeightLayers layers, SensitivityResult? sensitivity,
        Func<long, double>? weightVariance, float[][]? measured, int seed)
    {
        int count = checked((int)layers.WeightCount);
        var scores = new double[count];
        double[] magnitude = PerWeight(layers, (layer, e) => Math.Abs(layers.Targets[layer][e]));
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
                return (PerWeight(layers, (layer, e) => Math.Abs(Layer(layers, Require(sensitivity, method), layer).Score![e])), magnitude);
            case SelectionMethod.Gradient:
                return (PerWeight(layers, (layer, e) =>
                {
                    ParameterSensitivity p = Layer(layers, Require(sensitivity, method), layer);
                    return Math.Abs(GradientOf(p, method)[e]) * p.FullScale;
                }), magnitude);
            case SelectionMethod.USwim:
                Func<long, double> variance = weightVariance ?? throw new SwimInputException("uswim needs the device's variance model.");
                return (PerWeight(layers, (layer, e) =>
                    Math.Abs(Layer(layers, Require(sensitivity, method), layer).Curvature[e]) * variance(layers.Starts[layer] + e)), magnitude);
            case SelectionMethod.Posterior:
                float[][] actual = measured ?? throw new SwimInputException("posterior selection needs every cell read after open-loop programming.");
                return (PerWeight(layers, (layer, e) =>
                {
                    ParameterSensitivity p = Layer(layers, Require(sensitivity, method), layer);
                    double d = actual[layer][e] - layers.Targets[layer][e];
                    // The first-order term counts as risk whatever its sign. Ranking by 1/2 h d^2 + g d leaves every
                    // error with g d < 0 unverified; tens of thousands of them then push together along -g, far beyond
                    // where the expansion holds, and the loss rises (measured: 59.8 % instead of 97.7 % on LeNet-5).
                    return 0.5 * p.Curvature[e] * d * d + Math.Abs(GradientOf(p, method)[e] * d);
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

    private static double[] PerWeight(WeightLayers layers, Func<int, int, double> score)
    {
        var scores = new double[layers.WeightCount];
        for (int layer = 0; layer < layers.Count; layer++)
        {
            long start = layers.Starts[layer];
            for (int e = 0; e < layers.Targets[layer].Length; e++)
            {
                scores[start + e] = score(layer, e);
            }
        }
        return scores;
    }

    /// <summary>The derivatives of layer <paramref name="layer"/>'s weight, refused with the fix when the results are another model's.</summary>
    internal static ParameterSensitivity Layer(WeightLayers layers, SensitivityResult sensitivity, int layer)
    {
        string name = layers.Names[layer];
        return sensitivity.Parameters.FirstOrDefault(p => p.Parameter.Name == name)
            ?? throw new SwimInputException($"the sensitivity results have no entry for weight '{name}'; compute them for this model.");
    }

    private static float[] GradientOf(ParameterSensitivity p, SelectionMethod method) =>
        p.Gradient ?? throw new ArgumentException($"{SelectionMethods.Name(method)} selection ranks by gradients, and the sensitivity pass was run without them.", nameof(p));

    private static SensitivityResult Require(SensitivityResult? sensitivity, SelectionMethod method) =>
        sensitivity ?? throw new SwimInputException($"{SelectionMethods.Name(method)} selection needs the sensitivity pass (give calibration data).");

    /// <summary>Indices of the <paramref name="count"/> largest scores, ties broken by <paramref name="ties"/> then index.</summary>
    private static int[] Top(double[] scores, int count, double[]? ties)
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
        return order[..Math.Clamp(count, 0, scores.Length)];
    }
}
