using Google.Protobuf;
using Swim.Controller.Data;
using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Onnx;

/// <summary>
/// An ONNX model held as its protobuf message: what is in it, which weights a crossbar holds, and replacing
/// those weights without touching anything else.
/// </summary>
/// <remarks>
/// Weights stored in external data files are read into the model at load time, so every model Swim holds is
/// self-contained: it can be handed to ONNX Runtime as bytes and saved anywhere. Protobuf caps a message at
/// 2 GiB, which bounds the models Swim handles; crossbar test chips hold far less.
/// </remarks>
public sealed class OnnxModel
{
    private static readonly HashSet<string> s_passThroughOps = ["Transpose", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast"];

    /// <summary>Operators that give a tensor another shape and keep its elements in their order.</summary>
    private static readonly HashSet<string> s_reshapeOps = ["Reshape", "Flatten", "Squeeze", "Unsqueeze"];

    private readonly Dictionary<string, TensorProto> _initializers;

    private OnnxModel(ModelProto proto, string description)
    {
        Proto = proto;
        Description = description;
        _initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (TensorProto tensor in proto.Graph.Initializer)
        {
            _initializers[tensor.Name] = tensor;
        }
    }

    /// <summary>The underlying message; changes to it are saved as they are.</summary>
    public ModelProto Proto { get; }

    /// <summary>Where the model came from, for messages.</summary>
    public string Description { get; }

    public GraphProto Graph => Proto.Graph;

    public IReadOnlyList<NodeProto> Nodes => Proto.Graph.Node;

    public IReadOnlyDictionary<string, TensorProto> Initializers => _initializers;

    /// <summary>Graph inputs fed at run time: those that are not also initializers (older exporters list both).</summary>
    public IReadOnlyList<ValueInfoProto> Inputs =>
        Proto.Graph.Input.Where(i => !_initializers.ContainsKey(i.Name)).ToList();

    public IReadOnlyList<ValueInfoProto> Outputs => Proto.Graph.Output;

    /// <summary>
    /// The class scores: the first float32 output (or, when no output declares a type, the first). Classifiers from
    /// some converters (skl2onnx, Keras with a label head) list the predicted label, an integer, first.
    /// </summary>
    public ValueInfoProto ScoresOutput
    {
        get
        {
            if (Outputs.Count == 0)
            {
                throw new OnnxModelException($"model {Description} has no outputs.");
            }
            return Outputs.FirstOrDefault(o => o.Type?.TensorType?.ElemType == (int)TensorProto.Types.DataType.Float)
                ?? Outputs.FirstOrDefault(o => o.Type?.TensorType is null or { ElemType: 0 })
                ?? throw new OnnxModelException(
                    $"model {Description} has no float32 output ({string.Join(", ", Outputs.Select(o => $"'{o.Name}' {(o.Type?.TensorType is { } t ? TensorData.DataTypeName(t.ElemType) : "not a tensor")}"))}); " +
                    "Swim reads class scores as float32. Export the model with its scores (logits or probabilities) as an output.");
        }
    }

    /// <summary>The opset of the default (ai.onnx) domain.</summary>
    public long DefaultOpset =>
        Proto.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")?.Version ?? 0;

    public static OnnxModel Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new OnnxModelException($"model file '{path}' does not exist; check the path.");
        }
        byte[] bytes = File.ReadAllBytes(path);
        return FromBytes(bytes, $"'{path}'", Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses a model; <paramref name="externalDataDirectory"/> is where external weight files are looked up.</summary>
    public static OnnxModel FromBytes(byte[] bytes, string description, string? externalDataDirectory)
    {
        if (bytes.Length == 0)
        {
            throw new OnnxModelException($"model {description} is empty; it is not an ONNX file. Export the model again.");
        }
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex) when (ex.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase))
        {
            throw new OnnxModelException(
                $"model {description} is truncated: the file ends in the middle of a protobuf field ({bytes.Length} bytes read). Copy or export it again.", ex);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OnnxModelException(
                $"model {description} is not an ONNX file (it does not parse as an ONNX ModelProto: {ex.Message}). Give Swim a .onnx file exported by your framework.", ex);
        }
        if (proto.Graph is null || proto.IrVersion <= 0)
        {
            throw new OnnxModelException(
                $"model {description} is not an ONNX file: it has no {(proto.Graph is null ? "graph" : "IR version")}. Give Swim a .onnx file exported by your framework.");
        }
        if (proto.OpsetImport.Count == 0)
        {
            throw new OnnxModelException(
                $"model {description} declares no operator set; the file is truncated or was not written by an ONNX exporter. Export it again.");
        }
        if (proto.Graph.Node.Count == 0)
        {
            throw new OnnxModelException($"model {description} has an empty graph: there is nothing to evaluate or map.");
        }
        RefuseTrainingMode(proto.Graph, description);
        HoistConstantTensors(proto);
        LoadExternalData(proto, description, externalDataDirectory);
        return new OnnxModel(proto, description);
    }

    /// <summary>
    /// A batch norm exported in training mode normalises by the statistics of the batch it is given, so a sample's
    /// scores would depend on the samples beside it (and ONNX Runtime refuses most such files with a shape error
    /// that does not say why). Training mode is the attribute (opset 14 on) or the running statistics as outputs.
    /// </summary>
    private static void RefuseTrainingMode(GraphProto graph, string description)
    {
        for (int index = 0; index < graph.Node.Count; index++)
        {
            NodeProto node = graph.Node[index];
            if (node.OpType != "BatchNormalization" || !IsDefaultDomain(node))
            {
                continue;
            }
            bool trainingAttribute = node.Attribute.Any(a => a.Name == "training_mode" && a.I != 0);
            bool statisticsOut = node.Output.Skip(1).Any(o => o.Length > 0);
            if (trainingAttribute || statisticsOut)
            {
                throw new OnnxModelException(
                    $"model {description}: node '{NodeLabel(node, index)}' (BatchNormalization) is exported in training mode " +
                    $"({(trainingAttribute ? "training_mode = 1" : $"{node.Output.Count} outputs, the running statistics among them")}), " +
                    "so it normalises each sample by the statistics of its batch. Export the model for inference: call model.eval() " +
                    "before torch.onnx.export (and leave its training argument at TrainingMode.EVAL).");
            }
        }
    }

    /// <summary>
    /// Some exporters store weights as Constant nodes instead of initializers. Each Constant holding a tensor becomes
    /// the initializer of the same name (ONNX gives both the same meaning), so such weights are found, mapped and
    /// replaced like any other. Before IR version 4 every initializer must also be a graph input, so one is added.
    /// </summary>
    private static void HoistConstantTensors(ModelProto proto)
    {
        GraphProto graph = proto.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        foreach (NodeProto node in graph.Node.ToList())
        {
            if (node.OpType != "Constant" || node.Domain is not ("" or "ai.onnx") || node.Output.Count != 1 || node.Attribute.Count != 1
                || node.Attribute[0].Name != "value" || node.Attribute[0].T is not { } tensor || initializers.Contains(node.Output[0]))
            {
                continue;
            }
            tensor.Name = node.Output[0];
            graph.Initializer.Add(tensor);
            initializers.Add(tensor.Name);
            graph.Node.Remove(node);
            if (proto.IrVersion < 4 && !graph.Input.Any(i => i.Name == tensor.Name))
            {
                graph.Input.Add(new ValueInfoProto
                {
                    Name = tensor.Name,
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = tensor.DataType, Shape = new TensorShapeProto { Dim = { tensor.Dims.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }) } } } },
                });
            }
        }
    }

    /// <summary>The single run-time input of a classifier; any other count is refused with the names found.</summary>
    public ValueInfoProto SingleDataInput()
    {
        IReadOnlyList<ValueInfoProto> inputs = Inputs;
        if (inputs.Count == 1)
        {
            return inputs[0];
        }
        if (inputs.Count == 0)
        {
            throw new OnnxModelException($"model {Description} has no run-time input; Swim needs a classifier that takes one float tensor.");
        }
        throw new OnnxModelException(
            $"model {Description} has {inputs.Count} inputs that are not initializers ({string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}); " +
            "Swim drives classifiers with exactly one data input. Export the model with the other inputs folded into initializers.");
    }

    /// <summary>
    /// The shape of one sample as the model takes it, for data whose samples are <paramref name="dataShape"/>:
    /// the model's own where it is fixed (data with as many values is reshaped, e.g. 1x28x28 into 784),
    /// the data's where it is dynamic.
    /// </summary>
    public long[] ResolveSampleShape(IReadOnlyList<int> dataShape)
    {
        ArgumentNullException.ThrowIfNull(dataShape);
        long[] declared = DeclaredInputShape()[1..];
        long dataSize = dataShape.Aggregate(1L, (a, d) => a * d);
        if (declared.All(d => d > 0))
        {
            long modelSize = declared.Aggregate(1L, (a, d) => a * d);
            if (modelSize != dataSize)
            {
                throw new SwimInputException(
                    $"model {Description} takes samples of shape [{string.Join(" x ", declared)}] ({modelSize} values), but the data's samples are [{string.Join(" x ", dataShape)}] ({dataSize} values); use data made for this model.");
            }
            if (ChannelMoveFor(declared, dataShape) is not null)
            {
                // Same size, other channel order: read as it is, every image would be scrambled.
                throw new ArgumentException(
                    $"samples of shape [{string.Join(" x ", dataShape)}] hold the channels in the other order than model {Description} takes ([{string.Join(" x ", declared)}]); pass the data through OnnxModel.Arrange first.", nameof(dataShape));
            }
            return declared;
        }
        if (declared.Length == dataShape.Count && declared.Zip(dataShape).All(p => p.First <= 0 || p.First == p.Second))
        {
            return dataShape.Select(d => (long)d).ToArray();
        }
        throw new SwimInputException(
            $"model {Description} takes samples of shape [{string.Join(" x ", declared.Select(d => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?"))}], which data of shape [{string.Join(" x ", dataShape)}] does not fit; use data made for this model.");
    }

    /// <summary>
    /// <paramref name="data"/> as this model reads it: images stored channels-last (H x W x C, as Keras and TensorFlow
    /// save them) for a model that takes C x H x W, or the other way round, have their channels moved as they stream.
    /// Reinterpreting them by size alone would scramble every multi-channel image without an error. Data whose
    /// order already fits, or that fits neither order, is returned as it is (<see cref="ResolveSampleShape"/> judges it).
    /// </summary>
    public DataSet Arrange(DataSet data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return ChannelMoveFor(DeclaredInputShape()[1..], data.SampleShape) is { } move ? data.WithChannelsMoved(move) : data;
    }

    /// <summary>
    /// How images of <paramref name="shape"/> must move their channel axis to fit <paramref name="declared"/> (-1 for a
    /// dynamic dimension); null when they fit as they are, fit neither way, or have a single channel (whose memory
    /// layout is the same in both orders).
    /// </summary>
    private static DataSet.ChannelMove? ChannelMoveFor(long[] declared, IReadOnlyList<int> shape)
    {
        if (declared.Length != 3 || shape.Count != 3 || Fits([.. shape]))
        {
            return null;
        }
        if (shape[2] > 1 && Fits([shape[2], shape[0], shape[1]]))
        {
            return DataSet.ChannelMove.ToFirst;
        }
        return shape[0] > 1 && Fits([shape[1], shape[2], shape[0]]) ? DataSet.ChannelMove.ToLast : null;

        bool Fits(int[] candidate) => declared.Zip(candidate).All(p => p.First <= 0 || p.First == p.Second);
    }

    /// <summary>The data input's declared shape, -1 where a dimension is dynamic; the batch axis comes first.</summary>
    public long[] DeclaredInputShape()
    {
        ValueInfoProto input = SingleDataInput();
        long[] shape = input.Type?.TensorType?.Shape?.Dim.Select(d => d.HasDimValue && d.DimValue > 0 ? d.DimValue : -1).ToArray() ?? [];
        if (shape.Length < 2)
        {
            throw new OnnxModelException(
                $"model {Description}: input '{input.Name}' has rank {shape.Length}; Swim needs a batch axis first, then the sample (N x C x H x W or N x features).");
        }
        return shape;
    }

    /// <summary>The model's batch size when its input fixes one; null when the batch axis is dynamic.</summary>
    public int? FixedBatchSize => DeclaredInputShape()[0] is > 0 and var b ? checked((int)b) : null;

    /// <summary>Every crossbar-mapped weight, in graph order; an initializer shared by several nodes is listed once.</summary>
    public IReadOnlyList<MappedWeight> FindMappedWeights()
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (NodeProto node in Nodes)
        {
            foreach (string output in node.Output)
            {
                producers[output] = node;
            }
        }
        var found = new List<MappedWeight>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int n = 0; n < Nodes.Count; n++)
        {
            NodeProto node = Nodes[n];
            foreach (int index in WeightInputIndices(node))
            {
                if (index >= node.Input.Count)
                {
                    continue;
                }
                var path = new List<NodeProto>();
                string? source = ResolveInitializer(node.Input[index], producers, path);
                if (source is null || !seen.Add(source))
                {
                    continue;
                }
                TensorProto tensor = _initializers[source];
                path.Reverse();
                long[]? matrix = path.Any(p => s_reshapeOps.Contains(p.OpType)) ? MatrixView(tensor.Dims.ToArray(), path, node.OpType) : null;
                if (tensor.DataType != (int)TensorProto.Types.DataType.Float || tensor.Dims.Count < 2 && matrix is null
                    || path.Any(p => s_reshapeOps.Contains(p.OpType)) && matrix is null)
                {
                    seen.Remove(source);
                    continue;
                }
                found.Add(new MappedWeight(source, tensor.Dims.ToArray(), node.OpType, NodeLabel(node, n), index, [.. path.Select(p => p.OpType)]) { MatrixDims = matrix });
                // A MatMul with two constant operands is not a layer; its first constant operand is the weight.
                break;
            }
        }
        return found;
    }

    /// <summary>
    /// Float tensors of two or more dimensions that no mapped weight covers (an LSTM's, a MatMul weight reached
    /// through a Reshape), with the operators that consume them: they stay in the host's model, not on the crossbar,
    /// and a report says so.
    /// </summary>
    public IReadOnlyList<(string Name, string ConsumedBy)> UnmappedWeightTensors()
    {
        var mapped = FindMappedWeights().Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        return [.. _initializers.Values
            .Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count(d => d > 1) >= 2 && !mapped.Contains(t.Name))
            .Select(t => (t.Name, string.Join("/", Nodes.Where(n => n.Input.Contains(t.Name)).Select(n => n.OpType).Distinct())))];
    }

    /// <summary>
    /// Like <see cref="FindMappedWeights"/>, but a model without any is refused, and so is one whose mapped weights
    /// hold a NaN or an infinity: no conductance represents it, and every score and accuracy derived from it is NaN.
    /// </summary>
    public IReadOnlyList<MappedWeight> RequireMappedWeights()
    {
        IReadOnlyList<MappedWeight> weights = FindMappedWeights();
        if (weights.Count == 0)
        {
            throw new OnnxModelException(
                $"model {Description} has no weights a crossbar can hold: no float32 initializer feeds the weight of a Conv, Gemm or MatMul node " +
                $"(operators used: {string.Join(", ", Nodes.Select(x => x.OpType).Distinct())}). Check that the weights were exported as initializers, not as inputs.");
        }
        foreach (MappedWeight weight in weights)
        {
            float[] values = ReadWeights(weight.Name);
            int bad = Array.FindIndex(values, v => !float.IsFinite(v));
            if (bad >= 0)
            {
                throw new OnnxModelException(
                    $"model {Description}: weight '{weight.Name}' holds {values[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)} at flat index {bad}; " +
                    "every mapped weight must be a finite number. Re-export the model (a training run that diverged leaves such values).");
            }
        }
        return weights;
    }

    public TensorProto GetInitializer(string name) =>
        _initializers.TryGetValue(name, out TensorProto? tensor)
            ? tensor
            : throw new OnnxModelException($"model {Description} has no initializer named '{name}'.");

    public float[] ReadWeights(string name) => TensorData.ReadFloats(GetInitializer(name));

    /// <summary>Replaces an initializer's values in place; its name, shape and type stay as they are.</summary>
    public void ReplaceWeights(string name, ReadOnlySpan<float> values) => TensorData.WriteFloats(GetInitializer(name), values);

    /// <summary>A deep copy, so weights can be replaced without changing this model.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), Description);

    /// <summary>
    /// A copy in which the named initializers are also graph inputs, so ONNX Runtime lets each run feed other
    /// values for them (and does not fold them into constants): one session evaluates many perturbed weight sets.
    /// </summary>
    public OnnxModel WithOverridableInitializers(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        OnnxModel copy = Clone();
        var listed = copy.Graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in names)
        {
            TensorProto tensor = copy.GetInitializer(name);
            if (listed.Add(name))
            {
                copy.Graph.Input.Add(GraphBuilder.ValueInfo(name, (TensorProto.Types.DataType)tensor.DataType, [.. tensor.Dims.Cast<object>()]));
            }
        }
        return copy;
    }

    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>Writes the model to <paramref name="path"/> through a temporary file, so a failure never leaves half a model.</summary>
    public void Save(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(fullPath);
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        string temporary = fullPath + ".partial-" + Environment.ProcessId;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Proto.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>A readable label for a node: its name, or its op type and position when the exporter left it unnamed.</summary>
    public static string NodeLabel(NodeProto node, int index) =>
        string.IsNullOrEmpty(node.Name) ? $"{node.OpType}#{index}" : node.Name;

    private static IEnumerable<int> WeightInputIndices(NodeProto node) => node.OpType switch
    {
        "Conv" when IsDefaultDomain(node) => [1],
        "Gemm" when IsDefaultDomain(node) => [1, 0],
        "MatMul" when IsDefaultDomain(node) => [1, 0],
        _ => [],
    };

    private static bool IsDefaultDomain(NodeProto node) => string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx";

    /// <summary>
    /// The 2-D matrix a dense weight's stored elements form, in their own order, when reshaping nodes lie between it
    /// and its Gemm or MatMul: the shape after the last of them. Null (not mapped, and named as such) when the consumer
    /// is a Conv, a Transpose comes before a reshape (the elements would be read in another order), a target shape is
    /// not a constant, or the view is not 2-D.
    /// </summary>
    private long[]? MatrixView(long[] dims, List<NodeProto> path, string consumer)
    {
        if (consumer == "Conv")
        {
            return null;
        }
        long[] shape = dims;
        bool transposed = false;
        foreach (NodeProto step in path)
        {
            if (step.OpType == "Transpose")
            {
                transposed = true;
                continue;
            }
            if (!s_reshapeOps.Contains(step.OpType))
            {
                continue;
            }
            if (transposed || ReshapedDims(step, shape) is not { } next)
            {
                return null;
            }
            shape = next;
        }
        return shape.Length == 2 && shape.All(d => d > 0) ? shape : null;
    }

    /// <summary>A reshaping node's output shape from its input's and its constant arguments (null where they are not constants).</summary>
    private long[]? ReshapedDims(NodeProto node, long[] input)
    {
        long[]? Ints(int i) => i < node.Input.Count && _initializers.TryGetValue(node.Input[i], out TensorProto? t) ? TensorData.ReadInt64s(t)
            : node.Attribute.FirstOrDefault(a => a.Name == "axes") is { } a && i == 1 ? [.. a.Ints] : null;
        long total = input.Aggregate(1L, (a, d) => a * d);
        switch (node.OpType)
        {
            case "Flatten":
                long axis = node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1;
                axis = axis < 0 ? axis + input.Length : axis;
                long head = input.Take((int)axis).Aggregate(1L, (a, d) => a * d);
                return [head, total / head];
            case "Squeeze":
                long[]? squeezed = Ints(1);
                return [.. input.Where((d, i) => squeezed is null ? d != 1 : !squeezed.Any(a => (a < 0 ? a + input.Length : a) == i))];
            case "Unsqueeze":
                if (Ints(1) is not { } added)
                {
                    return null;
                }
                var output = new List<long>(input);
                foreach (long a in added.Select(a => a < 0 ? a + input.Length + added.Length : a).Order())
                {
                    output.Insert((int)a, 1);
                }
                return [.. output];
            default:
                if (Ints(1) is not { } target || node.Attribute.Any(a => a.Name == "allowzero" && a.I != 0))
                {
                    return null;
                }
                long[] shape = [.. target.Select((d, i) => d == 0 && i < input.Length ? input[i] : d)];
                long known = shape.Where(d => d != -1).Aggregate(1L, (a, d) => a * d);
                return [.. shape.Select(d => d == -1 && known > 0 ? total / known : d)];
        }
    }

    private string? ResolveInitializer(string value, Dictionary<string, NodeProto> producers, List<NodeProto> path)
    {
        for (int depth = 0; depth < 16; depth++)
        {
            if (_initializers.ContainsKey(value))
            {
                return value;
            }
            if (!producers.TryGetValue(value, out NodeProto? producer) || !s_passThroughOps.Contains(producer.OpType) || producer.Input.Count == 0
                || producer.OpType == "Cast" && producer.Attribute.FirstOrDefault(a => a.Name == "to")?.I != (long)TensorProto.Types.DataType.Float)
            {
                // A Cast passes a weight on only as float32 (a float32 initializer cast to float32, as some converters write).
                return null;
            }
            path.Add(producer);
            value = producer.Input[0];
        }
        return null;
    }

    private static void LoadExternalData(ModelProto proto, string description, string? directory)
    {
        foreach (TensorProto tensor in proto.Graph.Initializer)
        {
            if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
            {
                continue;
            }
            var entries = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            if (!entries.TryGetValue("location", out string? location) || string.IsNullOrEmpty(location))
            {
                throw new OnnxModelException($"model {description}: initializer '{tensor.Name}' is stored externally but names no file ('location' is missing).");
            }
            if (directory is null)
            {
                throw new OnnxModelException(
                    $"model {description}: initializer '{tensor.Name}' is stored in external file '{location}', but the model was not loaded from a file; load it from its folder.");
            }
            if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains(".."))
            {
                throw new OnnxModelException(
                    $"model {description}: initializer '{tensor.Name}' points at '{location}', outside the model's folder; ONNX external data must sit beside the model.");
            }
            string file = Path.Combine(directory, location);
            if (!File.Exists(file))
            {
                throw new OnnxModelException(
                    $"model {description}: initializer '{tensor.Name}' is stored in external file '{location}', which is not in '{directory}'. Copy the data file next to the model.");
            }
            long offset = entries.TryGetValue("offset", out string? o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
            long fileLength = new FileInfo(file).Length;
            long length = entries.TryGetValue("length", out string? l) ? long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : fileLength - offset;
            if (offset < 0 || length < 0 || offset + length > fileLength)
            {
                throw new OnnxModelException(
                    $"model {description}: initializer '{tensor.Name}' wants bytes {offset}..{offset + length} of '{location}', which holds only {fileLength}; the data file is truncated or belongs to another model.");
            }
            var data = new byte[length];
            using (var stream = File.OpenRead(file))
            {
                stream.Seek(offset, SeekOrigin.Begin);
                stream.ReadExactly(data);
            }
            tensor.RawData = ByteString.CopyFrom(data);
            tensor.ExternalData.Clear();
            tensor.ClearDataLocation();
        }
    }
}
