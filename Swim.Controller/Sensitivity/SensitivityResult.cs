namespace Swim.Controller.Sensitivity;

/// <summary>One parameter's derivatives of the mean loss over the calibration samples.</summary>
/// <param name="Gradient">dL/dw, raw weight units; null when the pass was run for the curvature alone.</param>
/// <param name="Curvature">The chosen second-derivative diagonal d2L/dw2, raw weight units.</param>
/// <param name="Score">
/// For mapped weights, SWIM's score: the curvature in units of the layer's full scale, h * max|W|^2, which
/// makes layers comparable because device noise scales with max|W|. Null for biases.
/// </param>
/// <param name="FullScale">max|W| of the parameter's layer weight.</param>
public sealed record ParameterSensitivity(TrainableParameter Parameter, float[]? Gradient, float[] Curvature, float[]? Score, float FullScale)
{
    /// <summary>The sum over the pass's batches of each batch's mean gradient (U-SWIM's authors' first-order term); null without gradients.</summary>
    public float[]? BatchMeanGradientSum { get; init; }
}

/// <summary>The outcome of a sensitivity pass: every parameter's derivatives and the loss they were taken at.</summary>
public sealed record SensitivityResult(
    IReadOnlyList<ParameterSensitivity> Parameters,
    CurvatureKind Curvature,
    int Samples,
    double MeanLoss,
    double Accuracy)
{
    public IEnumerable<ParameterSensitivity> MappedWeights => Parameters.Where(p => p.Parameter.IsMappedWeight);

    /// <summary>Samples per batch of the pass that computed these derivatives (0 when not known).</summary>
    public int BatchSize { get; init; }

    /// <summary>The file these derivatives were read from; null when they were computed in this run.</summary>
    public string? Origin { get; init; }

    /// <summary>How the derivatives came about, for reports: the curvature, or the file they were read from.</summary>
    public string Describe() => Origin is { } file ? $"read from {Path.GetFileName(file)}" : Curvature switch
    {
        CurvatureKind.Obd => "obd",
        CurvatureKind.Ggn => "ggn",
        CurvatureKind.GgnMonteCarlo => "ggn-mc",
        _ => "none",
    };

    /// <summary>Share of a layer's total score held by its top <paramref name="fraction"/> of weights.</summary>
    public static double TopShare(float[] score, double fraction)
    {
        ArgumentNullException.ThrowIfNull(score);
        double total = score.Sum(s => (double)Math.Abs(s));
        if (total == 0)
        {
            return 0;
        }
        int top = Math.Max(1, (int)Math.Ceiling(score.Length * fraction));
        float[] magnitudes = [.. score.Select(Math.Abs)];
        float threshold = Smallest(magnitudes, magnitudes.Length - top);
        // Everything above the top-th largest, and as many values equal to it as fill the count.
        double sum = 0;
        int taken = 0;
        foreach (float m in magnitudes)
        {
            if (m > threshold)
            {
                sum += m;
                taken++;
            }
        }
        sum += (double)threshold * (top - taken);
        return sum / total;
    }

    /// <summary>The k-th smallest value (0-based), by quickselect: a layer of millions of scores need not be sorted. Reorders the array.</summary>
    private static float Smallest(float[] values, int k)
    {
        int low = 0;
        int high = values.Length - 1;
        while (low < high)
        {
            float pivot = values[low + (high - low) / 2];
            int i = low;
            int j = high;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }
                while (values[j] > pivot)
                {
                    j--;
                }
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j)
            {
                high = j;
            }
            else if (k >= i)
            {
                low = i;
            }
            else
            {
                return values[k];
            }
        }
        return values[k];
    }
}
