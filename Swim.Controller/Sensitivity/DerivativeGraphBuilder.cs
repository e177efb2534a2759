using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Controller.Sensitivity;

/// <summary>
/// Builds a <see cref="DerivativeGraph"/> from a classifier: the forward graph (trailing Softmax stripped,
/// trainable parameters turned into inputs), a softmax cross-entropy head, and reverse-mode passes written
/// in standard ONNX operators, one rule per operator (the README's Sensitivity section lists them and how they are checked).
/// </summary>
/// <remarks>
/// Every op rule is written once for three kinds of pass: the gradient; SWIM's OBD curvature, which carries
/// p(1-p) back with squared coefficients and forms weight terms from squared activations; and the per-sample
/// squared pass of the exact Gauss-Newton diagonal, which carries square-root-factor columns back linearly
/// and squares each sample's own weight gradient before summing. Static shapes come from a probe pass at
/// the graph's batch size, so the graph is tied to that batch size; callers pad a short last batch with
/// zero-weight samples.
/// </remarks>
public sealed partial class DerivativeGraphBuilder
{
    /// <summary>Operators whose derivative Swim builds; anything else on the path from a weight to the loss is refused.</summary>
    public static readonly IReadOnlyList<string> SupportedOperators =
    [
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Tanh", "Sigmoid",
        "HardSigmoid", "HardSwish", "Softplus", "Erf", "PRelu", "Sqrt", "Pow",
        "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "BatchNormalization", "LayerNormalization", "Flatten", "Reshape", "Transpose",
        "Squeeze", "Unsqueeze", "Pad", "Identity", "Dropout", "Concat", "Cast",
    ];

    private static readonly HashSet<string> s_softmaxOps = ["Softmax", "LogSoftmax"];
    private static readonly HashSet<string> s_shapeOnlyOps = ["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"];

    private readonly OnnxModel _model;
    private readonly GraphBuilder _g;
    private readonly List<NodeProto> _forward;
    private readonly ShapeProbe _probe;
    private readonly HashSet<string> _parameters;
    private readonly HashSet<string> _needsGradient = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dependsOnData = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _squares = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _transposed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _columns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _flipped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _masks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reluMaskedByPool = new(StringComparer.Ordinal);
    private readonly Dictionary<float, string> _scalars = [];
    private readonly string _dataInput;
    private readonly int _batch;

    /// <summary>Whether the Gauss-Newton seed's class comes from an input (one run per class) rather than from the batch row.</summary>
    private bool _classInput;
    private Dictionary<string, List<string>> _upstream = new(StringComparer.Ordinal);
    private PassKind _kind;

    /// <summary>
    /// For a per-sample squared pass, the parameters read by more than one layer (a Siamese branch, a tied weight) and
    /// each read's per-sample derivative, unsquared ([samples, weight...]): the square is taken of their sum, which
    /// keeps the cross terms between the reads.
    /// </summary>
    private readonly Dictionary<string, List<string>> _perSampleParts = new(StringComparer.Ordinal);

    private enum PassKind
    {
        Gradient,
        Curvature,
        PerSampleSquared,
    }

    private DerivativeGraphBuilder(OnnxModel model, GraphBuilder graph, List<NodeProto> forward, ShapeProbe probe,
        IReadOnlyList<TrainableParameter> parameters, string dataInput, int batch)
    {
        _model = model;
        _g = graph;
        _forward = forward;
        _probe = probe;
        _parameters = new HashSet<string>(parameters.Select(p => p.Name), StringComparer.Ordinal);
        _dataInput = dataInput;
        _batch = batch;
    }

