using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;

namespace Swim.Benchmarks;

/// <summary>
/// The multiply-adds of a model's matrix products (Conv, Gemm, MatMul) for one sample, from its probed shapes: the
/// forward, and the backward's products, one per operand that needs a derivative (an operand that depends on a
/// weight: every layer's weight, and its input unless that comes from the data alone). Every backward product is
/// as large as its forward one. PyTorch's forward and backward runs the forward and one backward; Swim's pass
/// with gradients runs the forward and two (the gradient's and the curvature's), without gradients one.
/// </summary>
public sealed record ProductWork(double Forward, double Backward)
{
    public double ForwardAndBackward => Forward + Backward;

    public double SwimPass(bool gradients) => Forward + (gradients ? 2 : 1) * Backward;

    public static ProductWork Of(OnnxModel model, IReadOnlyList<int> dataShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        long[] sampleShape = model.ResolveSampleShape(dataShape);
        long batch = model.FixedBatchSize ?? 1;
        string dataInput = model.SingleDataInput().Name;
        ShapeProbe probe;
        using (var prober = new ShapeProber(model.Graph, model.DefaultOpset, dataInput))
        {
            probe = prober.At([batch, .. sampleShape]);
        }
        var onWeights = new HashSet<string>(TrainableParameter.Find(model).Select(p => p.Name), StringComparer.Ordinal);
        double forward = 0;
        double backward = 0;
        // ONNX lists nodes in topological order, so one sweep carries "depends on a weight" forward.
        foreach (NodeProto node in model.Nodes)
        {
            double macs = MultiplyAdds(node, probe) / batch;
            forward += macs;
            backward += macs * node.Input.Take(2).Count(onWeights.Contains);
            if (node.Input.Any(onWeights.Contains))
            {
                onWeights.UnionWith(node.Output.Where(o => o.Length > 0));
            }
        }
        return new ProductWork(forward, backward);
    }

    private static double MultiplyAdds(NodeProto node, ShapeProbe probe)
    {
        switch (node.OpType)
        {
            case "Conv":
            {
                long[] w = probe.Shape(node.Input[1]);
                return Elements(probe.Shape(node.Output[0])) * (double)Elements(w[1..]);
            }
            case "Gemm":
            {
                long[] a = probe.Shape(node.Input[0]);
                bool transA = node.Attribute.FirstOrDefault(at => at.Name == "transA")?.I is 1;
                return Elements(probe.Shape(node.Output[0])) * (double)(transA ? a[0] : a[1]);
            }
            case "MatMul":
                return Elements(probe.Shape(node.Output[0])) * (double)probe.Shape(node.Input[0])[^1];
            default:
                return 0;
        }
    }

    // Where the chains' results go, so the loop cannot be optimised away.
    private static readonly Lock SinkGate = new();
    private static float s_sink;

    private static long Elements(long[] shape) => shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>
    /// This machine's single-precision multiply-add peak, in GFLOP/s over all its cores: every core runs twelve
    /// independent 8-wide fused multiply-add chains (enough to hide the instruction's latency) for about half a
    /// second at once, so a shared clock limit shows. A lower bound: the same loop in C, built with g++ -O3, ran
    /// about a tenth faster on the 2-core VM this was written on, so fractions of it are upper bounds. Null without
    /// AVX2 and FMA.
    /// </summary>
    public static double? FmaPeakGflops()
    {
        if (!Fma.IsSupported || !Avx.IsSupported)
        {
            return null;
        }
        const long Rounds = 40_000_000;
        int cores = Environment.ProcessorCount;
        double best = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, _ =>
            {
                float value = FmaChains(Rounds);
                lock (SinkGate)
                {
                    s_sink += value;
                }
            });
            double seconds = clock.Elapsed.TotalSeconds;
            // 12 chains x 8 lanes x 2 flops a round on each core.
            best = Math.Max(best, Rounds * 12.0 * 8 * 2 * cores / seconds / 1e9);
        }
        return best;
    }

    // Fully optimised from the first call: the few calls made would otherwise run the loop at tier 0.
    // The chains are spelled out to stay in registers: the same loop in C over an array of them ran at a sixth of this.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains(long rounds)
    {
        Vector256<float> m = Vector256.Create(0.9999999f);
        Vector256<float> c = Vector256.Create(1e-8f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        Vector256<float> a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < rounds; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c);
            a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c);
            a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c);
            a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c);
            a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c);
            a9 = Fma.MultiplyAdd(a9, m, c);
            a10 = Fma.MultiplyAdd(a10, m, c);
            a11 = Fma.MultiplyAdd(a11, m, c);
        }
        Vector256<float> sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        return Vector256.Sum(sum);
    }
}
