using System.Diagnostics;
using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;

namespace Swim.Benchmarks;

/// <summary>
/// The Monte-Carlo target: LeNet-5, 2,000 test digits, 30 trials x 9 ratios x 3 methods (swim, magnitude,
/// random) on every core, in under 60 s. Timed from the sensitivity result to the finished report (the
/// sensitivity pass is timed separately: it is the same as <c>swim sensitivity</c>'s).
/// </summary>
public static class SimulationThroughput
{
    public static int Run(TextWriter output)
    {
        OnnxModel model = OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));
        DataSet test = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Test).Take(2000);
        DataSet calibration = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Train).Take(2000);
        var clock = Stopwatch.StartNew();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, calibration, 256, CurvatureKind.Obd);
        output.WriteLine($"sensitivity pass, 2,000 calibration digits: {clock.Elapsed.TotalSeconds:F2} s");
        output.WriteLine($"cores: {Environment.ProcessorCount}");
        output.WriteLine("noise model               trials x ratios x methods   evaluations   wall s   evaluations/s   digits/s");
        foreach ((string label, SimulationOptions options) in new[]
        {
            ("paper, sigma 0.1, 8 bits", new SimulationOptions { Sigma = 0.1, SigmaVerified = 0.01 }),
            ("device (rram), 8 bits", new SimulationOptions { NoiseModel = NoiseModelKind.Device }),
        })
        {
            SimulationOptions study = options with { Methods = [SelectionMethod.Swim, SelectionMethod.Magnitude, SelectionMethod.Random], Trials = 30 };
            clock.Restart();
            SimulationReport report = MonteCarloSimulation.Run(model, test, sensitivity, study);
            double seconds = clock.Elapsed.TotalSeconds;
            output.WriteLine($"{label,-25} {study.Trials} x {study.Ratios.Count} x {study.Methods.Count,-14} {report.Evaluations,11:N0}   {seconds,6:F1}   {report.Evaluations / seconds,13:F1}   {report.Evaluations * (double)report.TestSamples / seconds,8:N0}");
        }
        return 0;
    }
}
