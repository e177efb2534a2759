using System.Globalization;
using System.Text;
using Swim.Controller.Simulation;

namespace Swim.Controller.Reports;

/// <summary>What a Monte-Carlo study leaves in its directory: results.json, results.csv, results.md and two plots.</summary>
public static class StudyFiles
{
    public static readonly IReadOnlyList<string> Names = ["results.json", "results.csv", "results.md", "accuracy-vs-ratio.png", "accuracy-vs-cost.png"];

    /// <summary>Writes every file into <paramref name="directory"/> together (none if any fails).</summary>
    public static void Write(SimulationReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var staged = new StagedDirectory(directory);
        File.WriteAllText(staged.PathOf("results.json"), JsonOutput.Serialize(report));
        File.WriteAllText(staged.PathOf("results.csv"), Csv(report));
        File.WriteAllText(staged.PathOf("results.md"), StudySummary.Markdown(report));
        string what = Describe(report);
        ReportPlots.StudyCurves(report.Results, p => p.VerifiedFraction, "verified fraction of devices/cells (%)", $"Accuracy against verified fraction ({what})", staged.PathOf("accuracy-vs-ratio.png"));
        ReportPlots.StudyCurves(report.Results, p => p.RelativeCost, "programming cost (% of full write-verify)", $"Accuracy against programming cost ({what})", staged.PathOf("accuracy-vs-cost.png"));
        if (report.Results.All(p => p.BenchSpeedup > 0))
        {
            // The front a bench sees: row-parallel device time plus the link's, as a share of full write-verify's.
            ReportPlots.StudyCurves(report.Results, p => 1 / p.BenchSpeedup, "bench time: row-parallel device plus 3 Mbaud link (% of full write-verify)",
                $"Accuracy against bench time ({what})", staged.PathOf("accuracy-vs-bench-time.png"));
        }
        staged.Commit();
    }

    public static string Describe(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.NoiseModel == "paper"
            ? string.Create(CultureInfo.InvariantCulture, $"paper model, sigma {report.Sigma:G3}, sigma_wv {report.SigmaVerified:G3}")
            : $"{report.Device} device model, read {report.ReadAfter ?? "right after each write"}{report.SelectionCost switch { "parallel" => ", selection by whole rows", "bench" => ", selection by bench time (row passes and link bytes)", _ => "" }}{(report.Placement == "sensitivity" ? ", placed by sensitivity" : "")}";
    }

    /// <summary>One row per (method, ratio); accuracies as fractions, as in results.json.</summary>
    public static string Csv(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder("method,ratio,mean_accuracy,std_accuracy,trials,cost,cost_unit,relative_cost,speedup,verified_fraction,"
            + "difference_to_full,difference_to_full_low,difference_to_full_high,within_margin,parallel_seconds,parallel_speedup,link_seconds,bench_speedup\n");
        foreach (SimulationPoint p in report.Results)
        {
            PairedDifference d = StudySummary.VersusFull(report, p);
            csv.AppendLine(string.Join(',', p.Method, F(p.Ratio), F(p.MeanAccuracy), F(p.StdAccuracy), p.Trials.ToString(CultureInfo.InvariantCulture),
                F(p.Cost), p.CostUnit, F(p.RelativeCost), F(p.Speedup), F(p.VerifiedFraction), F(d.Mean), F(d.Low), F(d.High),
                StudySummary.IsWithin(report, p) ? "true" : "false", F(p.ParallelCost), F(p.ParallelSpeedup), F(p.LinkSeconds), F(p.BenchSpeedup)));
        }
        return csv.ToString();
    }

    private static string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
