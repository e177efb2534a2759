using System.Globalization;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Devices;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Benchmarks;

/// <summary>
/// The CIFAR-sized ResNet-18 of the SWIM paper's experiments, as PyTorch's exporter writes it with BatchNorm folded
/// into each convolution's bias: a 3x3 stem of 64 channels, four stages of two basic blocks (64, 128, 256, 512
/// channels; the last three halve the map and bring a 1x1 projection), global average pooling and a 512-10 dense
/// layer. 11,173,962 parameters. Weights are He-normal and biases small and random: the timing of a derivative pass
/// does not depend on trained values. tools/sensitivity-peer builds the same network in PyTorch.
/// </summary>
public static class CifarResNet18
{
    public static readonly long[] SampleShape = [3, 32, 32];
    public const int Classes = 10;

    public static OnnxModel Create(int seed)
    {
        var random = new Random(seed);
        var g = new GraphBuilder("resnet18_cifar");
        string x = g.Input("input", DataType.Float, ["batch", .. SampleShape.Cast<object>()]);
        int layer = 0;
        string Conv(string input, long cin, long cout, long kernel, long stride)
        {
            layer++;
            long count = cout * cin * kernel * kernel;
            double std = Math.Sqrt(2.0 / (cin * kernel * kernel));
            string w = g.Initializer($"conv{layer}.weight", [cout, cin, kernel, kernel],
                Enumerable.Range(0, (int)count).Select(_ => (float)(NormalRandom.Next(random) * std)).ToArray());
            string b = g.Initializer($"conv{layer}.bias", [cout], Enumerable.Range(0, (int)cout).Select(_ => (float)(NormalRandom.Next(random) * 0.01)).ToArray());
            long pad = kernel / 2;
            return g.Node("Conv", [input, w, b], ("kernel_shape", new[] { kernel, kernel }), ("strides", new[] { stride, stride }),
                ("pads", new[] { pad, pad, pad, pad }));
        }
        string h = g.Node("Relu", [Conv(x, 3, 64, 3, 1)]);
        long channels = 64;
        foreach (long width in (long[])[64, 128, 256, 512])
        {
            for (int block = 0; block < 2; block++)
            {
                long stride = block == 0 && width != 64 ? 2 : 1;
                string branch = g.Node("Relu", [Conv(h, channels, width, 3, stride)]);
                branch = Conv(branch, width, width, 3, 1);
                string shortcut = stride != 1 || channels != width ? Conv(h, channels, width, 1, stride) : h;
                h = g.Node("Relu", [g.Node("Add", [branch, shortcut])]);
                channels = width;
            }
        }
        h = g.Node("Flatten", [g.Node("GlobalAveragePool", [h])], ("axis", 1L));
        string fcWeight = g.Initializer("fc.weight", [Classes, 512],
            Enumerable.Range(0, Classes * 512).Select(_ => (float)(NormalRandom.Next(random) * Math.Sqrt(1.0 / 512))).ToArray());
        string fcBias = g.Initializer("fc.bias", [Classes], new float[Classes]);
        string logits = g.Node("Gemm", [h, fcWeight, fcBias], ("transB", 1L));
        g.Output(logits, DataType.Float, "batch", (long)Classes);
        ModelProto model = g.ToModel(opset: 17);
        model.ProducerName = "swim-benchmarks";
        model.DocString = "CIFAR-sized ResNet-18 with random weights, BatchNorm folded, for timing";
        return OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(model), "CIFAR-sized ResNet-18", null);
    }

    /// <summary>Seeded standard-normal images with uniform random labels, as the NPZ Swim reads.</summary>
    public static void WriteRandomData(string path, int samples, int seed)
    {
        var random = new Random(seed);
        long perSample = SampleShape.Aggregate(1L, (a, d) => a * d);
        var x = new float[samples * perSample];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)NormalRandom.Next(random);
        }
        long[] y = Enumerable.Range(0, samples).Select(_ => (long)random.Next(Classes)).ToArray();
        new NpzWriter().AddFloat32("x", [samples, .. SampleShape], x).AddInt64("y", [samples], y).Save(path);
    }

    /// <summary><c>resnet18 OUT.onnx DATA.npz [SAMPLES] [SEED]</c>: writes the model and random data for the CLI.</summary>
    public static int Write(TextWriter output, string[] args)
    {
        if (args.Length < 2)
        {
            output.WriteLine("usage: resnet18 OUT.onnx DATA.npz [SAMPLES (256)] [SEED (1)]");
            return 2;
        }
        int samples = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 256;
        int seed = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;
        File.WriteAllBytes(args[0], Google.Protobuf.MessageExtensions.ToByteArray(Create(seed).Proto));
        WriteRandomData(args[1], samples, seed);
        output.WriteLine($"wrote {args[0]} (CIFAR-sized ResNet-18) and {args[1]} ({samples} random images)");
        return 0;
    }
}
