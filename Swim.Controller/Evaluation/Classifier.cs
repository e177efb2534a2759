using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Evaluation;

/// <summary>
/// An ONNX classifier run by ONNX Runtime: batches samples into the model's input, whether its batch
/// dimension is dynamic or fixed, and scores top-1 predictions.
/// </summary>
public sealed class Classifier : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly string _outputName;
    private readonly long[] _declaredShape;
    private readonly OnnxModel _model;

    public Classifier(OnnxModel model, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ValueInfoProto input = model.SingleDataInput();
        TypeProto.Types.Tensor tensorType = input.Type?.TensorType
            ?? throw new OnnxModelException($"model {model.Description}: input '{input.Name}' is not a tensor; Swim drives classifiers that take one float tensor.");
        if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new OnnxModelException(
                $"model {model.Description}: input '{input.Name}' takes {TensorData.DataTypeName(tensorType.ElemType)}, not float32; export the model with a float32 input.");
        }
        _inputName = input.Name;
        _outputName = model.ScoresOutput.Name;
        _model = model;
        _declaredShape = model.DeclaredInputShape();
        ModelDescription = model.Description;
        try
        {
            _session = options is null ? new InferenceSession(model.ToBytes()) : new InferenceSession(model.ToBytes(), options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new OnnxModelException($"ONNX Runtime cannot load model {model.Description}: {ex.Message}", ex);
        }
    }

    public string ModelDescription { get; }

    /// <summary>The model's batch size when its first input dimension is fixed; null when it is dynamic.</summary>
    public int? FixedBatchSize => _declaredShape[0] > 0 ? checked((int)_declaredShape[0]) : null;

    /// <summary>
    /// Refuses data this model cannot classify (sample shape, channel order, labels beyond its classes) by running
    /// its first sample: a check to make before long work that would only meet the problem at its end.
    /// </summary>
    public void CheckSuits(DataSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        data = _model.Arrange(data);
        DataBatch first = data.ReadBatches(FixedBatchSize ?? 1).First();
        Predict(first.Features, first.Count, data.SampleShape, data.ClassCount);
    }

    /// <summary>Predicted class of every sample, in order.</summary>
    public EvaluationResult Evaluate(DataSet data, int batchSize, Action<int>? samplesDone = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        data = _model.Arrange(data);
        int correct = 0;
        int seen = 0;
        foreach (DataBatch batch in data.ReadBatches(FixedBatchSize ?? batchSize))
        {
            int[] predicted = Predict(batch.Features, batch.Count, data.SampleShape, data.ClassCount);
            for (int i = 0; i < batch.Count; i++)
            {
                if (predicted[i] == batch.Labels[i])
                {
                    correct++;
                }
            }
            seen += batch.Count;
            samplesDone?.Invoke(seen);
        }
        return new EvaluationResult(seen, correct);
    }

    /// <summary>
    /// Top-1 class of each of <paramref name="count"/> samples. With a fixed batch dimension the last batch is
    /// padded with zeros and the padding's outputs are dropped.
    /// </summary>
    /// <param name="weights">Values fed for initializers the model lists as inputs (see <see cref="OnnxModel.WithOverridableInitializers"/>).</param>
    public int[] Predict(float[] features, int count, IReadOnlyList<int> sampleShape, int labelClasses = 0, IReadOnlyList<WeightValues>? weights = null)
    {
        long[] inputSampleShape = ResolveSampleShape(sampleShape);
        int sampleSize = checked((int)inputSampleShape.Aggregate(1L, (a, d) => a * d));
        int runBatch = FixedBatchSize ?? count;
        if (FixedBatchSize is { } fixedBatch && count > fixedBatch)
        {
            throw new ArgumentException($"the model takes batches of {fixedBatch}; {count} samples were given.", nameof(count));
        }
        float[] input = features;
        if (runBatch != count || features.Length != runBatch * sampleSize)
        {
            input = new float[runBatch * sampleSize];
            features.AsSpan(0, count * sampleSize).CopyTo(input);
        }
        long[] shape = [runBatch, .. inputSampleShape];
        var inputNames = new List<string> { _inputName };
        var inputValues = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(input, shape) };
        try
        {
            foreach (WeightValues w in weights ?? [])
            {
                inputNames.Add(w.Name);
                inputValues.Add(OrtValue.CreateTensorValueFromMemory(w.Values, w.Dims));
            }
            return Run(inputNames, inputValues, runBatch, count, labelClasses);
        }
        finally
        {
            foreach (OrtValue value in inputValues)
            {
                value.Dispose();
            }
        }
    }

    private int[] Run(List<string> inputNames, List<OrtValue> inputValues, int runBatch, int count, int labelClasses)
    {
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(runOptions, inputNames, inputValues, [_outputName]);
        OrtValue output = outputs[0];
        OrtTensorTypeAndShapeInfo info = output.GetTensorTypeAndShape();
        if (info.ElementDataType != TensorElementType.Float)
        {
            throw new OnnxModelException($"model {ModelDescription}: output '{_outputName}' is {info.ElementDataType}, not float; Swim reads class scores as float32.");
        }
        long[] outShape = info.Shape;
        if (outShape.Length == 0 || outShape[0] != runBatch)
        {
            throw new OnnxModelException(
                $"model {ModelDescription}: output '{_outputName}' has shape [{string.Join(", ", outShape)}] for a batch of {runBatch}; Swim expects class scores with the batch axis first.");
        }
        ReadOnlySpan<float> scores = output.GetTensorDataAsSpan<float>();
        int classes = scores.Length / runBatch;
        if (labelClasses > classes)
        {
            throw new SwimInputException(
                $"model {ModelDescription} scores {classes} classes, but the data has labels up to {labelClasses - 1}; check that data and model belong together.");
        }
        var predicted = new int[count];
        for (int n = 0; n < count; n++)
        {
            ReadOnlySpan<float> row = scores.Slice(n * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                // Strictly greater keeps the first maximum, as numpy.argmax and torch.argmax do.
                if (row[c] > row[best])
                {
                    best = c;
                }
            }
            predicted[n] = best;
        }
        return predicted;
    }

    /// <summary>The model's sample shape for data whose samples are <paramref name="dataShape"/>.</summary>
    public long[] ResolveSampleShape(IReadOnlyList<int> dataShape) => _model.ResolveSampleShape(dataShape);

    public void Dispose() => _session.Dispose();
}

/// <summary>Values for one overridable initializer of a run: its name, its elements and its shape.</summary>
public sealed record WeightValues(string Name, float[] Values, long[] Dims);
