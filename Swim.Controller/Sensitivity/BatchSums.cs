namespace Swim.Controller.Sensitivity;

/// <summary>
/// One batch's sums as a derivative graph returns them, in float32: loss, correct predictions, samples, and per
/// parameter gradient and curvature. A session writes into these arrays directly, and <see cref="DerivativeTotals"/>
/// adds them up in double; for a model of millions of weights, float batch buffers halve what a batch in flight
/// holds and save a copy a batch.
/// </summary>
public sealed class BatchSums
{
    public BatchSums(IEnumerable<TrainableParameter> parameters, bool curvature, bool gradients = true)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (TrainableParameter p in parameters)
        {
            if (gradients)
            {
                Gradient[p.Name] = new float[p.ElementCount];
            }
            if (curvature)
            {
                Curvature[p.Name] = new float[p.ElementCount];
            }
        }
    }

    public double LossSum { get; set; }

    public double CorrectSum { get; set; }

    public int Samples { get; set; }

    public Dictionary<string, float[]> Gradient { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, float[]> Curvature { get; } = new(StringComparer.Ordinal);

    public void Clear()
    {
        LossSum = 0;
        CorrectSum = 0;
        Samples = 0;
        foreach (float[] values in Gradient.Values.Concat(Curvature.Values))
        {
            Array.Clear(values);
        }
    }
}
