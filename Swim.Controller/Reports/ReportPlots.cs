using Swim.Controller.Sessions;

namespace Swim.Controller.Reports;

/// <summary>The PNG figures of programming reports.</summary>
public static class ReportPlots
{
    /// <summary>One point per run: the trade-off a lab chooses from (accuracy against device time spent programming).</summary>
    public static void AccuracyVersusDeviceTime(IReadOnlyList<(string Label, double Seconds, double Accuracy)> runs, string path)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var plot = new ScottPlot.Plot();
        ScottPlot.Palettes.Category10 palette = new();
        for (int i = 0; i < runs.Count; i++)
        {
            (string label, double seconds, double accuracy) = runs[i];
            var marker = plot.Add.Marker(seconds, 100 * accuracy);
            marker.Color = palette.GetColor(i);
            marker.MarkerSize = 10;
            marker.LegendText = $"{label}: {100 * accuracy:F2} %, {seconds:F2} s";
        }
        plot.Title("Accuracy against programming time");
        plot.XLabel("device time spent programming (s)");
        plot.YLabel("top-1 accuracy of the read-back model (%)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        Save(plot, path);
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

    private static void Save(ScottPlot.Plot plot, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        plot.SavePng(full, 900, 560);
    }
}
