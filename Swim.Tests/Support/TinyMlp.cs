using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Tests.Support;

/// <summary>
/// A small classifier with known weights: Flatten, Gemm (transB = 1) + bias, Relu, MatMul with a transposed
/// weight, Add bias. <see cref="Forward"/> computes its logits independently in double precision.
/// </summary>
public sealed class TinyMlp
{
    public const int Features = 16;
    public const int Hidden = 8;
    public const int Classes = 3;

    public TinyMlp(int seed)
    {
        var random = new Random(seed);
        W1 = Enumerable.Range(0, Hidden * Features).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        B1 = Enumerable.Range(0, Hidden).Select(_ => (float)(random.NextDouble() * 0.2)).ToArray();
        W2 = Enumerable.Range(0, Classes * Hidden).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        B2 = Enumerable.Range(0, Classes).Select(_ => (float)(random.NextDouble() * 0.1)).ToArray();
    }

    /// <summary>Hidden x Features, as Gemm's B with transB = 1.</summary>
    public float[] W1 { get; set; }

    public float[] B1 { get; }

    /// <summary>Classes x Hidden, transposed by a Transpose node before MatMul.</summary>
    public float[] W2 { get; set; }

    public float[] B2 { get; }

    /// <summary>The model; <paramref name="batch"/> fixes the batch dimension, null leaves it dynamic.</summary>
    public ModelProto Build(long? batch = null, bool trailingSoftmax = false)
    {
        var g = new GraphBuilder("tiny_mlp");
        string x = g.Input("input", DataType.Float, [batch is null ? "batch" : (object)batch.Value, 1L, 4L, 4L]);
        string w1 = g.Initializer("fc1.weight", [Hidden, Features], W1);
        string b1 = g.Initializer("fc1.bias", [Hidden], B1);
        string w2 = g.Initializer("fc2.weight", [Classes, Hidden], W2);
        string b2 = g.Initializer("fc2.bias", [Classes], B2);
        string flat = g.Node("Flatten", [x], ("axis", 1));
        string h = g.Node("Gemm", [flat, w1, b1], ("transB", 1));
        string r = g.Node("Relu", [h]);
        string w2t = g.Node("Transpose", [w2], ("perm", new long[] { 1, 0 }));
        string m = g.Node("MatMul", [r, w2t]);
        string logits = g.Node("Add", [m, b2]);
        if (trailingSoftmax)
        {
            logits = g.Node("Softmax", [logits], ("axis", 1));
        }
        g.Output(logits, DataType.Float, batch is null ? "batch" : (object)batch.Value, (long)Classes);
        return g.ToModel();
    }

    public double[] Forward(ReadOnlySpan<float> sample)
    {
        var hidden = new double[Hidden];
        for (int j = 0; j < Hidden; j++)
        {
            double sum = B1[j];
            for (int i = 0; i < Features; i++)
            {
                sum += (double)W1[j * Features + i] * sample[i];
            }
            hidden[j] = Math.Max(0, sum);
        }
        var logits = new double[Classes];
        for (int c = 0; c < Classes; c++)
        {
            double sum = B2[c];
            for (int j = 0; j < Hidden; j++)
            {
                sum += (double)W2[c * Hidden + j] * hidden[j];
            }
            logits[c] = sum;
        }
        return logits;
    }

    public int Predict(ReadOnlySpan<float> sample)
    {
        double[] logits = Forward(sample);
        int best = 0;
        for (int c = 1; c < logits.Length; c++)
        {
            if (logits[c] > logits[best])
            {
                best = c;
            }
        }
        return best;
    }
}
