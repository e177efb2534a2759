using Swim.Controller.Data;
using Swim.Controller.Onnx;

namespace Swim.Controller.Sensitivity;

/// <summary>SWIM's sensitivity pass: one forward and one backward pass over calibration data, streamed in batches.</summary>
public static class SensitivityAnalysis
{
    /// <param name="batchSize">Samples per ONNX Runtime run (the model's own when it fixes one).</param>
    /// <param name="seed">Seeds the Monte-Carlo labels of <see cref="CurvatureKind.GgnMonteCarlo"/>.</param>
    /// <param name="samplesDone">Called after each batch with the samples processed so far.</param>
    public static SensitivityResult Run(OnnxModel model, DataSet data, int batchSize, CurvatureKind curvature, int seed = 0, Action<int>? samplesDone = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (curvature == CurvatureKind.None)
        {
            throw new ArgumentException("a sensitivity pass needs a curvature.", nameof(curvature));
        }
        long[] sampleShape = model.ResolveSampleShape(data.SampleShape);
        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, sampleShape, Math.Min(batchSize, Math.Max(1, data.Count)), curvature);
        if (data.ClassCount > graph.Classes)
        {
            throw new SwimInputException($"model {model.Description} scores {graph.Classes} classes, but the data has labels up to {data.ClassCount - 1}; check that data and model belong together.");
        }
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true);
        var random = new Random(seed);
        foreach (DataBatch batch in data.ReadBatches(graph.SamplesPerRun))
        {
            session.Accumulate(batch.Features, batch.Labels, batch.Count, parameters, totals, random);
            samplesDone?.Invoke(totals.Samples);
        }
        if (totals.Samples == 0)
        {
            throw new SwimInputException($"{data.Description} has no samples to calibrate on.");
        }
        var results = new List<ParameterSensitivity>();
        foreach (TrainableParameter p in graph.Parameters)
        {
            float fullScale = parameters[p.LayerWeight].Max(MathF.Abs);
            float[] curvatureMean = totals.Mean(totals.Curvature, p.Name);
            float[]? score = p.IsMappedWeight ? curvatureMean.Select(h => h * fullScale * fullScale).ToArray() : null;
            results.Add(new ParameterSensitivity(p, totals.Mean(totals.Gradient, p.Name), curvatureMean, score, fullScale));
        }
        return new SensitivityResult(results, curvature, totals.Samples, totals.MeanLoss, totals.Accuracy);
    }

    /// <summary>Writes grad/NAME, hess/NAME and (mapped weights) score/NAME as float32 arrays in the weights' shapes.</summary>
    public static void Save(SensitivityResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        var npz = new NpzWriter();
        foreach (ParameterSensitivity p in result.Parameters)
        {
            npz.AddFloat32("grad/" + p.Parameter.Name, p.Parameter.Dims, p.Gradient);
            npz.AddFloat32("hess/" + p.Parameter.Name, p.Parameter.Dims, p.Curvature);
            if (p.Score is not null)
            {
                npz.AddFloat32("score/" + p.Parameter.Name, p.Parameter.Dims, p.Score);
            }
        }
        npz.Save(path);
    }

    /// <summary>
    /// Reads what <see cref="Save"/> (or <c>swim sensitivity</c>) wrote, for <paramref name="model"/>: every mapped
    /// weight's grad/ and hess/ in the weight's shape (biases when present). The score is recomputed from hess and
    /// the model's own max|W|, so a file cannot carry a score that disagrees with the model.
    /// </summary>
    public static SensitivityResult Load(string path, OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path))
        {
            throw new SwimInputException($"sensitivity file '{path}' does not exist; write one with 'swim sensitivity MODEL.onnx --data CALIB.npz --out {path}'.");
        }
        NpzArchive npz = NpzArchive.Open(path);
        var results = new List<ParameterSensitivity>();
        foreach (TrainableParameter p in TrainableParameter.Find(model))
        {
            string grad = "grad/" + p.Name, hess = "hess/" + p.Name;
            if (!npz.Arrays.TryGetValue(grad, out NpyHeader? gradHeader) || !npz.Arrays.TryGetValue(hess, out NpyHeader? hessHeader))
            {
                if (!p.IsMappedWeight)
                {
                    continue;
                }
                throw new SwimInputException($"'{path}' has no {grad} and {hess}: it was computed for another model than {model.Description}. Run 'swim sensitivity' on this model.");
            }
            foreach (NpyHeader header in new[] { gradHeader, hessHeader })
            {
                if (!header.Shape.SequenceEqual(p.Dims))
                {
                    throw new SwimInputException($"'{path}': the arrays for '{p.Name}' have shape {header.ShapeText}, the model's weight [{string.Join(", ", p.Dims)}]: the file belongs to another model. Run 'swim sensitivity' on this model.");
                }
            }
            float fullScale = model.ReadWeights(p.LayerWeight).Max(MathF.Abs);
            float[] curvature = npz.ReadFloat32(hess);
            float[]? score = p.IsMappedWeight ? [.. curvature.Select(h => h * fullScale * fullScale)] : null;
            results.Add(new ParameterSensitivity(p, npz.ReadFloat32(grad), curvature, score, fullScale));
        }
        return new SensitivityResult(results, CurvatureKind.None, 0, double.NaN, double.NaN) { Origin = Path.GetFullPath(path) };
    }
}