    /// <summary>Builds the derivative graph of <paramref name="model"/> for runs of <paramref name="samplesPerRun"/> samples.</summary>
    /// <param name="sampleShape">One sample as the model takes it (see <see cref="OnnxModel.ResolveSampleShape"/>).</param>
    /// <param name="gradients">
    /// Whether the graph returns gradients too. SWIM's, U-SWIM's and cell-level ranking read the curvature alone, and
    /// leaving the gradient's reverse pass out of the graph saves about a third of its work.
    /// </param>
    /// <param name="samplesPerRun">Samples a run; <see cref="AutoBatch"/> to choose from the model's activation memory (see <see cref="ChooseBatch"/>), at most <paramref name="autoLimit"/>.</param>
    public static DerivativeGraph Build(OnnxModel model, long[] sampleShape, int samplesPerRun, CurvatureKind curvature, bool gradients = true, int autoLimit = DefaultBatch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (!gradients && curvature == CurvatureKind.None)
        {
            throw new ArgumentException("a graph without gradients needs a curvature.", nameof(gradients));
        }
        if (model.FixedBatchSize is { } fixedBatch && fixedBatch != samplesPerRun && curvature != CurvatureKind.Ggn)
        {
            samplesPerRun = fixedBatch;
        }
        IReadOnlyList<TrainableParameter> parameters = TrainableParameter.Find(model);
        string dataInput = model.SingleDataInput().Name;
        (GraphBuilder graph, string logits, long? softmaxAxis) = PrepareForward(model);
        long opset = OpsetUpgrade.TargetOpset;
        // One probing session for both batch sizes: loading the weights is most of a probe's cost.
        using var prober = new ShapeProber(graph.Graph, opset, dataInput);
        (int classes, long activationBytes) = ProbeOneBatch(prober, graph.Graph, sampleShape, logits, model.FixedBatchSize ?? 1);
        if (samplesPerRun == AutoBatch)
        {
            samplesPerRun = ChooseBatch(activationBytes / (model.FixedBatchSize ?? 1), Math.Max(1, autoLimit));
        }
        // A model that fixes its batch (most zoo files fix 1) cannot take every sample once per class in one run: the
        // class becomes an input, and the session runs each batch once per class instead.
        bool classRuns = curvature == CurvatureKind.Ggn && model.FixedBatchSize is { } fixedSize && fixedSize != samplesPerRun * classes;
        if (classRuns)
        {
            samplesPerRun = model.FixedBatchSize!.Value;
        }
        int batch = samplesPerRun * (curvature == CurvatureKind.Ggn && !classRuns ? classes : 1);
        if (model.FixedBatchSize is { } b && b != batch)
        {
            throw new OnnxModelException(
                $"model {model.Description} fixes its batch size to {b}, but this derivative graph needs batches of {batch}" +
                (curvature == CurvatureKind.Ggn ? $" ({samplesPerRun} samples x {classes} classes for --curvature ggn); export the model with a dynamic batch axis, or use --curvature obd or ggn-mc." : "; export the model with a dynamic batch axis."));
        }
        ShapeProbe probe = prober.At([batch, .. sampleShape]);
        CheckSoftmaxAxis(model, probe.Shape(logits), softmaxAxis);
        var builder = new DerivativeGraphBuilder(model, graph, [.. graph.Graph.Node], probe, parameters, dataInput, batch) { _classInput = classRuns };
        ModelProto built = builder.Assemble(logits, classes, sampleShape, curvature, gradients, parameters);
        return new DerivativeGraph(built, batch, samplesPerRun, classes, sampleShape, curvature, parameters)
        {
            DataInput = dataInput, HasGradients = gradients, ClassRuns = classRuns ? classes : 1,
            ForwardBytesPerSample = activationBytes / (model.FixedBatchSize ?? 1),
        };
    }

