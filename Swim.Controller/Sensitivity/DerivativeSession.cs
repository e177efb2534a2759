using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Onnx;

namespace Swim.Controller.Sensitivity;

/// <summary>
/// Runs a <see cref="DerivativeGraph"/> on ONNX Runtime batch after batch: pads a short batch with
/// zero-weight samples, replicates samples for the exact Gauss-Newton diagonal, draws the Monte-Carlo labels'
/// uniforms from a seeded generator, and writes each batch's sums into <see cref="BatchSums"/>.
/// </summary>
public sealed class DerivativeSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly float[] _features;
    private readonly long[] _labels;
    private readonly float[] _weights;
    private readonly float[] _uniform;
    private readonly float[] _classSelect;
    private readonly int _sampleSize;
    private readonly float[] _loss = new float[1];
    private readonly float[] _correct = new float[1];
    private BatchSums? _own;
    private BatchSums? _classRun;

    public DerivativeSession(DerivativeGraph graph, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        byte[] bytes = Google.Protobuf.MessageExtensions.ToByteArray(graph.Model);
        try
        {
            _session = options is null ? new InferenceSession(bytes) : new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new OnnxModelException($"ONNX Runtime rejected the derivative graph Swim built: {ex.Message}", ex);
        }
        _sampleSize = checked((int)graph.SampleShape.Aggregate(1L, (a, d) => a * d));
        _features = new float[graph.BatchSize * _sampleSize];
        _labels = new long[graph.BatchSize];
        _weights = new float[graph.BatchSize];
        _uniform = new float[graph.BatchSize];
        _classSelect = new float[graph.ClassRuns > 1 ? graph.BatchSize * graph.Classes : 0];
        var inputs = new List<string> { graph.DataInput, DerivativeGraph.LabelsInput, DerivativeGraph.WeightsInput };
        if (graph.Curvature == CurvatureKind.GgnMonteCarlo)
        {
            inputs.Add(DerivativeGraph.UniformInput);
        }
        if (graph.ClassRuns > 1)
        {
            inputs.Add(DerivativeGraph.GgnClassInput);
        }
        inputs.AddRange(graph.Parameters.Select(p => p.Name));
        inputs.AddRange(graph.PreparedInputs.Select(p => p.Name));
        _inputNames = [.. inputs];
        var outputs = new List<string> { DerivativeGraph.LossOutput, DerivativeGraph.CorrectOutput };
        if (graph.HasGradients)
        {
            outputs.AddRange(graph.Parameters.Select(p => DerivativeGraph.GradientOutput(p.Name)));
        }
        if (graph.Curvature != CurvatureKind.None)
        {
            outputs.AddRange(graph.Parameters.Select(p => DerivativeGraph.CurvatureOutput(p.Name)));
        }
        _outputNames = [.. outputs];
    }

    public DerivativeGraph Graph { get; }

    /// <summary>
    /// A sensitivity pass's session options: one thread (the pass runs a session per core), and no memory pattern.
    /// The pattern allocates every intermediate of a run in one block per run; a derivative graph's intermediates
    /// run to gigabytes, freshly mapped each run, and their first-touch page faults cost more than the kernels
    /// (measured on a CIFAR ResNet-18, batch 32, one thread: 4.9 s a batch with it, 1.9 s without).
    /// </summary>
    public static SessionOptions PassOptions() => new() { IntraOpNumThreads = 1, EnableMemoryPattern = false };

    /// <summary>
    /// Adds the sums of one batch of up to <see cref="DerivativeGraph.SamplesPerRun"/> samples.
    /// <paramref name="random"/> draws the Monte-Carlo labels (ggn-mc only).
    /// </summary>
    public void Accumulate(ReadOnlySpan<float> features, ReadOnlySpan<long> labels, int count,
        IReadOnlyDictionary<string, float[]> parameters, DerivativeTotals totals, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(totals);
        if (Graph.Parameters.Count > 0 && ((Graph.HasGradients && totals.Gradient.Count == 0) || (Graph.Curvature != CurvatureKind.None && totals.Curvature.Count == 0)))
        {
            throw new ArgumentException("the totals do not hold every quantity this graph computes; make them with the graph's gradients and curvature.", nameof(totals));
        }
        _own ??= NewSums();
        Sum(features, labels, count, parameters, _own, random);
        totals.Add(_own);
    }

    /// <summary>Sums for this session's graph: every quantity it returns, one batch's worth.</summary>
    public BatchSums NewSums() => new(Graph.Parameters, Graph.Curvature != CurvatureKind.None, Graph.HasGradients);

    /// <summary>
    /// Writes the sums of one batch of up to <see cref="DerivativeGraph.SamplesPerRun"/> samples into
    /// <paramref name="sums"/> (made by <see cref="NewSums"/>), replacing what they held.
    /// </summary>
    public void Sum(ReadOnlySpan<float> features, ReadOnlySpan<long> labels, int count,
        IReadOnlyDictionary<string, float[]> parameters, BatchSums sums, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(sums);
        if (count < 1 || count > Graph.SamplesPerRun)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"a run takes 1 to {Graph.SamplesPerRun} samples.");
        }
        Stage(features, labels, count, random);
        sums.Samples = count;
        for (int c = 0; c < Graph.ClassRuns; c++)
        {
            SelectClass(c);
            if (c == 0)
            {
                Run(parameters, sums);
                continue;
            }
            // Later class runs of a batch land apart and are added in.
            _classRun ??= NewSums();
            Run(parameters, _classRun);
            AddInto(sums, _classRun);
        }
    }

    private static void AddInto(BatchSums sums, BatchSums run)
    {
        sums.LossSum += run.LossSum;
        sums.CorrectSum += run.CorrectSum;
        foreach ((Dictionary<string, float[]> into, Dictionary<string, float[]> from) in new[] { (sums.Gradient, run.Gradient), (sums.Curvature, run.Curvature) })
        {
            foreach ((string name, float[] values) in into)
            {
                float[] add = from[name];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] += add[i];
                }
            }
        }
    }

    /// <summary>For a run per class: every row's one-hot selector at class <paramref name="c"/>.</summary>
    private void SelectClass(int c)
    {
        if (_classSelect.Length == 0)
        {
            return;
        }
        Array.Clear(_classSelect);
        for (int row = 0; row < Graph.BatchSize; row++)
        {
            _classSelect[row * Graph.Classes + c] = 1f;
        }
    }

    /// <summary>
    /// One run of the staged batch, its outputs bound to <paramref name="sums"/>' own arrays: fresh output tensors
    /// would be a weight's worth of newly mapped pages each run, and a copy.
    /// </summary>
    private void Run(IReadOnlyDictionary<string, float[]> parameters, BatchSums sums)
    {
        var values = new List<OrtValue>();
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(_features, [Graph.BatchSize, .. Graph.SampleShape]));
            values.Add(OrtValue.CreateTensorValueFromMemory(_labels, [Graph.BatchSize]));
            values.Add(OrtValue.CreateTensorValueFromMemory(_weights, [Graph.BatchSize]));
            if (Graph.Curvature == CurvatureKind.GgnMonteCarlo)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(_uniform, [Graph.BatchSize]));
            }
            if (Graph.ClassRuns > 1)
            {
                values.Add(OrtValue.CreateTensorValueFromMemory(_classSelect, [Graph.BatchSize, Graph.Classes]));
            }
            AddParameterValues(parameters, values);
            int inputs = values.Count;
            var outputs = new List<OrtValue>
            {
                OrtValue.CreateTensorValueFromMemory(_loss, []),
                OrtValue.CreateTensorValueFromMemory(_correct, []),
            };
            if (Graph.HasGradients)
            {
                outputs.AddRange(Graph.Parameters.Select(p => OrtValue.CreateTensorValueFromMemory(sums.Gradient[p.Name], [.. p.Dims])));
            }
            if (Graph.Curvature != CurvatureKind.None)
            {
                outputs.AddRange(Graph.Parameters.Select(p => OrtValue.CreateTensorValueFromMemory(sums.Curvature[p.Name], [.. p.Dims])));
            }
            values.AddRange(outputs);
            using var run = new RunOptions();
            using OrtIoBinding binding = _session.CreateIoBinding();
            for (int i = 0; i < inputs; i++)
            {
                binding.BindInput(_inputNames[i], values[i]);
            }
            for (int i = 0; i < _outputNames.Length; i++)
            {
                binding.BindOutput(_outputNames[i], outputs[i]);
            }
            _session.RunWithBinding(run, binding);
            sums.LossSum = _loss[0];
            sums.CorrectSum = _correct[0];
        }
        finally
        {
            foreach (OrtValue value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>The parameters' values, then what the graph's preparation made of them, in the graph's input order.</summary>
    private void AddParameterValues(IReadOnlyDictionary<string, float[]> parameters, List<OrtValue> values)
    {
        foreach (TrainableParameter p in Graph.Parameters)
        {
            float[] data = parameters.TryGetValue(p.Name, out float[]? v) ? v
                : throw new ArgumentException($"no values for parameter '{p.Name}'.", nameof(parameters));
            values.Add(OrtValue.CreateTensorValueFromMemory(data, [.. p.Dims]));
        }
        foreach (PreparedInput p in Graph.PreparedInputs)
        {
            float[] data = parameters.TryGetValue(p.Name, out float[]? v) ? v
                : throw new ArgumentException($"no values for '{p.Name}', which the graph's preparation makes from the parameters: pass what ParameterWork.Prepare returns.", nameof(parameters));
            values.Add(OrtValue.CreateTensorValueFromMemory(data, p.Dims));
        }
    }

    /// <summary>Copies the batch into the graph's fixed-size inputs: each sample once per replica, weighted 1/(replicas x class runs), the rest zero.</summary>
    private void Stage(ReadOnlySpan<float> features, ReadOnlySpan<long> labels, int count, Random? random)
    {
        int replicas = Graph.Replicas;
        Array.Clear(_weights);
        for (int n = 0; n < count; n++)
        {
            for (int r = 0; r < replicas; r++)
            {
                int row = n * replicas + r;
                features.Slice(n * _sampleSize, _sampleSize).CopyTo(_features.AsSpan(row * _sampleSize, _sampleSize));
                _labels[row] = labels[n];
                _weights[row] = 1f / (replicas * Graph.ClassRuns);
            }
        }
        _features.AsSpan(count * replicas * _sampleSize).Clear();
        _labels.AsSpan(count * replicas).Clear();
        if (Graph.Curvature == CurvatureKind.GgnMonteCarlo)
        {
            Random generator = random ?? throw new ArgumentNullException(nameof(random), "ggn-mc draws labels and needs a seeded generator.");
            for (int i = 0; i < _uniform.Length; i++)
            {
                _uniform[i] = (float)generator.NextDouble();
            }
        }

    }

    public void Dispose() => _session.Dispose();
}
