using System.Globalization;
using System.Text;

namespace Swim.Controller.Simulation;

/// <summary>The question a study answers: how little write-verify each method needs to match full write-verify.</summary>
public static class StudySummary
{
    /// <summary>SWIM's criterion for "comparable accuracy": within 0.3 accuracy points of full write-verify.</summary>
    public const decimal DefaultMargin = 0.003m;

    /// <summary>
    /// Whether <paramref name="point"/>'s mean accuracy is at least full write-verify's minus <paramref name="margin"/>,
    /// decided on the counts of samples classified right (exact: no rounding can move a point across the line).
    /// </summary>
    public static bool IsWithin(SimulationReport report, SimulationPoint point, decimal margin = DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(point);
        if (point.Correct.Count != report.FullWriteVerifyCorrect.Count || point.Correct.Count != point.Trials)
        {
            throw new ArgumentException("the point and its study need every trial's count of samples right.", nameof(point));
        }
        // mean_m >= mean_full - margin  <=>  sum_m >= sum_full - margin * trials * samples, all integers but the margin.
        decimal mine = point.Correct.Sum(c => (long)c);
        decimal full = report.FullWriteVerifyCorrect.Sum(c => (long)c);
        return mine >= full - margin * point.Trials * report.TestSamples;
    }

    /// <summary>Per method, the smallest verified fraction whose mean accuracy is within <paramref name="margin"/> of full write-verify's (null if none is).</summary>
    public static IReadOnlyList<(string Method, SimulationPoint? Point)> SmallestWithin(SimulationReport report, decimal margin = DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [.. report.Results.GroupBy(p => p.Method).Select(g => (g.Key, g.OrderBy(p => p.Ratio).FirstOrDefault(p => IsWithin(report, p, margin))))];
    }

    /// <summary>
    /// Per method, the smallest verified fraction whose whole 95 % interval of the paired difference to full
    /// write-verify lies above minus <paramref name="margin"/>: within the margin with confidence, not only on average.
    /// </summary>
    public static IReadOnlyList<(string Method, SimulationPoint? Point)> SmallestConfidentlyWithin(SimulationReport report, decimal margin = DefaultMargin)
    {
        ArgumentNullException.ThrowIfNull(report);
        return [.. report.Results.GroupBy(p => p.Method).Select(g => (g.Key, g.OrderBy(p => p.Ratio).FirstOrDefault(p =>
            VersusFull(report, p).Low >= -(double)margin)))];
    }

