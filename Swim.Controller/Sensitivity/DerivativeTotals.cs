using System.Numerics;
using System.Runtime.InteropServices;

namespace Swim.Controller.Sensitivity;

/// <summary>Sums over batches, in double: loss, correct predictions, samples, and per parameter gradient and curvature.</summary>
public sealed class DerivativeTotals
{
    /// <param name="gradients">Whether to hold gradient sums: a pass without gradients leaves them out (a weight's worth of doubles each).</param>
    public DerivativeTotals(IEnumerable<TrainableParameter> parameters, bool curvature, bool gradients = true)
    {
        foreach (TrainableParameter p in parameters)
        {
            if (gradients)
            {
                Gradient[p.Name] = new double[p.ElementCount];
            }
            if (curvature)
            {
                Curvature[p.Name] = new double[p.ElementCount];
            }
        }
    }

    public double LossSum { get; set; }

    public double CorrectSum { get; set; }

    public int Samples { get; set; }

    public Dictionary<string, double[]> Gradient { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, double[]> Curvature { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Per parameter, the sum over batches of each batch's mean gradient (filled by <see cref="AddBatchMeanGradients"/>):
    /// the first-order term of U-SWIM's authors, who sum batch means rather than take one mean over all samples.
    /// </summary>
    public Dictionary<string, double[]> BatchMeanGradientSums { get; } = new(StringComparer.Ordinal);

    public double MeanLoss => Samples == 0 ? 0 : LossSum / Samples;

    public double Accuracy => Samples == 0 ? 0 : CorrectSum / Samples;

    /// <summary>Mean over samples of a parameter's summed quantity, as float32.</summary>
    public float[] Mean(Dictionary<string, double[]> sums, string parameter)
    {
        ArgumentNullException.ThrowIfNull(sums);
        double[] sum = sums[parameter];
        var mean = new float[sum.Length];
        for (int i = 0; i < sum.Length; i++)
        {
            mean[i] = (float)(sum[i] / Samples);
        }
        return mean;
    }

    /// <summary>Adds one batch's sums.</summary>
    public void Add(BatchSums batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        LossSum += batch.LossSum;
        CorrectSum += batch.CorrectSum;
        Samples += batch.Samples;
        foreach ((Dictionary<string, double[]> mine, Dictionary<string, float[]> theirs) in new[] { (Gradient, batch.Gradient), (Curvature, batch.Curvature) })
        {
            foreach ((string name, double[] values) in mine)
            {
                AddWidened(values, theirs[name], 1.0);
            }
        }
    }

    /// <summary>Adds one batch's mean gradient (its gradient sums over its samples) to <see cref="BatchMeanGradientSums"/>.</summary>
    public void AddBatchMeanGradients(BatchSums batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Samples == 0)
        {
            return;
        }
        foreach ((string name, float[] sum) in batch.Gradient)
        {
            if (!BatchMeanGradientSums.TryGetValue(name, out double[]? means))
            {
                BatchMeanGradientSums[name] = means = new double[sum.Length];
            }
            AddWidened(means, sum, batch.Samples);
        }
    }

    /// <summary>
    /// sums[i] += add[i] / divisor in double, by SIMD vectors: a ResNet-18's batch adds 33 M of them, under the
    /// lock that keeps batches in order (a scalar loop took about 0.15 s a batch of a 0.4 s pass).
    /// </summary>
    private static void AddWidened(Span<double> sums, ReadOnlySpan<float> add, double divisor)
    {
        if (sums.Length != add.Length)
        {
            throw new ArgumentException("a batch's sums have another parameter's size.", nameof(add));
        }
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var d = new Vector<double>(divisor);
            ReadOnlySpan<Vector<float>> floats = MemoryMarshal.Cast<float, Vector<float>>(add);
            Span<Vector<double>> doubles = MemoryMarshal.Cast<double, Vector<double>>(sums);
            for (int v = 0; v < floats.Length; v++)
            {
                Vector.Widen(floats[v], out Vector<double> low, out Vector<double> high);
                doubles[2 * v] += divisor == 1.0 ? low : low / d;
                doubles[2 * v + 1] += divisor == 1.0 ? high : high / d;
            }
            i = floats.Length * Vector<float>.Count;
        }
        for (; i < sums.Length; i++)
        {
            sums[i] += divisor == 1.0 ? add[i] : add[i] / divisor;
        }
    }

    public void Clear()
    {
        LossSum = 0;
        CorrectSum = 0;
        Samples = 0;
        foreach (double[] values in Gradient.Values.Concat(Curvature.Values))
        {
            Array.Clear(values);
        }
    }
}
