using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

using Swim.Devices;

namespace Swim.Controller.Training;

/// <summary>
/// LeNet-5 for 1 x 28 x 28 digits, as the SWIM paper evaluates it: conv 5x5 (6, padded) - ReLU - max pool 2 -
/// conv 5x5 (16) - ReLU - max pool 2 - dense 400-120 - ReLU - dense 120-84 - ReLU - dense 84-10.
/// 61,706 parameters. Weights start He-normal, biases at zero.
/// </summary>
public static class LeNet5
{
    public static OnnxModel Create(int seed)
    {
        var random = new Random(seed);
        var g = new GraphBuilder("lenet5");
        string x = g.Input("input", DataType.Float, ["batch", 1L, 28L, 28L]);
        string Weight(string name, params long[] dims)
        {
            long count = dims.Aggregate(1L, (a, d) => a * d);
            double std = Math.Sqrt(2.0 / (count / dims[0]));
            return g.Initializer(name, dims, Enumerable.Range(0, (int)count).Select(_ => (float)(NormalRandom.Next(random) * std)).ToArray());
        }
        string Bias(string name, long size) => g.Initializer(name, [size], new float[size]);
        long[] pool = [2, 2];
        string h = g.Node("Conv", [x, Weight("conv1.weight", 6, 1, 5, 5), Bias("conv1.bias", 6)], ("pads", new long[] { 2, 2, 2, 2 }), ("kernel_shape", new long[] { 5, 5 }));
        h = g.Node("MaxPool", [g.Node("Relu", [h])], ("kernel_shape", pool), ("strides", pool));
        h = g.Node("Conv", [h, Weight("conv2.weight", 16, 6, 5, 5), Bias("conv2.bias", 16)], ("kernel_shape", new long[] { 5, 5 }));
        h = g.Node("MaxPool", [g.Node("Relu", [h])], ("kernel_shape", pool), ("strides", pool));
        h = g.Node("Flatten", [h], ("axis", 1));
        h = g.Node("Relu", [g.Node("Gemm", [h, Weight("fc1.weight", 120, 400), Bias("fc1.bias", 120)], ("transB", 1))]);
        h = g.Node("Relu", [g.Node("Gemm", [h, Weight("fc2.weight", 84, 120), Bias("fc2.bias", 84)], ("transB", 1))]);
        string logits = g.Node("Gemm", [h, Weight("fc3.weight", 10, 84), Bias("fc3.bias", 10)], ("transB", 1));
        g.Output(logits, DataType.Float, "batch", 10L);
        ModelProto model = g.ToModel(opset: 18);
        model.ProducerName = "swim";
        model.DocString = "LeNet-5 for MNIST, built by Swim";
        return OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(model), "built-in LeNet-5", null);
    }

}
