using System.Globalization;
using System.Text;

namespace Swim.Controller.Simulation;

/// <summary>The question a study answers: how little write-verify each method needs to match full write-verify.</summary>
public static class StudySummary
{
    /// <summary>SWIM's criterion for "comparable accuracy": within 0.3 accuracy points of full write-verify.</summary>
    public const double DefaultMargin = 0.003;

    /// <summary>Per method, the smallest verified fraction whose mean accuracy is within <paramref name="margin"/> of full write-verify's (null if none is).</summary>
    public static IReadOnlyList<(string Method, SimulationPoint? Point)> SmallestWithin(SimulationReport report, double margin = DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [.. report.Results.GroupBy(p => p.Method).Select(g =>
            (g.Key, g.OrderBy(p => p.Ratio).FirstOrDefault(p => p.MeanAccuracy >= report.FullWriteVerifyAccuracy - margin)))];
    }

    /// <summary>A Markdown page: settings, the within-0.3-points answer per method, and every point.</summary>
    public static string Markdown(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        string noise = report.NoiseModel == "paper"
            ? $"paper model, sigma {F(report.Sigma!.Value)}, sigma_wv {F(report.SigmaVerified!.Value)}"
            : $"device model, preset {report.Device}";
        md.AppendLine(CultureInfo.InvariantCulture, $"# Monte-Carlo study: {report.Model}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{noise}; {report.WeightBits}-bit weights; {report.Trials} trials (seed {report.Seed}); {report.TestSamples:N0} test samples; sensitivity ({report.Curvature}){(report.CalibrationSamples > 0 ? $" from {report.CalibrationSamples:N0} calibration samples" : "")}; {report.Evaluations:N0} evaluations in {report.Seconds:F1} s.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Full write-verify: {P(report.FullWriteVerifyAccuracy)}; none: {P(report.NoWriteVerifyAccuracy)}.");
        md.AppendLine();
        md.AppendLine("| method | smallest verified fraction within 0.3 points of full | accuracy | relative cost | speedup |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach ((string method, SimulationPoint? p) in SmallestWithin(report))
        {
            md.AppendLine(p is null
                ? $"| {method} | none of the ratios | | | |"
                : string.Create(CultureInfo.InvariantCulture, $"| {method} | {p.Ratio:P0} | {P(p.MeanAccuracy)} | {p.RelativeCost:P1} | {p.Speedup:F2}x |"));
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| method | ratio | mean accuracy | std | cost ({report.Results.FirstOrDefault()?.CostUnit}) | relative cost | speedup |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (SimulationPoint p in report.Results)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Method} | {p.Ratio:P0} | {P(p.MeanAccuracy)} | {P(p.StdAccuracy)} | {p.Cost:G4} | {p.RelativeCost:P1} | {p.Speedup:F2}x |"));
        }
        return md.ToString();
    }

    private static string P(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string F(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
