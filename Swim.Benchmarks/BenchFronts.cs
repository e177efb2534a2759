using System.Text.Json;
using Swim.Controller;
using Swim.Controller.Reports;
using Swim.Controller.Simulation;

namespace Swim.Benchmarks;

/// <summary>
/// The accuracy-against-bench-time fronts of several device studies in one figure, each method of each study its own
/// line (labelled by the study), and a table of each line's smallest bench time within 0.3 points of full write-verify:
/// how selection and placement options compare with plain SWIM on the same chips (every study samples the same chips for a seed).
/// </summary>
internal static class BenchFronts
{
    /// <param name="arguments">The figure's path, then studies as DIRECTORY=LABEL, each optionally :METHOD,METHOD to keep only those methods.</param>
    public static int Run(TextWriter output, IReadOnlyList<string> arguments)
    {
        if (arguments.Count < 2)
        {
            output.WriteLine("usage: bench-fronts OUT.png DIR=LABEL[:METHOD,METHOD] ...");
            return 2;
        }
        var points = new List<SimulationPoint>();
        output.WriteLine("| study | method | smallest bench time within 0.3 points | bench speedup | fixed link s (nothing verified) | full write-verify bench s |");
        output.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (string study in arguments.Skip(1))
        {
            (string directory, string label, string[]? methods) = Parse(study);
            using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "results.json")));
            double full = json.RootElement.GetProperty("full_write_verify_accuracy").GetDouble();
            SimulationPoint[] studyPoints = JsonSerializer.Deserialize<SimulationPoint[]>(json.RootElement.GetProperty("results").GetRawText(), JsonOutput.Options)!;
            foreach (IGrouping<string, SimulationPoint> method in studyPoints.GroupBy(p => p.Method).Where(g => methods is null || methods.Contains(g.Key)))
            {
                SimulationPoint[] line = [.. method.OrderBy(p => 1 / p.BenchSpeedup)];
                // A point's bench time times its speedup is full write-verify's (the same chips, the same link).
                SimulationPoint none = line.First(p => p.Ratio == 0);
                double fullBench = (none.ParallelCost + none.LinkSeconds) * none.BenchSpeedup;
                SimulationPoint? within = line.FirstOrDefault(p => p.MeanAccuracy >= full - 0.003);
                output.WriteLine($"| {label} | {method.Key} | {(within is null ? "none" : $"{100 / within.BenchSpeedup:F1} % (ratio {within.Ratio:P0})")} | {(within is null ? "-" : $"{within.BenchSpeedup:F2}x")} | {none.LinkSeconds:F2} | {fullBench:F2} |");
                points.AddRange(line.Select(p => p with { Method = $"{method.Key} ({label})" }));
            }
        }
        ReportPlots.StudyCurves(points, p => 1 / p.BenchSpeedup, "bench time: row-parallel device plus 3 Mbaud link (% of full write-verify)",
            "Accuracy against bench time, LeNet-5 on 30 chips", arguments[0]);
        output.WriteLine($"wrote {arguments[0]}");
        return 0;
    }

    private static (string Directory, string Label, string[]? Methods) Parse(string study)
    {
        int equals = study.IndexOf('=', StringComparison.Ordinal);
        string directory = equals < 0 ? study : study[..equals];
        string label = equals < 0 ? Path.GetFileName(directory) : study[(equals + 1)..];
        int colon = label.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (directory, label, null) : (directory, label[..colon], label[(colon + 1)..].Split(','));
    }
}
