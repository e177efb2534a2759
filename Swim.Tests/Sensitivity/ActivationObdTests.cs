using Google.Protobuf;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>
/// OBD through each activation against its definition, written out for Dense - f - Dense: the curvature at the
/// logits p (1 - p) / N, carried back through the squared second-layer weights, times f'(a) squared, times the
/// squared inputs. Finite differences cannot check this rule (OBD is not the Hessian of a smooth activation),
/// so before this test a wrong factor passed unnoticed (found by tools/torch-check: alpha instead of alpha^2).
/// Tolerance: 1e-4 relative to each tensor's largest entry, float32 arithmetic in ONNX Runtime.
/// </summary>
public sealed class ActivationObdTests
{
    private const int Samples = 8;

    [Theory]
    [InlineData("Relu")]
    [InlineData("LeakyRelu")]
    [InlineData("Clip")]
    [InlineData("ClipMin")]
    [InlineData("ClipMinEmptyMax")]
    [InlineData("ClipMax")]
    [InlineData("Tanh")]
    [InlineData("Sigmoid")]
    [InlineData("HardSigmoid")]
    [InlineData("HardSwish")]
    [InlineData("Softplus")]
    [InlineData("Erf")]
    [InlineData("PRelu")]
    public void Obd_through_an_activation_follows_the_definition(string op)
    {
        OnnxModel model = OnnxModel.FromBytes(TestNets.Activation(31, op).ToByteArray(), op, null);
        var random = new Random(32);
        double[] x = [.. Enumerable.Range(0, Samples * 5).Select(_ => TestNets.Gaussian(random))];
        long[] labels = [.. Enumerable.Range(0, Samples).Select(_ => (long)random.Next(3))];

        Dictionary<string, double[]> expected = Reference(model, op, x, labels);

        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, [5], Samples, CurvatureKind.Obd);
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name));
        session.Accumulate([.. x.Select(v => (float)v)], labels, Samples, parameters, totals);

        foreach ((string name, double[] reference) in expected)
        {
            float[] actual = totals.Mean(totals.Curvature, name);
            double scale = reference.Max(Math.Abs);
            for (int i = 0; i < reference.Length; i++)
            {
                Assert.True(Math.Abs(reference[i] - actual[i]) <= 1e-4 * scale,
                    $"{op}: OBD of {name}[{i}]: definition {reference[i]:G6}, graph {actual[i]:G6}");
            }
        }
    }

    /// <summary>The OBD diagonal of the mean loss for TestNets.Activation (fc1: 5 to 6, f, fc2: 6 to 3), in double.</summary>
    private static Dictionary<string, double[]> Reference(OnnxModel model, string op, double[] x, long[] labels)
    {
        double[] w1 = [.. model.ReadWeights("fc1.weight").Select(v => (double)v)];   // 6 x 5 (Gemm transB)
        double[] b1 = [.. model.ReadWeights("fc1.bias").Select(v => (double)v)];
        double[] w2 = [.. model.ReadWeights("fc2.weight").Select(v => (double)v)];   // 3 x 6
        double[] b2 = [.. model.ReadWeights("fc2.bias").Select(v => (double)v)];
        var obd = new Dictionary<string, double[]>
        {
            ["fc1.weight"] = new double[30], ["fc1.bias"] = new double[6], ["fc2.weight"] = new double[18], ["fc2.bias"] = new double[3],
        };
        for (int n = 0; n < Samples; n++)
        {
            (double[] h, double[] slope, double[] z) = Forward(op, x.AsSpan(n * 5, 5), w1, b1, w2, b2);
            double max = z.Max();
            double total = z.Sum(v => Math.Exp(v - max));
            double[] curvatureAtLogits = [.. z.Select(v => Math.Exp(v - max) / total).Select(p => p * (1 - p) / Samples)];
            for (int k = 0; k < 3; k++)
            {
                obd["fc2.bias"][k] += curvatureAtLogits[k];
                for (int i = 0; i < 6; i++)
                {
                    obd["fc2.weight"][k * 6 + i] += curvatureAtLogits[k] * h[i] * h[i];
                }
            }
            for (int i = 0; i < 6; i++)
            {
                double atHidden = 0;
                for (int k = 0; k < 3; k++)
                {
                    atHidden += w2[k * 6 + i] * w2[k * 6 + i] * curvatureAtLogits[k];
                }
                double atPreActivation = atHidden * slope[i] * slope[i];
                obd["fc1.bias"][i] += atPreActivation;
                for (int j = 0; j < 5; j++)
                {
                    obd["fc1.weight"][i * 5 + j] += atPreActivation * x[n * 5 + j] * x[n * 5 + j];
                }
            }
        }
        return obd;
    }

    /// <summary>One sample through fc1, f and fc2: the hidden activations, f' at each, and the logits.</summary>
    private static (double[] Hidden, double[] Slope, double[] Logits) Forward(string op, ReadOnlySpan<double> x, double[] w1, double[] b1, double[] w2, double[] b2)
    {
        var a = new double[6];
        var h = new double[6];
        var slope = new double[6];
        for (int i = 0; i < 6; i++)
        {
            a[i] = b1[i];
            for (int j = 0; j < 5; j++)
            {
                a[i] += w1[i * 5 + j] * x[j];
            }
            (h[i], slope[i]) = Activate(op, a[i], TestNets.PReluSlopes[i]);
        }
        var z = new double[3];
        for (int k = 0; k < 3; k++)
        {
            z[k] = b2[k];
            for (int i = 0; i < 6; i++)
            {
                z[k] += w2[k * 6 + i] * h[i];
            }
        }
        return (h, slope, z);
    }

    /// <summary>
    /// f(a) and f'(a) as TestNets.Activation builds them (LeakyRelu alpha 0.1; Clip of 4a to [0, 1], to [-0.5, inf)
    /// and to (-inf, 0.5]; HardSigmoid's defaults alpha 0.2, beta 0.5; PRelu with the unit's slope), from the
    /// operators' definitions in the ONNX spec.
    /// </summary>
    private static (double Value, double Slope) Activate(string op, double a, double preluSlope) => op switch
    {
        "HardSigmoid" => 0.2 * a + 0.5 is > 0 and < 1 ? (0.2 * a + 0.5, 0.2) : (Math.Clamp(0.2 * a + 0.5, 0, 1), 0),
        "HardSwish" => a <= -3 ? (0, 0) : a >= 3 ? (a, 1) : (a * (a + 3) / 6, (2 * a + 3) / 6),
        "Softplus" => (Math.Log(1 + Math.Exp(a)), 1 / (1 + Math.Exp(-a))),
        "Erf" => (Erf(a), 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a)),
        "PRelu" => a > 0 ? (a, 1) : (preluSlope * a, preluSlope),
        "Relu" => a > 0 ? (a, 1) : (0, 0),
        "LeakyRelu" => a > 0 ? (a, 1) : (0.1 * a, 0.1),
        "Clip" => 4 * a is > 0 and < 1 ? (4 * a, 4) : (Math.Clamp(4 * a, 0, 1), 0),
        "ClipMin" or "ClipMinEmptyMax" => 4 * a > -0.5 ? (4 * a, 4) : (-0.5, 0),
        "ClipMax" => 4 * a < 0.5 ? (4 * a, 4) : (0.5, 0),
        "Tanh" => (Math.Tanh(a), 1 - Math.Tanh(a) * Math.Tanh(a)),
        "Sigmoid" => (1 / (1 + Math.Exp(-a)), Math.Exp(-a) / ((1 + Math.Exp(-a)) * (1 + Math.Exp(-a)))),
        _ => throw new ArgumentException(op, nameof(op)),
    };

    /// <summary>erf by its Maclaurin series (|x| below 3) or its asymptotic complement: far inside 1e-9 where the test needs 1e-4.</summary>
    private static double Erf(double x)
    {
        if (Math.Abs(x) >= 3)
        {
            // erfc(x) ~ exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)).
            double y = Math.Abs(x), inverse = 1 / (2 * y * y);
            double complement = Math.Exp(-y * y) / (y * Math.Sqrt(Math.PI)) * (1 - inverse + 3 * inverse * inverse - 15 * inverse * inverse * inverse);
            return Math.Sign(x) * (1 - complement);
        }
        double term = x, sum = x;
        for (int n = 1; n < 200 && Math.Abs(term) > 1e-17; n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