    /// <summary>
    /// Clones the forward graph, upgrades it to opset 18 and strips a trailing Softmax or LogSoftmax (also behind
    /// nodes that only rename or reshape it); returns the logits' name and the axis the stripped softmax normalized
    /// (null when there was none), which <see cref="CheckSoftmaxAxis"/> checks once shapes are known.
    /// </summary>
    private static (GraphBuilder Graph, string Logits, long? SoftmaxAxis) PrepareForward(OnnxModel model)
    {
        long originalOpset = model.DefaultOpset;
        long? softmaxAxis = null;
        GraphProto graph = model.Graph.Clone();
        graph.Output.Clear();
        graph.ValueInfo.Clear();
        var builder = new GraphBuilder(graph);
        OpsetUpgrade.Apply(builder, model.DefaultOpset);
        string logits = model.ScoresOutput.Name;
        NodeProto? Producer(string value) => graph.Node.LastOrDefault(n => n.Output.Contains(value));
        while (true)
        {
            // Exporters often end a graph in Identity nodes that only name the output (tf2onnx does), or reshape the
            // probabilities of a convolutional head ([N, C, 1, 1] to [N, C]); a softmax behind them is still the
            // model's last real operation.
            var renames = new List<NodeProto>();
            NodeProto? producer = Producer(logits);
            while (producer is not null && s_shapeOnlyOps.Contains(producer.OpType))
            {
                renames.Add(producer);
                producer = Producer(producer.Input[0]);
            }
            if (producer is null || !s_softmaxOps.Contains(producer.OpType))
            {
                break;
            }
            // Nothing else may read what is removed; a value read elsewhere keeps its nodes (they cost a softmax, nothing more).
            var removed = new HashSet<NodeProto>(renames) { producer };
            if (!graph.Node.Any(n => !removed.Contains(n) && n.Input.Any(i => removed.Any(r => r.Output.Contains(i)))))
            {
                foreach (NodeProto node in removed)
                {
                    graph.Node.Remove(node);
                }
            }
            logits = producer.Input[0];
            // Before opset 13 a softmax's axis defaulted to 1 and flattened the axes from it on; from 13, -1.
            softmaxAxis = IntAttribute(producer, "axis", originalOpset < 13 ? 1 : -1);
        }
        return (builder, logits, softmaxAxis);
    }

    /// <summary>
    /// A stripped softmax must have normalized over the classes: in the logits' shape [N, ...], every axis but the
    /// batch and the softmax's own has size 1. Otherwise the loss Swim builds on the logits is not the model's.
    /// </summary>
    private static void CheckSoftmaxAxis(OnnxModel model, long[] logitsShape, long? axis)
    {
        if (axis is not long given)
        {
            return;
        }
        long normalized = given < 0 ? given + logitsShape.Length : given;
        bool overClasses = normalized >= 1 && normalized < logitsShape.Length
            && logitsShape.Select((d, i) => i == 0 || i == normalized || d == 1).All(ok => ok);
        if (!overClasses)
        {
            throw new OnnxModelException(
                $"model {model.Description}: its final softmax normalizes axis {given} of scores shaped [{string.Join(", ", logitsShape)}], not one class axis per sample; Swim computes the loss of [batch, classes] scores. Export the model without the softmax, or with the softmax over the class axis.");
        }
    }

    /// <summary>The classes the model scores and the bytes of every float value its forward pass makes, at one batch.</summary>
    private static (int Classes, long ActivationBytes) ProbeOneBatch(ShapeProber prober, GraphProto graph, long[] sampleShape, string logits, int batch)
    {
        ShapeProbe probe = prober.At([batch, .. sampleShape]);
        long[] shape = probe.Shape(logits);
        long bytes = graph.Node.SelectMany(n => n.Output).Where(v => probe.Knows(v) && probe.IsFloat(v)).Sum(v => probe.Shape(v).Aggregate(4L, (a, d) => a * d));
        return (checked((int)(shape.Aggregate(1L, (a, d) => a * d) / batch)), bytes);
    }

    /// <summary>Ask <see cref="Build"/> to choose the batch.</summary>
    public const int AutoBatch = 0;

    /// <summary>The most samples a run takes when the batch is chosen (the old fixed default).</summary>
    public const int DefaultBatch = 256;

    /// <summary>
    /// Forward activations a run may hold when the batch is chosen: a derivative graph keeps them all for the reverse
    /// passes and makes about as much again in gradients, curvatures and im2col columns. Measured on a CIFAR ResNet-18
    /// (5.7 MB of forward values a sample): batch 8 ran as fast a sample as 32 (kernels 45 to 47 ms a sample, one
    /// thread) with a third of the memory, and gave the two sessions of a 256-sample pass 16 batches to share.
    /// </summary>
    public const long ActivationBudgetBytes = 48L << 20;

