using System.Diagnostics;
using System.Globalization;
using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Benchmarks;

/// <summary>
/// The sensitivity target as a paired measurement: rounds of inference, the OBD pass and the OBD pass without
/// gradients over the 10,000 bundled digits, each round in a rotated order, and the ratio taken within each round.
/// BenchmarkDotNet runs all iterations of one benchmark before the next, so on a VM whose speed drifts by tens of
/// percent over a minute its ratio carries the drift; a ratio within a round does not. Wall time is what a user
/// waits; processor time (all threads, the process's own) is the work done, which a noisy neighbour inflates less.
/// </summary>
public static class SensitivityRatio
{
    private const int Batch = 256;

    public static int Run(TextWriter output, int rounds)
    {
        OnnxModel model = OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));
        DataSet data = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.All);
        (string Name, Action Pass)[] passes =
        [
            ("inference", () =>
            {
                using var classifier = new Classifier(model);
                classifier.Evaluate(data, Batch);
            }),
            ("OBD (swim sensitivity)", () => SensitivityAnalysis.Run(model, data, Batch, CurvatureKind.Obd)),
            ("OBD without gradients (swim program)", () => SensitivityAnalysis.Run(model, data, Batch, CurvatureKind.Obd, gradients: false)),
        ];
        foreach ((_, Action pass) in passes)
        {
            pass();
        }
        var wall = new double[passes.Length][];
        var processor = new double[passes.Length][];
        for (int p = 0; p < passes.Length; p++)
        {
            wall[p] = new double[rounds];
            processor[p] = new double[rounds];
        }
        using var self = Process.GetCurrentProcess();
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < passes.Length; k++)
            {
                int p = (round + k) % passes.Length;
                self.Refresh();
                TimeSpan cpu = self.TotalProcessorTime;
                long start = Stopwatch.GetTimestamp();
                passes[p].Pass();
                wall[p][round] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                self.Refresh();
                processor[p][round] = (self.TotalProcessorTime - cpu).TotalMilliseconds;
            }
        }
        output.WriteLine($"LeNet-5, {data.Count:N0} digits, batch {Batch}, {rounds} rounds after one warm-up round, cores: {Environment.ProcessorCount}");
        output.WriteLine("pass                                    wall ms (median)   ratio (median, quartiles)    processor ms (median)   ratio (median, quartiles)");
        for (int p = 0; p < passes.Length; p++)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{passes[p].Name,-40}{Median(wall[p]),16:N1}   {RatioText(wall[p], wall[0]),-27}{Median(processor[p]),23:N1}   {RatioText(processor[p], processor[0])}"));
        }
        return 0;
    }

    private static string RatioText(double[] pass, double[] inference)
    {
        double[] ratios = pass.Zip(inference, (a, b) => a / b).Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture, $"{Quantile(ratios, 0.5):F2} ({Quantile(ratios, 0.25):F2} to {Quantile(ratios, 0.75):F2})");
    }

    internal static double Median(double[] values) => Quantile([.. values.Order()], 0.5);

    /// <summary>The q-quantile of sorted values, interpolating linearly between neighbours.</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }
}
