using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;
using Swim.Devices;
using Swim.Tests.Support;

namespace Swim.Tests.Simulation;

[Trait("Speed", "Slow")]
public sealed class MonteCarloSimulationTests
{
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;
    private static readonly Lazy<SensitivityResult> s_sensitivity = new(() => BundledLeNet.Sensitivity(1000, 250));
    private static readonly DataSet s_test = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Test).Take(1000);

    private static SimulationReport Run(SimulationOptions options) => MonteCarloSimulation.Run(s_lenet, s_test, s_sensitivity.Value, options);

    private static SimulationPoint Point(SimulationReport report, string method, double ratio) =>
        report.Results.Single(p => p.Method == method && p.Ratio == ratio);

    [Fact]
    public void Paper_model_errors_have_the_published_std_for_open_loop_and_verified_weights()
    {
        var options = new SimulationOptions { Sigma = 0.3, SigmaVerified = 0.03, WeightBits = 4 };
        var model = new PaperVariation(s_lenet, options);
        TrialInstance chip = model.Sample(0, 7);
        var units = new bool[model.UnitCount];
        float[][] open = chip.Weights(units);
        Array.Fill(units, true);
        float[][] verified = chip.Weights(units);

        foreach ((string name, int l) in model.Layers.Names.Select((n, i) => (n, i)))
        {
            float fullScale = s_lenet.ReadWeights(name).Max(MathF.Abs);
            float[] target = model.Layers.Targets[l];
            // Quantized to multiples of max|W| / 2^4.
            Assert.All(target, t => Assert.Equal(0, Math.IEEERemainder(t / fullScale * 16, 1), 4));
            double Std(float[] w) => Math.Sqrt(w.Zip(target).Average(p => Math.Pow((p.First - p.Second) / fullScale, 2)));
            // sigma * sqrt(sum_i 4^-i), i = 1..8 = 0.577 sigma; the sample std of n draws is within 4/sqrt(2n) of it.
            double band = 4 / Math.Sqrt(2.0 * target.Length);
            Assert.InRange(Std(open[l]) / (0.3 * 0.57735), 1 - band, 1 + band);
            Assert.InRange(Std(verified[l]) / (0.03 * 0.57735), 1 - band, 1 + band);
        }
    }

    /// <summary>
    /// The paper model against a second implementation written here from the method's text: its own quantization,
    /// its own noise draws, its own SWIM ranking (|h| max|W|^2, global top fraction), evaluated by rewriting the
    /// model's initializers (not the simulation's weights-as-inputs session). Different random numbers, so the
    /// two means must agree within sampling error: 4 standard errors of the difference plus one test sample.
    /// </summary>
    [Fact]
    public void Paper_model_agrees_with_an_independent_implementation_within_sampling_error()
    {
        const int Trials = 12, Bits = 4;
        const double Sigma = 0.3, SigmaWv = 0.03;
        double[] ratios = [0.1, 0.3];
        SimulationReport simulated = Run(new SimulationOptions { Methods = [SelectionMethod.Swim], Ratios = ratios, Sigma = Sigma, SigmaVerified = SigmaWv, WeightBits = Bits, Trials = Trials, Seed = 3 });

        List<ParameterSensitivity> layers = [.. s_sensitivity.Value.MappedWeights];
        var scores = layers.SelectMany((p, l) => p.Curvature.Select((h, e) => (Score: Math.Abs((double)h) * p.FullScale * p.FullScale, Layer: l, Element: e, Magnitude: Math.Abs(s_lenet.ReadWeights(p.Parameter.Name)[e])))).ToList();
        var ranked = scores.OrderByDescending(s => s.Score).ThenByDescending(s => s.Magnitude).ToList();
        var random = new Random(99);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Sin(2 * Math.PI * random.NextDouble());
        using var classifier = new Classifier(s_lenet);
        foreach (double ratio in ratios)
        {
            var verified = ranked.Take((int)Math.Round(ratio * ranked.Count)).Select(s => (s.Layer, s.Element)).ToHashSet();
            var accuracies = new List<double>();
            for (int t = 0; t < Trials; t++)
            {
                OnnxModel chip = s_lenet.Clone();
                for (int l = 0; l < layers.Count; l++)
                {
                    float[] w = s_lenet.ReadWeights(layers[l].Parameter.Name);
                    double full = w.Max(MathF.Abs), step = full / (1 << Bits);
                    var noisy = new float[w.Length];
                    for (int e = 0; e < w.Length; e++)
                    {
                        double sigma = verified.Contains((l, e)) ? SigmaWv : Sigma;
                        double error = 0;
                        for (int i = 1; i <= 8; i++)
                        {
                            error += Math.Pow(2, -i) * sigma * Normal();
                        }
                        noisy[e] = (float)(Math.Round(w[e] / step) * step + full * error);
                    }
                    chip.ReplaceWeights(layers[l].Parameter.Name, noisy);
                }
                using var c = new Classifier(chip);
                accuracies.Add(c.Evaluate(s_test, 500).Accuracy);
            }
            SimulationPoint point = Point(simulated, "swim", ratio);
            double mean = accuracies.Average();
            double std = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / (Trials - 1));
            double standardError = Math.Sqrt((std * std + point.StdAccuracy * point.StdAccuracy) / Trials);
            Assert.True(Math.Abs(point.MeanAccuracy - mean) <= 4 * standardError + 1.0 / s_test.Count,
                $"ratio {ratio}: simulate {point.MeanAccuracy:P2} +- {point.StdAccuracy:P2}, independent {mean:P2} +- {std:P2}");
        }
    }

    [Fact]
    public void Swim_beats_magnitude_and_random_at_10_to_30_percent_as_published()
    {
        SimulationReport report = Run(new SimulationOptions
        {
            Methods = [SelectionMethod.Swim, SelectionMethod.Magnitude, SelectionMethod.Random],
            Ratios = [0, 0.1, 0.2, 0.3, 1],
            Sigma = 0.3,
            SigmaVerified = 0.03,
            WeightBits = 4,
            Trials = 8,
        });

        foreach (double ratio in new[] { 0.1, 0.2, 0.3 })
        {
            double swim = Point(report, "swim", ratio).MeanAccuracy;
            Assert.True(swim > Point(report, "magnitude", ratio).MeanAccuracy, $"at {ratio:P0} swim {swim:P2} vs magnitude {Point(report, "magnitude", ratio).MeanAccuracy:P2}");
            Assert.True(swim > Point(report, "random", ratio).MeanAccuracy, $"at {ratio:P0} swim {swim:P2} vs random {Point(report, "random", ratio).MeanAccuracy:P2}");
        }
        // Every method sees the same chips, so none and full are identical across methods.
        Assert.Single(report.Results.Where(p => p.Ratio == 0).Select(p => p.MeanAccuracy).Distinct());
        Assert.Single(report.Results.Where(p => p.Ratio == 1).Select(p => p.MeanAccuracy).Distinct());
        Assert.True(report.FullWriteVerifyAccuracy > report.NoWriteVerifyAccuracy + 0.1);
        // Cost in writes: 1 per device open loop, 10 more per verified device.
        Assert.Equal((1 + 10 * 0.1) / 11, Point(report, "swim", 0.1).RelativeCost, 3);
    }

    [Fact]
    public void Device_model_is_reproducible_and_verifying_more_costs_more_device_time_and_loses_less()
    {
        var options = new SimulationOptions
        {
            NoiseModel = NoiseModelKind.Device,
            Device = DevicePreset.Rram with { StuckRate = 0 },
            Methods = [SelectionMethod.Swim, SelectionMethod.Posterior, SelectionMethod.CellLevel],
            Ratios = [0, 0.1, 1],
            Trials = 2,
            Seed = 4,
        };
        SimulationReport first = Run(options);
        SimulationReport again = Run(options);

        Assert.Equal(first.Results.Select(p => p.MeanAccuracy), again.Results.Select(p => p.MeanAccuracy));
        Assert.Equal(first.Results.Select(p => p.Cost), again.Results.Select(p => p.Cost));
        Assert.Equal("device seconds", first.Results[0].CostUnit);
        foreach (string method in new[] { "swim", "posterior", "cell-level" })
        {
            Assert.True(Point(first, method, 0).Cost < Point(first, method, 0.1).Cost);
            Assert.True(Point(first, method, 0.1).Cost < Point(first, method, 1).Cost);
        }
        // Posterior pays for one read of every cell before it selects.
        Assert.True(Point(first, "posterior", 0.1).Cost > Point(first, "swim", 0.1).Cost);
        Assert.True(first.FullWriteVerifyAccuracy >= first.NoWriteVerifyAccuracy);
        Assert.True(Point(first, "swim", 0.1).MeanAccuracy >= first.NoWriteVerifyAccuracy - 0.005);
    }

    [Fact]
    public void Device_model_reports_row_parallel_time_and_reads_the_chips_later_when_asked()
    {
        var options = new SimulationOptions
        {
            NoiseModel = NoiseModelKind.Device,
            Device = DevicePreset.Rram with { StuckRate = 0 },
            Methods = [SelectionMethod.Swim],
            Ratios = [0, 0.1, 1],
            Trials = 2,
            Seed = 4,
        };
        SimulationReport now = Run(options);
        SimulationReport dayLater = Run(options with { ReadAfter = TimeSpan.FromDays(1) });

        // Rows are read and pulsed whole, so the chip takes far less than one cell at a time; a scattered 10 % touches
        // nearly every row, so it saves less row-parallel time than serial time.
        foreach (SimulationPoint p in now.Results)
        {
            Assert.InRange(p.ParallelCost, 1e-6, p.Cost / 5);
        }
        SimulationPoint swim = Point(now, "swim", 0.1);
        Assert.True(swim.ParallelSpeedup > 1 && swim.ParallelSpeedup < swim.Speedup, $"row-parallel {swim.ParallelSpeedup:F2}x, serial {swim.Speedup:F2}x");
        // The programming is the same; a day of relaxation (spread 1.7x that at 1 s) costs the verified chips accuracy.
        Assert.Equal(now.Results.Select(p => p.Cost), dayLater.Results.Select(p => p.Cost));
        Assert.True(dayLater.FullWriteVerifyAccuracy < now.FullWriteVerifyAccuracy, $"{dayLater.FullWriteVerifyAccuracy:P2} a day later, {now.FullWriteVerifyAccuracy:P2} at once");
        Assert.Equal("right after each write", now.ReadAfter);
        Assert.Equal("1d after programming", dayLater.ReadAfter);
        Assert.Throws<SwimInputException>(() => Run(new SimulationOptions { ReadAfter = TimeSpan.FromHours(1) }));
    }

    [Fact]
    public void Placement_changes_no_accuracy_and_no_serial_time_when_cells_are_selected_by_count()
    {
        var options = new SimulationOptions
        {
            NoiseModel = NoiseModelKind.Device,
            Device = DevicePreset.Rram with { StuckRate = 0 },
            Methods = [SelectionMethod.Swim, SelectionMethod.Random],
            Ratios = [0, 0.1, 1],
            Trials = 2,
            Seed = 4,
        };
        SimulationReport natural = Run(options);
        SimulationReport placed = Run(options with { Placement = Controller.Mapping.Placement.Sensitivity });

        // Each cell draws its physics by its place in the plan (the model's order), not by its address: the same chips.
        Assert.Equal(natural.Results.Select(p => p.MeanAccuracy), placed.Results.Select(p => p.MeanAccuracy));
        Assert.Equal(natural.Results.Select(p => p.Cost), placed.Results.Select(p => p.Cost));
    }

    [Fact]
    public void Bad_options_are_refused_with_the_fix()
    {
        var error = Assert.Throws<SwimInputException>(() => Run(new SimulationOptions { Ratios = [0.1, 1.5] }));
        Assert.Contains("--ratios", error.Message);
        error = Assert.Throws<SwimInputException>(() => Run(new SimulationOptions { Trials = 0 }));
        Assert.Contains("--trials", error.Message);
    }
}