    /// <summary>
    /// The batch for a model whose forward pass makes <paramref name="bytesPerSample"/> of float values a sample:
    /// as many samples as fit <see cref="ActivationBudgetBytes"/>, at least 1 and at most <paramref name="limit"/>.
    /// </summary>
    public static int ChooseBatch(long bytesPerSample, int limit) =>
        (int)Math.Clamp(ActivationBudgetBytes / Math.Max(1, bytesPerSample), 1, Math.Max(1, limit));

    private ModelProto Assemble(string logits, int classes, long[] sampleShape, CurvatureKind curvature, bool withGradients, IReadOnlyList<TrainableParameter> parameters)
    {
        CollectConstants();
        MarkDependencies();
        CheckSupported(logits);
        MakeParametersInputs(parameters);
        MaxPoolsWithIndices();
        FoldReluMasksIntoPools();

        Graph.Input.Clear();
        _g.Input(_dataInput, DataType.Float, [.. new long[] { _batch }.Concat(sampleShape)]);
        string labels = _g.Input(DerivativeGraph.LabelsInput, DataType.Int64, _batch);
        string weights = _g.Input(DerivativeGraph.WeightsInput, DataType.Float, _batch);
        foreach (TrainableParameter p in parameters)
        {
            Graph.Input.Add(GraphBuilder.ValueInfo(p.Name, DataType.Float, p.Dims.Select(d => (object)d).ToArray()));
        }

        // The head: softmax cross-entropy on logits z of shape [B, C], weighted per sample.
        string z = Reshape(logits, [_batch, classes]);
        string probabilities = _g.Node("Softmax", [z], ("axis", 1));
        string logProbabilities = _g.Node("LogSoftmax", [z], ("axis", 1));
        string oneHot = _g.Node("OneHot", [labels, _g.Ints("classes", classes), _g.Initializer("one_hot_values", [2], [0f, 1f])], ("axis", -1));
        string w = _g.Node("Unsqueeze", [weights, _g.Ints("axis1", 1)]);
        string nll = _g.Node("Neg", [_g.Node("ReduceSum", [_g.Node("Mul", [logProbabilities, oneHot]), _g.Ints("axis1", 1)], ("keepdims", 0))]);
        Output(_g.Node("ReduceSum", [_g.Node("Mul", [nll, weights])], ("keepdims", 0)), DerivativeGraph.LossOutput);
        string predicted = _g.Node("ArgMax", [z], ("axis", 1), ("keepdims", 0));
        string hits = _g.Node("Cast", [_g.Node("Equal", [predicted, labels])], ("to", (int)DataType.Float));
        Output(_g.Node("ReduceSum", [_g.Node("Mul", [hits, weights])], ("keepdims", 0)), DerivativeGraph.CorrectOutput);
        string residual = _g.Node("Sub", [probabilities, oneHot]);

        // Gradient: d(loss)/dz = w (p - onehot).
        if (withGradients)
        {
            Dictionary<string, string> gradients = Backward(logits, Reshape(_g.Node("Mul", [residual, w]), _probe.Shape(logits)), PassKind.Gradient);
            foreach (TrainableParameter p in parameters)
            {
                Output(gradients.GetValueOrDefault(p.Name) ?? Zeros(p.Dims), DerivativeGraph.GradientOutput(p.Name));
            }
        }

        Dictionary<string, string>? curvatures = curvature switch
        {
            CurvatureKind.None => null,
            CurvatureKind.Obd => Backward(logits, Reshape(_g.Node("Mul", [_g.Node("Mul", [probabilities, _g.Node("Sub", [Scalar(1f), probabilities])]), w]), _probe.Shape(logits)), PassKind.Curvature),
            CurvatureKind.Ggn => Backward(logits, Reshape(GgnSeed(probabilities, w, classes), _probe.Shape(logits)), PassKind.PerSampleSquared),
            CurvatureKind.GgnMonteCarlo => Backward(logits, Reshape(MonteCarloSeed(probabilities, w, classes), _probe.Shape(logits)), PassKind.PerSampleSquared),
            _ => throw new ArgumentOutOfRangeException(nameof(curvature)),
        };
        if (curvatures is not null)
        {
            foreach (TrainableParameter p in parameters)
            {
                Output(curvatures.GetValueOrDefault(p.Name) ?? Zeros(p.Dims), DerivativeGraph.CurvatureOutput(p.Name));
            }
        }
        return _g.ToModel(OpsetUpgrade.TargetOpset);
    }

