using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Devices;

namespace Swim.Controller.Simulation;

/// <summary>
/// The SWIM authors' model exactly: each layer's weights rounded to N magnitude bits (step max|W_layer| / 2^N),
/// then the additive error of eight one-bit devices, device i (1-based) of significance 2^-i of max|W_layer|,
/// each off by N(0, sigma^2), or N(0, sigma_wv^2) once verified. Verifying re-draws the device's error with
/// the smaller std; there are no pulses, so cost is counted in writes: one per device written open loop,
/// <see cref="VerifyCostInWrites"/> per device verified.
/// </summary>
internal sealed class PaperVariation : VariationModel
{
    /// <summary>Eight one-bit devices per weight (N/m with the authors' N = 8, m = 1), whatever the quantization.</summary>
    public const int Devices = 8;

    /// <summary>Write-verify costs about ten open-loop writes (the method's premise).</summary>
    public const double VerifyCostInWrites = 10;

    private readonly double _sigma;
    private readonly double _sigmaVerified;
    private readonly float[] _fullScales;

    public PaperVariation(OnnxModel model, SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        _sigma = options.Sigma;
        _sigmaVerified = options.SigmaVerified;
        IReadOnlyList<MappedWeight> mapped = model.RequireMappedWeights();
        var targets = new float[mapped.Count][];
        _fullScales = new float[mapped.Count];
        for (int l = 0; l < mapped.Count; l++)
        {
            float[] w = model.ReadWeights(mapped[l].Name);
            float fullScale = w.Max(MathF.Abs);
            _fullScales[l] = fullScale;
            targets[l] = Quantize(w, fullScale, options.WeightBits);
        }
        Layers = new WeightLayers([.. mapped.Select(m => m.Name)], targets);
    }

    public override WeightLayers Layers { get; }

    public override int UnitsPerWeight => Devices;

    public override string CostUnit => "writes";

    /// <summary>The authors' SWIM model: every device's error has one std whatever its state.</summary>
    public override double StateSigmaRatio => 1;

    /// <summary>Round to the nearest multiple of max|W| / 2^N (no clamp: the largest weight keeps its value).</summary>
    public static float[] Quantize(float[] weights, float fullScale, int bits)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (fullScale == 0)
        {
            return (float[])weights.Clone();
        }
        double step = fullScale / Math.Pow(2, bits);
        return [.. weights.Select(w => (float)(Math.Round(w / step, MidpointRounding.ToEven) * step))];
    }

    public override int[] Rank(SelectionMethod method, SensitivityResult? sensitivity, TrialInstance? instance, int seed)
    {
        if (method == SelectionMethod.CellLevel)
        {
            return CellSelector.RankCells(Layers, sensitivity, Devices, (weight, device) =>
            {
                double scale = _fullScales[LayerOf(weight)] * Math.Pow(2, -(device + 1)) * _sigma;
                return scale * scale;
            });
        }
        double norm = PaperNoiseModel.SignificanceNorm(Devices, 1);
        float[][]? measured = method == SelectionMethod.Posterior ? ((PaperInstance)instance!).OpenLoopWeights() : null;
        int[] weights = CellSelector.RankWeights(method, Layers, sensitivity, weight =>
        {
            double std = _sigma * _fullScales[LayerOf(weight)] * norm;
            return std * std;
        }, measured, seed, StateSigmaRatio);
        return [.. weights.SelectMany(w => Enumerable.Range(w * Devices, Devices))];
    }

    public override TrialInstance Sample(int trial, ulong seed)
    {
        var random = new Random(MonteCarloSimulation.TrialSeed(seed, trial));
        int units = checked((int)UnitCount);
        var open = new float[units];
        var verified = new float[units];
        for (int u = 0; u < units; u++)
        {
            open[u] = (float)NormalRandom.Next(random);
            verified[u] = (float)NormalRandom.Next(random);
        }
        return new PaperInstance(this, open, verified);
    }

    private int LayerOf(long weight)
    {
        int layer = 0;
        while (Layers.Starts[layer + 1] <= weight)
        {
            layer++;
        }
        return layer;
    }

    private sealed class PaperInstance(PaperVariation model, float[] openDraws, float[] verifiedDraws) : TrialInstance
    {
        public float[][] OpenLoopWeights() => Weights(null);

        public override float[][] Weights(bool[]? verified)
        {
            WeightLayers layers = model.Layers;
            var weights = new float[layers.Count][];
            for (int l = 0; l < layers.Count; l++)
            {
                float[] target = layers.Targets[l];
                var w = new float[target.Length];
                long first = layers.Starts[l] * Devices;
                double fullScale = model._fullScales[l];
                for (int e = 0; e < w.Length; e++)
                {
                    double error = 0;
                    double significance = 1;
                    for (int d = 0; d < Devices; d++)
                    {
                        significance *= 0.5;
                        int u = (int)(first + (long)e * Devices + d);
                        error += significance * (verified is not null && verified[u] ? model._sigmaVerified * verifiedDraws[u] : model._sigma * openDraws[u]);
                    }
                    w[e] = (float)(target[e] + fullScale * error);
                }
                weights[l] = w;
            }
            return weights;
        }

        public override double Cost(bool[] verified, bool measuredFirst) =>
            verified.Length + VerifyCostInWrites * verified.Count(v => v);
    }
}
