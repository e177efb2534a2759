using System.Diagnostics;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using Swim.Devices;

namespace Swim.Controller.Training;

/// <summary>
/// Trains a classifier's mapped weights and biases from its ONNX graph: gradients come from the same derivative
/// graph the sensitivity pass uses, the optimizer runs in C#. The training split is held in memory so each
/// epoch can visit it in a fresh random order.
/// </summary>
public static class Trainer
{
    /// <returns>A copy of <paramref name="model"/> with the trained weights, and one report per epoch.</returns>
    public static (OnnxModel Model, IReadOnlyList<EpochReport> Epochs) Train(OnnxModel model, DataSet train, DataSet? validation,
        TrainingOptions options, Action<EpochReport>? epochDone = null, Action<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        train = model.Arrange(train);
        validation = validation is null ? null : model.Arrange(validation);
        long[] sampleShape = model.ResolveSampleShape(train.SampleShape);
        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, sampleShape, options.BatchSize, CurvatureKind.None);
        if (train.ClassCount > graph.Classes)
        {
            throw new SwimInputException($"model {model.Description} scores {graph.Classes} classes, but the training data has labels up to {train.ClassCount - 1}.");
        }
        int batch = graph.SamplesPerRun;
        (float[] features, long[] labels) = ReadAll(train);
        int sampleSize = train.SampleSize;
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        Optimizer optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, options.Momentum, options.WeightDecay);
        var random = new Random(options.Seed);
        var order = Enumerable.Range(0, train.Count).ToArray();
        var batchFeatures = new float[batch * sampleSize];
        var batchLabels = new long[batch];
        var totals = new DerivativeTotals(graph.Parameters, curvature: false);
        var reports = new List<EpochReport>();
        OnnxModel trained = model.Clone();
        using var session = new DerivativeSession(graph);
        int batchesPerEpoch = (train.Count + batch - 1) / batch;
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            random.Shuffle(order);
            double learningRate = options.LearningRate * Math.Pow(0.5, options.DecayAt.Count(f => epoch - 1 >= f * options.Epochs));
            optimizer.LearningRate = learningRate;
            double lossSum = 0;
            double correctSum = 0;
            for (int b = 0; b < batchesPerEpoch; b++)
            {
                int start = b * batch;
                int count = Math.Min(batch, train.Count - start);
                for (int i = 0; i < count; i++)
                {
                    int sample = order[start + i];
                    features.AsSpan(sample * sampleSize, sampleSize).CopyTo(batchFeatures.AsSpan(i * sampleSize));
                    batchLabels[i] = labels[sample];
                }
                IReadOnlyDictionary<string, float[]> atWeights = options.NoiseSigma > 0 ? Perturb(graph, parameters, options.NoiseSigma, random) : parameters;
                totals.Clear();
                session.Accumulate(batchFeatures, batchLabels, count, atWeights, totals);
                lossSum += totals.LossSum;
                correctSum += totals.CorrectSum;
                foreach (TrainableParameter p in graph.Parameters)
                {
                    double[] gradient = totals.Gradient[p.Name];
                    for (int i = 0; i < gradient.Length; i++)
                    {
                        gradient[i] /= count;
                    }
                    optimizer.Step(p.Name, parameters[p.Name], gradient);
                }
                progress?.Invoke(epoch - 1 + (b + 1.0) / batchesPerEpoch);
            }
            foreach ((string name, float[] values) in parameters)
            {
                trained.ReplaceWeights(name, values);
            }
            double? validationAccuracy = null;
            if (validation is not null)
            {
                using var classifier = new Classifier(trained);
                validationAccuracy = classifier.Evaluate(validation, 500).Accuracy;
            }
            var report = new EpochReport(epoch, learningRate, lossSum / train.Count, correctSum / train.Count, validationAccuracy, clock.Elapsed.TotalSeconds);
            reports.Add(report);
            epochDone?.Invoke(report);
        }
        return (trained, reports);
    }

    private static (float[] Features, long[] Labels) ReadAll(DataSet data)
    {
        var features = new float[(long)data.Count * data.SampleSize];
        foreach (DataBatch batch in data.ReadBatches(1024))
        {
            batch.Features.CopyTo(features, (long)batch.FirstIndex * data.SampleSize);
        }
        return (features, data.Labels.ToArray());
    }

    private static Dictionary<string, float[]> Perturb(DerivativeGraph graph, Dictionary<string, float[]> parameters, double sigma, Random random)
    {
        var perturbed = new Dictionary<string, float[]>(parameters, StringComparer.Ordinal);
        foreach (TrainableParameter p in graph.Parameters.Where(p => p.IsMappedWeight))
        {
            float[] clean = parameters[p.Name];
            double std = PaperNoiseModel.WeightStd(sigma, clean.Max(MathF.Abs));
            var noisy = new float[clean.Length];
            for (int i = 0; i < clean.Length; i++)
            {
                noisy[i] = (float)(clean[i] + std * NormalRandom.Next(random));
            }
            perturbed[p.Name] = noisy;
        }
        return perturbed;
    }

}