    /// <summary>
    /// Column c of a square-root factor of diag(p) - p p^T is sqrt(p_c) (e_c - p). Sample n runs as rows
    /// n*C .. n*C + C - 1, row n*C + c carrying column c; the fed weights are w_n / C, so sqrt(C w) restores
    /// sqrt(w_n) (the factor for a weighted sum of losses).
    /// </summary>
    private string GgnSeed(string probabilities, string w, int classes)
    {
        var select = new float[_batch * classes];
        for (int row = 0; row < _batch; row++)
        {
            select[row * classes + row % classes] = 1f;
        }
        string e = _classInput ? _g.Input(DerivativeGraph.GgnClassInput, DataType.Float, _batch, classes) : _g.Initializer("ggn_columns", [_batch, classes], select);
        string pc = _g.Node("ReduceSum", [_g.Node("Mul", [probabilities, e]), _g.Ints("axis1", 1)], ("keepdims", 1));
        string scale = _g.Node("Sqrt", [_g.Node("Mul", [_g.Node("Mul", [pc, w]), Scalar(classes)])]);
        return _g.Node("Mul", [scale, _g.Node("Sub", [e, probabilities])]);
    }

    /// <summary>
    /// sqrt(w) (p - e_y) with y drawn from p by inverse transform sampling: y counts the classes whose
    /// cumulative probability is below a uniform draw fed from outside (seeded, so runs repeat).
    /// </summary>
    private string MonteCarloSeed(string probabilities, string w, int classes)
    {
        string uniform = _g.Input(DerivativeGraph.UniformInput, DataType.Float, _batch);
        string cumulative = _g.Node("CumSum", [probabilities, _g.Int64Initializer("axis_scalar", [], [1])]);
        string below = _g.Node("Cast", [_g.Node("Less", [cumulative, _g.Node("Unsqueeze", [uniform, _g.Ints("axis1", 1)])])], ("to", (int)DataType.Int64));
        string drawn = _g.Node("Min", [_g.Node("ReduceSum", [below, _g.Ints("axis1", 1)], ("keepdims", 0)), _g.Int64Initializer("last_class", [], [classes - 1])]);
        string oneHot = _g.Node("OneHot", [drawn, _g.Ints("classes", classes), _g.Initializer("one_hot_values", [2], [0f, 1f])], ("axis", -1));
        return _g.Node("Mul", [_g.Node("Sqrt", [w]), _g.Node("Sub", [probabilities, oneHot])]);
    }

    private GraphProto Graph => _g.Graph;

