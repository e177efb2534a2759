using Swim.Controller.Sensitivity;
using Swim.Devices;

namespace Swim.Controller.Selection;

/// <summary>
/// U-SWIM's score and selection as its authors compute them (their HSM method), so studies can compare against the
/// published method rather than Swim's per-cell reading of it (<see cref="SelectionMethod.USwim"/>).
/// <para>
/// In the authors' units each layer's weights are divided by max|W_layer| (u = w / max|W|). Over the calibration
/// set they sum, per weight, the OBD second derivative of every sample's loss (their curvature is not divided by
/// the batch) and add twice the sum over their 128-sample batches of each batch's mean gradient:
/// S = sum_i h_i(u) + 2 sum_b mean_b g(u) = N max|W|^2 h + 2 max|W| G, with h the mean curvature of w and G the
/// sum of batch-mean gradients. A weight whose normalised magnitude lies strictly between 0.25 and 0.75 sits in a
/// middle state of their 2-bit cell and is weighed by s, the middle states' std over the outer states'; the score
/// is |S| f alpha + |u| (alpha = 1e6, so |u| only separates near-equal S). They verify every weight whose score
/// lies strictly above the (1 - p) quantile of all scores, linearly interpolated as torch.quantile does.
/// </para>
/// </summary>
public static class UswimPaperScore
{
    /// <summary>The authors' batch size (their data loaders' BS = 128): the first-order term sums means over such batches.</summary>
    public const int AuthorsBatch = 128;

    /// <summary>The authors' default alpha: how much the second-order term outweighs |u|.</summary>
    public const double Alpha = 1e6;

    /// <summary>
    /// Samples per batch of a sensitivity pass that feeds <paramref name="methods"/>: the authors' 128 when uswim-paper
    /// is among them (its first-order term sums means over such batches), else <paramref name="otherwise"/>.
    /// </summary>
    public static int PassBatch(IEnumerable<SelectionMethod> methods, int otherwise) =>
        methods.Contains(SelectionMethod.USwimPaper) ? AuthorsBatch : otherwise;

    /// <summary>Every weight's score (global index, layer by layer), larger is verified first.</summary>
    /// <param name="stateSigmaRatio">s: the middle states' std over the outer states'.</param>
    public static double[] Scores(WeightLayers layers, SensitivityResult sensitivity, double stateSigmaRatio)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(sensitivity);
        if (!(stateSigmaRatio > 0) || double.IsInfinity(stateSigmaRatio))
        {
            throw new ArgumentOutOfRangeException(nameof(stateSigmaRatio), stateSigmaRatio, "s must be positive and finite.");
        }
        if (sensitivity.Samples <= 0)
        {
            throw new SwimInputException("uswim-paper weighs the derivatives by the number of calibration samples they were taken over, which this sensitivity file does not record; "
                + "compute them again with 'swim sensitivity' (or give --calib instead of --sensitivity).");
        }
        var scores = new double[layers.WeightCount];
        for (int layer = 0; layer < layers.Count; layer++)
        {
            ParameterSensitivity p = CellSelector.Layer(layers, sensitivity, layer);
            float[] gradient = p.Gradient ?? throw new SwimInputException("uswim-paper adds the authors' first-order term, and the sensitivity pass was run without gradients.");
            double[] batchMeans = FirstOrderSums(sensitivity, p, gradient);
            float[] targets = layers.Targets[layer];
            double scale = targets.Max(MathF.Abs);
            long start = layers.Starts[layer];
            for (int e = 0; e < targets.Length; e++)
            {
                double u = scale == 0 ? 0 : Math.Abs(targets[e]) / scale;
                double s = sensitivity.Samples * scale * scale * p.Curvature[e] + 2 * scale * batchMeans[e];
                double factor = u > 0.25 && u < 0.75 ? stateSigmaRatio : 1;
                scores[start + e] = Math.Abs(s) * factor * Alpha + u;
            }
        }
        return scores;
    }

    /// <summary>
    /// How many weights the authors verify at fraction <paramref name="fraction"/>: those strictly above the linearly
    /// interpolated (1 - p) quantile of the scores. At 0 none and at 1 all (the authors' rule would leave the single
    /// lowest score out at 1; full write-verify is every weight).
    /// </summary>
    public static int SelectedCount(double[] scores, double fraction)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (fraction <= 0 || scores.Length == 0)
        {
            return 0;
        }
        if (fraction >= 1)
        {
            return scores.Length;
        }
        double[] sorted = [.. scores];
        Array.Sort(sorted);
        double position = (1 - fraction) * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        // 0 < fraction < 1 puts the position below the last score, so a next score exists to interpolate towards.
        double threshold = sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]);
        return sorted.Length - UpperBound(sorted, threshold);
    }

    /// <summary>The first index whose value is greater than <paramref name="value"/>.</summary>
    private static int UpperBound(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>
    /// sum_b mean_b g over the authors' 128-sample batches: exact when the pass ran in such batches; otherwise N/128
    /// times the mean gradient, which differs only in how a short last batch is weighted (<see cref="IsExact"/>).
    /// </summary>
    private static double[] FirstOrderSums(SensitivityResult sensitivity, ParameterSensitivity p, float[] gradient)
    {
        if (IsExact(sensitivity) && p.BatchMeanGradientSum is { } sums)
        {
            return [.. sums.Select(v => (double)v)];
        }
        double batches = sensitivity.Samples / (double)AuthorsBatch;
        return [.. gradient.Select(g => batches * g)];
    }

    /// <summary>Whether the first-order term is the authors' to the batch: the pass ran in batches of 128 and kept their means' sum.</summary>
    public static bool IsExact(SensitivityResult sensitivity)
    {
        ArgumentNullException.ThrowIfNull(sensitivity);
        return sensitivity.BatchSize == AuthorsBatch && sensitivity.Parameters.All(p => !p.Parameter.IsMappedWeight || p.BatchMeanGradientSum is not null);
    }
}
