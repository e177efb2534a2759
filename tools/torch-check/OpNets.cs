using System.Globalization;
using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Tests.Support;

namespace Swim.Tools.TorchCheck;

/// <summary>
/// Writes the unit tests' small nets (Swim.Tests/Support/TestNets.cs), one per operator family, as ONNX files,
/// each with seeded random data of its input shape: NAME.onnx and NAME.npz in the given folder.
/// </summary>
internal static class OpNets
{
    private static readonly (string Name, Func<ModelProto> Build)[] Nets =
    [
        ("gemm-transposed-alpha-beta", () => TestNets.Gemm(1, transA: true, transB: true, alpha: 0.7f, beta: 1.3f, rowBias: true)),
        ("gemm-plain", () => TestNets.Gemm(2, transA: false, transB: false, alpha: 1f, beta: 1f, rowBias: false)),
        ("matmul-batched", () => TestNets.MatMulBatched(3)),
        ("matmul-weight-left", () => TestNets.MatMulWeightOnLeft(4)),
        ("conv-group2-stride2-pad1-dilation2", () => TestNets.Conv(5, group: 2, stride: 2, pad: 1, dilation: 2)),
        ("conv-same-upper", () => TestNets.Conv(6, group: 1, stride: 2, pad: 0, dilation: 1, autoPad: "SAME_UPPER")),
        ("conv-tanh", () => TestNets.Conv(7, group: 1, stride: 1, pad: 1, dilation: 1, activation: "Tanh")),
        ("leakyrelu", () => TestNets.Activation(8, "LeakyRelu")),
        ("clip", () => TestNets.Activation(8, "Clip")),
        ("tanh", () => TestNets.Activation(8, "Tanh")),
        ("sigmoid", () => TestNets.Activation(8, "Sigmoid")),
        ("maxpool-overlapping", () => TestNets.Pooling(9, "MaxPool")),
        ("maxpool-asymmetric-pads", () => TestNets.Pooling(9, "MaxPoolPadded")),
        ("averagepool", () => TestNets.Pooling(9, "AveragePool")),
        ("averagepool-include-pad", () => TestNets.Pooling(9, "AveragePoolIncludePad")),
        ("globalaveragepool", () => TestNets.Pooling(9, "GlobalAveragePool")),
        ("batchnorm", () => TestNets.BatchNorm(10)),
        ("shape-ops", () => TestNets.ShapeOps(11)),
        ("concat-residual-arithmetic", () => TestNets.ConcatResidual(12)),
        ("small-lenet", () => TestNets.SmallLeNet(13)),
    ];

    public static int Write(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: torch-check op-nets DIR [SAMPLES]");
            return 2;
        }
        string folder = args[0];
        int samples = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 16;
        Directory.CreateDirectory(folder);
        foreach ((string name, Func<ModelProto> build) in Nets)
        {
            ModelProto proto = build();
            string path = Path.Combine(folder, name + ".onnx");
            File.WriteAllBytes(path, proto.ToByteArray());
            OnnxModel model = OnnxModel.Load(path);
            long[] sample = model.DeclaredInputShape()[1..];
            long classes = model.Outputs[0].Type.TensorType.Shape.Dim[1].DimValue;
            RandomData.Write([Path.Combine(folder, name + ".npz"), samples.ToString(CultureInfo.InvariantCulture),
                classes.ToString(CultureInfo.InvariantCulture), "7", .. sample.Select(d => d.ToString(CultureInfo.InvariantCulture))]);
        }
        Console.WriteLine($"wrote {Nets.Length} nets with {samples} samples each to {folder}");
        return 0;
    }
}