    /// <summary>The point's accuracy minus full write-verify's, chip by chip.</summary>
    public static PairedDifference VersusFull(SimulationReport report, SimulationPoint point)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(point);
        return PairedDifference.Of(point.Accuracies, [.. report.FullWriteVerifyCorrect.Select(c => c / (double)report.TestSamples)]);
    }

    /// <summary>
    /// Every method against one baseline at each verified fraction strictly between 0 and 1: method minus baseline,
    /// chip by chip. The baseline is swim where the study ran it, else its first method.
    /// </summary>
    public static IReadOnlyList<(double Ratio, string Method, string Baseline, PairedDifference Difference)> VersusBaseline(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        string? baseline = report.Results.Any(p => p.Method == "swim") ? "swim" : report.Results.FirstOrDefault()?.Method;
        var rows = new List<(double, string, string, PairedDifference)>();
        foreach (SimulationPoint reference in report.Results.Where(p => p.Method == baseline && p.Ratio is > 0 and < 1))
        {
            foreach (SimulationPoint other in report.Results.Where(p => p.Method != baseline && p.Ratio == reference.Ratio))
            {
                rows.Add((reference.Ratio, other.Method, baseline!, PairedDifference.Of(other.Accuracies, reference.Accuracies)));
            }
        }
        return rows;
    }

    /// <summary>A Markdown page: settings, the within-0.3-points answer per method, paired comparisons, and every point.</summary>
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
        if (report.StateSigmaRatio is { } s)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"uswim-paper: the authors' HSM score with s = {F(s)} (middle-state std over outer-state std), first-order term from {report.FirstOrderTerm}.");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Full write-verify: {P(report.FullWriteVerifyAccuracy)}; none: {P(report.NoWriteVerifyAccuracy)}.");
        md.AppendLine();
        md.AppendLine("Within 0.3 points: mean accuracy at least full write-verify's minus 0.3 points, decided on counts of digits right. "
            + "Differences are paired (the same chips for every method), with 95 % Student-t intervals over the chips; "
            + "\"with 95 % confidence\" asks the whole interval to lie above -0.3 points.");
        md.AppendLine();
        bool rows = report.Results.Any(p => p.ParallelSpeedup > 0);
        md.AppendLine("| method | smallest verified fraction within 0.3 points of full | accuracy | difference to full (95 % CI) | relative cost | speedup (serial) |"
            + (rows ? " speedup (row-parallel) | speedup (row-parallel + link) |" : "") + " with 95 % confidence |");
        md.AppendLine("|---|---:|---:|---|---:|---:|" + (rows ? "---:|---:|" : "") + "---:|");
        IReadOnlyList<(string Method, SimulationPoint? Point)> confident = SmallestConfidentlyWithin(report);
        foreach ((string method, SimulationPoint? p) in SmallestWithin(report))
        {
            SimulationPoint? sure = confident.First(c => c.Method == method).Point;
            string sureText = sure is null ? "none" : string.Create(CultureInfo.InvariantCulture, $"{sure.Ratio:P0} ({sure.Speedup:F2}x)");
            string rowParallel = rows ? string.Create(CultureInfo.InvariantCulture, $" {p?.ParallelSpeedup:F2}x | {p?.BenchSpeedup:F2}x |") : "";
            md.AppendLine(p is null
                ? $"| {method} | none of the ratios | | | | |{(rows ? " | |" : "")} {sureText} |"
                : string.Create(CultureInfo.InvariantCulture, $"| {method} | {p.Ratio:P0} | {P(p.MeanAccuracy)} | {Points(VersusFull(report, p))} | {p.RelativeCost:P1} | {p.Speedup:F2}x |{rowParallel} {sureText} |"));
        }
        AppendPairedComparisons(md, report);
        md.AppendLine();
        bool parallel = report.Results.Any(p => p.ParallelSpeedup > 0);
        md.AppendLine(CultureInfo.InvariantCulture, $"| method | ratio | mean accuracy | std | difference to full (95 % CI) | cost ({report.Results.FirstOrDefault()?.CostUnit}) | relative cost | speedup |{(parallel ? " row-parallel s | row-parallel speedup | link s (3 Mbaud) | row-parallel + link speedup |" : "")}");
        md.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|" + (parallel ? "---:|---:|---:|---:|" : ""));
        foreach (SimulationPoint p in report.Results)
        {
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Method} | {p.Ratio:P0} | {P(p.MeanAccuracy)} | {P(p.StdAccuracy)} | {Points(VersusFull(report, p))} | {p.Cost:G4} | {p.RelativeCost:P1} | {p.Speedup:F2}x |")
                + (parallel ? string.Create(CultureInfo.InvariantCulture, $" {p.ParallelCost:G4} | {p.ParallelSpeedup:F2}x | {p.LinkSeconds:G4} | {p.BenchSpeedup:F2}x |") : ""));
        }
        return md.ToString();
    }

    /// <summary>Each method against the baseline chip by chip, and uswim against uswim-paper when both ran.</summary>
    private static void AppendPairedComparisons(StringBuilder md, SimulationReport report)
    {
        IReadOnlyList<(double Ratio, string Method, string Baseline, PairedDifference Difference)> paired = VersusBaseline(report);
        if (paired.Count > 0)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Each method minus {paired[0].Baseline}, chip by chip, in accuracy points (95 % CI; **bold** where the interval excludes zero):");
            md.AppendLine();
            double[] ratios = [.. paired.Select(r => r.Ratio).Distinct()];
            md.AppendLine("| method | " + string.Join(" | ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture))) + " |");
            md.AppendLine("|---|" + string.Concat(ratios.Select(_ => "---|")));
            foreach (string method in paired.Select(r => r.Method).Distinct())
            {
                IEnumerable<string> cells = ratios.Select(ratio => paired.FirstOrDefault(r => r.Method == method && r.Ratio == ratio) is { Difference: { } d }
                    ? d.Decided ? $"**{Points(d)}**" : Points(d) : "");
                md.AppendLine($"| {method} | {string.Join(" | ", cells)} |");
            }
        }
        if (report.Results.Any(p => p.Method == "uswim") && report.Results.Any(p => p.Method == "uswim-paper"))
        {
            // U-SWIM's two forms side by side: Swim's per-cell score against the authors' own.
            IEnumerable<string> cells = report.Results.Where(p => p.Method == "uswim" && p.Ratio is > 0 and < 1).Select(p =>
            {
                PairedDifference d = PairedDifference.Of(p.Accuracies, report.Results.Single(q => q.Method == "uswim-paper" && q.Ratio == p.Ratio).Accuracies);
                return string.Create(CultureInfo.InvariantCulture, $"{p.Ratio:P0}: {(d.Decided ? $"**{Points(d)}**" : Points(d))}");
            });
            md.AppendLine();
            md.AppendLine($"uswim minus uswim-paper, chip by chip, in accuracy points (95 % CI): {string.Join("; ", cells)}.");
        }
    }

    /// <summary>A paired difference in accuracy points: "-0.12 [-0.20, -0.04]".</summary>
    public static string Points(PairedDifference d)
    {
        ArgumentNullException.ThrowIfNull(d);
        string mean = Signed(100 * d.Mean);
        return double.IsNaN(d.Low) ? mean : $"{mean} [{Signed(100 * d.Low)}, {Signed(100 * d.High)}]";
    }

    private static string Signed(double points) => (Math.Round(points, 2) == 0 ? 0 : points).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);

    private static string P(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + " %";

    private static string F(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