    private void Output(string value, string name)
    {
        Graph.Node.Add(new NodeProto { OpType = "Identity", Name = _g.Fresh("output_" + name), Input = { value }, Output = { name } });
        Graph.Output.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
        });
    }

    /// <summary>Reverse pass from <paramref name="seed"/> at <paramref name="root"/>; returns each parameter's accumulated result.</summary>
    private Dictionary<string, string> Backward(string root, string seed, PassKind kind)
    {
        _kind = kind;
        _upstream = new Dictionary<string, List<string>>(StringComparer.Ordinal) { [root] = [seed] };
        _perSampleParts.Clear();
        if (kind == PassKind.PerSampleSquared)
        {
            foreach (string shared in SharedParameters())
            {
                _perSampleParts[shared] = [];
            }
        }
        for (int i = _forward.Count - 1; i >= 0; i--)
        {
            NodeProto node = _forward[i];
            if (node.Output.Count == 0 || !_upstream.ContainsKey(node.Output[0]) || !node.Input.Any(_needsGradient.Contains))
            {
                continue;
            }
            string dy = Upstream(node.Output[0])!;
            Propagate(node, dy);
        }
        foreach ((string parameter, List<string> parts) in _perSampleParts.Where(p => p.Value.Count > 0))
        {
            string total = parts.Count == 1 ? parts[0] : _g.Node("Sum", parts);
            Contribute(parameter, ReduceSum(Square(total), [0], keepDims: false));
        }
        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string parameter in _parameters)
        {
            if (Upstream(parameter) is { } total)
            {
                results[parameter] = total;
            }
        }
        return results;
    }

    /// <summary>
    /// Parameters that more than one node on the loss's path reads; each read must be the weight of a Conv (one group),
    /// a Gemm or a MatMul, where the per-sample derivative is formed before it is squared.
    /// </summary>
    private IEnumerable<string> SharedParameters()
    {
        foreach (string parameter in _parameters)
        {
            NodeProto[] readers = [.. _forward.Where(n => n.Input.Contains(parameter))];
            if (readers.Length < 2)
            {
                continue;
            }
            if (readers.FirstOrDefault(n => !(n.OpType is "Conv" or "Gemm" or "MatMul" && n.Input.Count > 1 && n.Input[1] == parameter
                && n.Input.Count(i => i == parameter) == 1 && !(n.OpType == "Conv" && IntAttribute(n, "group", 1) != 1))) is { } other)
            {
                throw Unsupported(other, $"it reads weight '{parameter}', which {readers.Length} nodes read; the ggn curvatures keep the cross terms of a weight read by several layers only where each read is a Conv (one group), Gemm or MatMul weight. Use --curvature obd");
            }
            yield return parameter;
        }
    }

    /// <summary>Whether <paramref name="value"/> is a parameter whose per-sample derivatives are summed before squaring.</summary>
    private bool SharedPerSample(string value) => _kind == PassKind.PerSampleSquared && _perSampleParts.ContainsKey(value);

    private string? Upstream(string value)
    {
        if (!_upstream.TryGetValue(value, out List<string>? parts) || parts.Count == 0)
        {
            return null;
        }
        if (parts.Count > 1)
        {
            string sum = _g.Node("Sum", parts);
            parts.Clear();
            parts.Add(sum);
        }
        return parts[0];
    }

    private void Contribute(string value, string contribution)
    {
        if (!_needsGradient.Contains(value))
        {
            return;
        }
        if (!_upstream.TryGetValue(value, out List<string>? parts))
        {
            _upstream[value] = parts = [];
        }
        parts.Add(contribution);
    }

    private bool Needs(NodeProto node, int input) => input < node.Input.Count && _needsGradient.Contains(node.Input[input]);

    /// <summary>A value computed from parameters alone (a weight, a transposed weight): its contributions are weight terms.</summary>
    private bool IsWeightBranch(string value) => _needsGradient.Contains(value) && !_dependsOnData.Contains(value);

    private void CollectConstants()
    {
        foreach (TensorProto t in Graph.Initializer)
        {
            _constants[t.Name] = t;
        }
        foreach (NodeProto node in Graph.Node.Where(n => n.OpType == "Constant"))
        {
            AttributeProto? value = node.Attribute.FirstOrDefault(a => a.Name == "value");
            if (value?.T is { } tensor)
            {
                _constants[node.Output[0]] = tensor;
            }
        }
    }

    private void MarkDependencies()
    {
        _dependsOnData.Add(_dataInput);
        foreach (string p in _parameters)
        {
            _needsGradient.Add(p);
        }
        foreach (NodeProto node in _forward)
        {
            if (node.OpType is "Shape" or "Size")
            {
                continue;
            }
            bool data = node.Input.Any(_dependsOnData.Contains);
            bool grad = node.Input.Any(_needsGradient.Contains);
            foreach (string output in node.Output)
            {
                if (data)
                {
                    _dependsOnData.Add(output);
                }
                if (grad && _probe.IsFloat(output))
                {
                    _needsGradient.Add(output);
                }
            }
        }
    }

    private void CheckSupported(string logits)
    {
        var onPath = new HashSet<string>(StringComparer.Ordinal) { logits };
        for (int i = _forward.Count - 1; i >= 0; i--)
        {
            NodeProto node = _forward[i];
            if (!node.Output.Any(onPath.Contains) || !node.Input.Any(_needsGradient.Contains))
            {
                continue;
            }
            bool defaultDomain = string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx";
            if (!defaultDomain || !SupportedOperators.Contains(node.OpType))
            {
                throw new OnnxModelException(
                    $"model {_model.Description}: node '{OnnxModel.NodeLabel(node, i)}' uses op '{(defaultDomain ? node.OpType : node.Domain + "." + node.OpType)}', which the sensitivity graph does not support " +
                    $"(supported: {string.Join(", ", SupportedOperators)}). Export the model without it, or replace the layer.");
            }
            foreach (string input in node.Input.Where(_needsGradient.Contains))
            {
                onPath.Add(input);
            }
        }
        if (!_needsGradient.Contains(logits))
        {
            throw new OnnxModelException($"model {_model.Description}: no mapped weight reaches the output '{logits}'.");
        }
    }

    private void MakeParametersInputs(IReadOnlyList<TrainableParameter> parameters)
    {
        foreach (TrainableParameter p in parameters)
        {
            TensorProto? initializer = Graph.Initializer.FirstOrDefault(t => t.Name == p.Name);
            if (initializer is not null)
            {
                Graph.Initializer.Remove(initializer);
            }
        }
    }

    /// <summary>Gives every MaxPool on a differentiated path its Indices output, which its derivative routes by.</summary>
    private void MaxPoolsWithIndices()
    {
        foreach (NodeProto node in _forward.Where(n => n.OpType == "MaxPool" && _needsGradient.Contains(n.Output[0])))
        {
            if (node.Attribute.Any(a => a.Name == "storage_order" && a.I != 0))
            {
                throw new OnnxModelException($"model {_model.Description}: MaxPool node '{node.Name}' uses storage_order = 1 (column-major indices), which the sensitivity graph does not support.");
            }
            if (node.Output.Count < 2 || node.Output[1].Length == 0)
            {
                if (node.Output.Count < 2)
                {
                    node.Output.Add(_g.Fresh(node.Output[0] + "_indices"));
                }
                else
                {
                    node.Output[1] = _g.Fresh(node.Output[0] + "_indices");
                }
            }
        }
    }

    /// <summary>
    /// Finds each ReLU whose only reader is a MaxPool. Its derivative is non-zero only where the pool routes one,
    /// and there relu(x) is the pooled value, so the ReLU's mask can be read off the pooled output instead: the
    /// same result on a tensor a window's size smaller (LeNet-5: 1/4), and the ReLU's own rule passes through.
    /// </summary>
    private void FoldReluMasksIntoPools()
    {
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string value in Graph.Node.SelectMany(n => n.Input).Concat(Graph.Output.Select(o => o.Name)))
        {
            readers[value] = readers.GetValueOrDefault(value) + 1;
        }
        var producers = _forward.Where(n => n.Output.Count > 0).ToDictionary(n => n.Output[0], StringComparer.Ordinal);
        foreach (NodeProto pool in _forward.Where(n => n.OpType == "MaxPool" && _needsGradient.Contains(n.Output[0])))
        {
            string input = pool.Input[0];
            if (producers.TryGetValue(input, out NodeProto? relu) && relu.OpType == "Relu" && readers.GetValueOrDefault(input) == 1)
            {
                _reluMaskedByPool.Add(input);
            }
        }
    }
}
