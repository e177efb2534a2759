using Swim.Controller.Reports;

namespace Swim.Tests.Reports;

public sealed class ReportPlotTests
{
    /// <summary>
    /// A method sweep (as a script's runs: the none and full references, then methods at several ratios) gives one
    /// series per method, each in its own colour, with that method's runs joined in order of time.
    /// </summary>
    [Fact]
    public void The_accuracy_against_time_plot_has_one_colour_per_method_and_joins_its_runs()
    {
        (string, string, double, double)[] runs =
        [
            ("none", "01-none", 0.9, 0.95), ("full", "02-full", 9.0, 0.99),
            .. new[] { "swim", "magnitude", "random", "uswim", "gradient", "posterior", "cell-level", "uswim-paper", "swim-activation", "magnitude-inverse" }
                .SelectMany((m, i) => new[] { 0.05, 0.2 }.Select((r, j) => (m, $"{i}-{m}-{r}", 3.0 - j - 0.1 * i, 0.96 + 0.01 * j))),
        ];

        ScottPlot.Plot plot = ReportPlots.AccuracyVersusDeviceTimePlot(runs);

        var series = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToArray();
        var markers = plot.GetPlottables().OfType<ScottPlot.Plottables.Marker>().ToArray();
        Assert.Equal(10, series.Length);
        Assert.Equal(2, markers.Length);
        string[] colours = [.. series.Select(s => s.Color.ToHex()).Concat(markers.Select(m => m.Color.ToHex()))];
        Assert.Equal(12, colours.Distinct().Count());
        foreach (ScottPlot.Plottables.Scatter line in series)
        {
            double[] xs = [.. line.Data.GetScatterPoints().Select(p => p.X)];
            Assert.Equal(2, xs.Length);
            Assert.True(xs[0] < xs[1], "a method's runs are joined in order of device time");
        }
    }
}
