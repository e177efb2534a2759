using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;

namespace Swim.Controller.Simulation;

/// <summary>
/// Test accuracy of perturbed weight sets through one ONNX Runtime session whose mapped weights are inputs:
/// no model is rebuilt per trial, and concurrent calls (one per core, one thread each) share the session.
/// </summary>
internal sealed class TrialEvaluator : IDisposable
{
    private const int MaxRunBatch = 1000;

    private readonly Classifier _classifier;
    private readonly SessionOptions _sessionOptions;
    private readonly float[] _features;
    private readonly long[] _labels;
    private readonly int _sampleSize;
    private readonly IReadOnlyList<int> _sampleShape;
    private readonly int _classes;
    private readonly long[][] _dims;
    private readonly IReadOnlyList<string> _names;

    public TrialEvaluator(OnnxModel model, WeightLayers layers, DataSet test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(test);
        test = model.Arrange(test);
        _names = layers.Names;
        _dims = [.. layers.Names.Select(n => model.GetInitializer(n).Dims.ToArray())];
        _sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // ONNX Runtime warns about every initializer that is also an input; here that is the point.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        _classifier = new Classifier(model.WithOverridableInitializers(layers.Names), _sessionOptions);
        _sampleShape = test.SampleShape;
        _sampleSize = test.SampleShape.Aggregate(1, (a, d) => a * d);
        _classes = test.ClassCount;
        var features = new List<float>();
        var labels = new List<long>();
        foreach (DataBatch batch in test.ReadBatches(MaxRunBatch))
        {
            features.AddRange(batch.Features.AsSpan(0, batch.Count * _sampleSize));
            labels.AddRange(batch.Labels.AsSpan(0, batch.Count));
        }
        if (labels.Count == 0)
        {
            throw new SwimInputException($"{test.Description} has no samples to evaluate on.");
        }
        _features = [.. features];
        _labels = [.. labels];
    }

    public int Samples => _labels.Length;

    /// <summary>SHA-256 of the test samples as evaluated (features, shape and labels): the study's data, however it was stored.</summary>
    public string Sha256()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (int dim in _sampleShape)
        {
            hash.AppendData(BitConverter.GetBytes(dim));
        }
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_features.AsSpan()));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_labels.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Test samples classified right (top-1) with each layer's weights replaced by <paramref name="weights"/>.</summary>
    public int Correct(float[][] weights)
    {
        var values = new WeightValues[_names.Count];
        for (int l = 0; l < values.Length; l++)
        {
            values[l] = new WeightValues(_names[l], weights[l], _dims[l]);
        }
        int batch = _classifier.FixedBatchSize ?? MaxRunBatch;
        int correct = 0;
        for (int start = 0; start < _labels.Length; start += batch)
        {
            int count = Math.Min(batch, _labels.Length - start);
            float[] features = start == 0 && count == _labels.Length ? _features : _features[(start * _sampleSize)..((start + count) * _sampleSize)];
            int[] predicted = _classifier.Predict(features, count, _sampleShape, _classes, values);
            for (int i = 0; i < count; i++)
            {
                if (predicted[i] == _labels[start + i])
                {
                    correct++;
                }
            }
        }
        return correct;
    }

    public void Dispose()
    {
        _classifier.Dispose();
        _sessionOptions.Dispose();
    }
}
