using System.Buffers.Binary;
using Google.Protobuf;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Controller.Onnx;

/// <summary>Reads and writes the payload of ONNX tensors, whichever of the spec's storage fields holds it.</summary>
public static class TensorData
{
    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            count *= d;
        }
        return count;
    }

    /// <summary>Float32 values of a FLOAT tensor, from raw_data (little-endian) or float_data.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != (int)DataType.Float)
        {
            throw new OnnxModelException(
                $"tensor '{tensor.Name}' holds {DataTypeName(tensor.DataType)}, not float32; Swim maps float32 weights only.");
        }
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new InvalidOperationException($"tensor '{tensor.Name}' still points at external data; load the model with OnnxModel.Load.");
        }
        long count = ElementCount(tensor);
        var values = new float[count];
        if (tensor.HasRawData)
        {
            ReadOnlySpan<byte> raw = tensor.RawData.Span;
            if (raw.Length != count * sizeof(float))
            {
                throw new OnnxModelException(
                    $"tensor '{tensor.Name}' has {raw.Length} bytes of raw data, but its shape [{string.Join(", ", tensor.Dims)}] needs {count * sizeof(float)}: the model file is damaged.");
            }
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * sizeof(float)));
            }
            return values;
        }
        if (tensor.FloatData.Count != count)
        {
            throw new OnnxModelException(
                $"tensor '{tensor.Name}' has {tensor.FloatData.Count} values, but its shape [{string.Join(", ", tensor.Dims)}] needs {count}: the model file is damaged.");
        }
        tensor.FloatData.CopyTo(values, 0);
        return values;
    }

    /// <summary>Int64 values of an INT64 or INT32 tensor (shapes, axes, indices in shape subgraphs).</summary>
    public static long[] ReadInt64s(TensorProto tensor)
    {
        long count = ElementCount(tensor);
        var values = new long[count];
        if (tensor.DataType == (int)DataType.Int64)
        {
            if (tensor.HasRawData)
            {
                ReadOnlySpan<byte> raw = tensor.RawData.Span;
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * sizeof(long)));
                }
            }
            else
            {
                tensor.Int64Data.CopyTo(values, 0);
            }
            return values;
        }
        if (tensor.DataType == (int)DataType.Int32)
        {
            if (tensor.HasRawData)
            {
                ReadOnlySpan<byte> raw = tensor.RawData.Span;
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * sizeof(int)));
                }
            }
            else
            {
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = tensor.Int32Data[i];
                }
            }
            return values;
        }
        throw new OnnxModelException($"tensor '{tensor.Name}' holds {DataTypeName(tensor.DataType)}, expected int64 or int32.");
    }

    /// <summary>Replaces the payload with <paramref name="values"/> as little-endian raw data, the form exporters write.</summary>
    public static void WriteFloats(TensorProto tensor, ReadOnlySpan<float> values)
    {
        if (values.Length != ElementCount(tensor))
        {
            throw new ArgumentException(
                $"tensor '{tensor.Name}' has {ElementCount(tensor)} elements; {values.Length} values were given.", nameof(values));
        }
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(bytes);
    }

    public static TensorProto CreateFloat(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(dims);
        WriteFloats(tensor, values);
        return tensor;
    }

    public static TensorProto CreateInt64(string name, long[] dims, ReadOnlySpan<long> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.AddRange(dims);
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        }
        tensor.RawData = ByteString.CopyFrom(bytes);
        return tensor;
    }

    public static string DataTypeName(int dataType) => Enum.IsDefined(typeof(DataType), dataType)
        ? ((DataType)dataType).ToString().ToLowerInvariant()
        : $"data type {dataType}";
}
