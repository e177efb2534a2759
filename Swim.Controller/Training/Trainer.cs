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
        (float[] features, long[] labels) = ReadAll(train);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        var reports = new List<EpochReport>();
        OnnxModel trained = model.Clone();
        using var epochs = new EpochRunner(graph, options, parameters, features, labels, train.SampleSize);
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double learningRate = options.LearningRate * Math.Pow(0.5, options.DecayAt.Count(f => epoch - 1 >= f * options.Epochs));
            (double lossSum, double correctSum) = epochs.Run(learningRate, done => progress?.Invoke(epoch - 1 + done));
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

    /// <summary>One pass over the training samples in a fresh random order, a batch at a time, stepping the optimizer after each.</summary>
    private sealed class EpochRunner : IDisposable
    {
        private readonly DerivativeGraph _graph;
        private readonly TrainingOptions _options;
        private readonly Dictionary<string, float[]> _parameters;
        private readonly float[] _features;
        private readonly long[] _labels;
        private readonly int _sampleSize;
        private readonly Optimizer _optimizer;
        private readonly Random _random;
        private readonly int[] _order;
        private readonly float[] _batchFeatures;
        private readonly long[] _batchLabels;
        private readonly DerivativeTotals _totals;
        private readonly DerivativeSession _session;

        public EpochRunner(DerivativeGraph graph, TrainingOptions options, Dictionary<string, float[]> parameters, float[] features, long[] labels, int sampleSize)
        {
            (_graph, _options, _parameters, _features, _labels, _sampleSize) = (graph, options, parameters, features, labels, sampleSize);
            _optimizer = Optimizer.Create(options.Optimizer, options.LearningRate, options.Momentum, options.WeightDecay);
            _random = new Random(options.Seed);
            _order = Enumerable.Range(0, labels.Length).ToArray();
            _batchFeatures = new float[graph.SamplesPerRun * sampleSize];
            _batchLabels = new long[graph.SamplesPerRun];
            _totals = new DerivativeTotals(graph.Parameters, curvature: false);
            _session = new DerivativeSession(graph);
        }

        /// <returns>The epoch's summed loss and correct count, over the weights as they were at each batch.</returns>
        public (double LossSum, double CorrectSum) Run(double learningRate, Action<double> fractionDone)
        {
            int batch = _graph.SamplesPerRun;
            int batches = (_order.Length + batch - 1) / batch;
            _random.Shuffle(_order);
            _optimizer.LearningRate = learningRate;
            double lossSum = 0, correctSum = 0;
            for (int b = 0; b < batches; b++)
            {
                int start = b * batch;
                int count = Math.Min(batch, _order.Length - start);
                for (int i = 0; i < count; i++)
                {
                    int sample = _order[start + i];
                    _features.AsSpan(sample * _sampleSize, _sampleSize).CopyTo(_batchFeatures.AsSpan(i * _sampleSize));
                    _batchLabels[i] = _labels[sample];
                }
                IReadOnlyDictionary<string, float[]> atWeights = _options.NoiseSigma > 0 ? Perturb(_graph, _parameters, _options.NoiseSigma, _random) : _parameters;
                _totals.Clear();
                _session.Accumulate(_batchFeatures, _batchLabels, count, atWeights, _totals);
                lossSum += _totals.LossSum;
                correctSum += _totals.CorrectSum;
                Step(count);
                fractionDone((b + 1.0) / batches);
            }
            return (lossSum, correctSum);
        }

        /// <summary>The optimizer's step on every parameter, by the batch's mean gradient.</summary>
        private void Step(int count)
        {
            foreach (TrainableParameter p in _graph.Parameters)
            {
                double[] gradient = _totals.Gradient[p.Name];
                for (int i = 0; i < gradient.Length; i++)
                {
                    gradient[i] /= count;
                }
                _optimizer.Step(p.Name, _parameters[p.Name], gradient);
            }
        }

        public void Dispose() => _session.Dispose();
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
