using Swim.Controller.Sessions;

namespace Swim.Controller.Reports;

/// <summary>The PNG figures of programming reports.</summary>
public static class ReportPlots
{
    /// <summary>
    /// Each run's accuracy against the device time it spent, one colour per <c>Group</c> (a selection method), the
    /// runs of a group joined in order of time: a sweep's methods read as curves, not as a cloud of same-coloured points.
    /// </summary>
    public static void AccuracyVersusDeviceTime(IReadOnlyList<(string Group, string Label, double Seconds, double Accuracy)> runs, string path) =>
        Save(AccuracyVersusDeviceTimePlot(runs), path);

    /// <summary>The figure <see cref="AccuracyVersusDeviceTime"/> saves.</summary>
    internal static ScottPlot.Plot AccuracyVersusDeviceTimePlot(IReadOnlyList<(string Group, string Label, double Seconds, double Accuracy)> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var plot = new ScottPlot.Plot();
        string[] groups = [.. runs.Select(r => r.Group).Distinct()];
        ScottPlot.IPalette palette = PaletteFor(groups.Length);
        for (int g = 0; g < groups.Length; g++)
        {
            var members = runs.Where(r => r.Group == groups[g]).OrderBy(r => r.Seconds).ToArray();
            ScottPlot.Color color = palette.GetColor(g);
            if (members.Length == 1)
            {
                var marker = plot.Add.Marker(members[0].Seconds, 100 * members[0].Accuracy);
                marker.Color = color;
                marker.MarkerSize = 10;
                marker.LegendText = $"{members[0].Label}: {100 * members[0].Accuracy:F2} %, {members[0].Seconds:F2} s";
                continue;
            }
            var line = plot.Add.Scatter(members.Select(m => m.Seconds).ToArray(), members.Select(m => 100 * m.Accuracy).ToArray());
            line.Color = color;
            line.MarkerSize = 8;
            line.LegendText = $"{groups[g]} ({members.Length} runs, {100 * members.Min(m => m.Accuracy):F2} to {100 * members.Max(m => m.Accuracy):F2} %)";
        }
        plot.Title("Accuracy against programming time");
        plot.XLabel("device time spent programming (s)");
        plot.YLabel("top-1 accuracy of the read-back model (%)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        return plot;
    }

    /// <summary>Per layer: how far read-back weights are from their quantized targets.</summary>
    public static void LayerErrors(IReadOnlyList<LayerError> layers, string path)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var plot = new ScottPlot.Plot();
        var bars = plot.Add.Bars(layers.Select(l => 100 * l.RmsError).ToArray());
        bars.Color = new ScottPlot.Palettes.Category10().GetColor(0);
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, layers.Count).Select(i => (double)i).ToArray(), layers.Select(l => l.Weight).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title("Read-back error per layer");
        plot.YLabel("RMS error (% of the layer's full scale)");
        Save(plot, path);
    }

    /// <summary>
    /// A Monte-Carlo study, one line per method with error bars of one standard deviation over the trials:
    /// accuracy against <paramref name="x"/> of each point in percent (the verified fraction, or the relative cost).
    /// </summary>
    public static void StudyCurves(IReadOnlyList<Simulation.SimulationPoint> points, Func<Simulation.SimulationPoint, double> x, string xLabel, string title, string path)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(x);
        var plot = new ScottPlot.Plot();
        ScottPlot.IPalette palette = PaletteFor(points.Select(p => p.Method).Distinct().Count());
        int index = 0;
        foreach (IGrouping<string, Simulation.SimulationPoint> method in points.GroupBy(p => p.Method))
        {
            Simulation.SimulationPoint[] line = [.. method.OrderBy(x)];
            double[] xs = [.. line.Select(p => 100 * x(p))];
            double[] ys = [.. line.Select(p => 100 * p.MeanAccuracy)];
            double[] errors = [.. line.Select(p => 100 * p.StdAccuracy)];
            ScottPlot.Color color = palette.GetColor(index++);
            var scatter = plot.Add.Scatter(xs, ys);
            scatter.Color = color;
            scatter.LegendText = method.Key;
            var bars = plot.Add.ErrorBar(xs, ys, errors);
            bars.Color = color;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("top-1 test accuracy (%), mean +- std over trials");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        Save(plot, path);
    }

    /// <summary>Ten well-separated colours while they suffice; twenty beyond, so no two series share a colour (a palette wraps around).</summary>
    private static ScottPlot.IPalette PaletteFor(int series) =>
        series <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();

    private static void Save(ScottPlot.Plot plot, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        plot.SavePng(full, 900, 560);
    }
}
