using Google.Protobuf;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Controller.Onnx;

/// <summary>
/// Builds ONNX graphs node by node, with unique value names. Swim uses it for the derivative graphs it
/// runs on ONNX Runtime, for the built-in LeNet-5, and tests use it to make models with known answers.
/// </summary>
public sealed class GraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public GraphBuilder(string name = "swim")
    {
        _graph = new GraphProto { Name = name };
    }

    /// <summary>Starts from an existing graph: its nodes, initializers and names are kept and new names avoid them.</summary>
    public GraphBuilder(GraphProto existing)
    {
        ArgumentNullException.ThrowIfNull(existing);
        _graph = existing;
        foreach (NodeProto node in existing.Node)
        {
            _names.Add(node.Name);
            foreach (string n in node.Input.Concat(node.Output))
            {
                _names.Add(n);
            }
        }
        foreach (TensorProto t in existing.Initializer)
        {
            _names.Add(t.Name);
        }
        foreach (ValueInfoProto v in existing.Input.Concat(existing.Output))
        {
            _names.Add(v.Name);
        }
    }

    public GraphProto Graph => _graph;

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        string name = hint;
        while (!_names.Add(name))
        {
            name = $"{hint}_{++_counter}";
        }
        return name;
    }

    public string Input(string name, DataType type, params long[] shape)
    {
        _names.Add(name);
        _graph.Input.Add(ValueInfo(name, type, shape.Select(d => d < 0 ? (object)"N" : d).ToArray()));
        return name;
    }

    /// <summary>Declares a graph input whose dimensions are numbers or symbolic names (strings).</summary>
    public string Input(string name, DataType type, object[] dims)
    {
        _names.Add(name);
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    public void Output(string name, DataType type, params object[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    public string Initializer(string name, long[] dims, ReadOnlySpan<float> values)
    {
        string unique = Fresh(name);
        _graph.Initializer.Add(TensorData.CreateFloat(unique, dims, values));
        return unique;
    }

    public string Int64Initializer(string name, long[] dims, ReadOnlySpan<long> values)
    {
        string unique = Fresh(name);
        _graph.Initializer.Add(TensorData.CreateInt64(unique, dims, values));
        return unique;
    }

    public string Scalar(string name, float value) => Initializer(name, [], [value]);

    public string Ints(string name, params long[] values) => Int64Initializer(name, [values.Length], values);

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IEnumerable<string> inputs, params (string Name, object Value)[] attributes) =>
        NodeMulti(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their names.</summary>
    public string[] NodeMulti(string opType, IEnumerable<string> inputs, int outputCount, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(opType + "_node") };
        node.Input.AddRange(inputs);
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            outputs[i] = Fresh(opType.ToLowerInvariant());
        }
        node.Output.AddRange(outputs);
        foreach ((string name, object value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }
        _graph.Node.Add(node);
        return outputs;
    }

    /// <summary>Wraps the graph in a model with the default opset <paramref name="opset"/>.</summary>
    public ModelProto ToModel(long opset = 18, long irVersion = 8)
    {
        var model = new ModelProto { IrVersion = irVersion, ProducerName = "swim", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static AttributeProto Attribute(string name, object value)
    {
        var attribute = new AttributeProto { Name = name };
        switch (value)
        {
            case int i:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = i;
                break;
            case long l:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = l;
                break;
            case float f:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = f;
                break;
            case double d:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = (float)d;
                break;
            case string s:
                attribute.Type = AttributeProto.Types.AttributeType.String;
                attribute.S = ByteString.CopyFromUtf8(s);
                break;
            case long[] ls:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ls);
                break;
            case int[] ints:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints.Select(x => (long)x));
                break;
            case float[] fs:
                attribute.Type = AttributeProto.Types.AttributeType.Floats;
                attribute.Floats.AddRange(fs);
                break;
            case TensorProto t:
                attribute.Type = AttributeProto.Types.AttributeType.Tensor;
                attribute.T = t;
                break;
            default:
                throw new ArgumentException($"attribute '{name}' has unsupported value type {value.GetType().Name}.", nameof(value));
        }
        return attribute;
    }

    public static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d switch
            {
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                long v => new TensorShapeProto.Types.Dimension { DimValue = v },
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                _ => throw new ArgumentException($"dimension {d} of '{name}' must be a number or a name.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
