using System.Text.Json;
using Swim.Controller;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

public sealed class SimulateCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    [Fact]
    public void Writes_results_json_csv_and_plots_in_the_documented_shape()
    {
        string output = _dir.File("study");

        CliRun run = CliRun.Of("simulate", s_model, "--data", s_data, "--samples", "300", "--calib", s_data, "--calib-samples", "300",
            "--methods", "swim,random", "--ratios", "0,0.2,1", "--trials", "3", "--weight-bits", "4", "--sigma", "0.3", "--out", output);

        Assert.True(run.ExitCode == 0, run.Error);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        JsonElement results = json.RootElement.GetProperty("results");
        Assert.Equal(6, results.GetArrayLength());
        foreach (JsonElement point in results.EnumerateArray())
        {
            Assert.Contains(point.GetProperty("method").GetString(), new[] { "swim", "random" });
            Assert.InRange(point.GetProperty("mean_accuracy").GetDouble(), 0, 1);
            Assert.True(point.GetProperty("std_accuracy").GetDouble() >= 0);
            Assert.Equal(3, point.GetProperty("trials").GetInt32());
            Assert.True(point.GetProperty("cost").GetDouble() > 0);
            Assert.Equal(3, point.GetProperty("accuracies").GetArrayLength());
        }
        Assert.Equal(0.03, json.RootElement.GetProperty("sigma_verified").GetDouble(), 12);
        JsonElement provenance = json.RootElement.GetProperty("provenance");
        Assert.Contains("--sigma", provenance.GetProperty("command").EnumerateArray().Select(a => a.GetString()));
        Assert.False(string.IsNullOrEmpty(provenance.GetProperty("swim_version").GetString()));
        string[] csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        Assert.Equal(7, csv.Length);
        Assert.StartsWith("method,ratio,mean_accuracy,std_accuracy,trials,cost", csv[0], StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(output, "accuracy-vs-ratio.png")).Length > 1000);
        Assert.True(new FileInfo(Path.Combine(output, "accuracy-vs-cost.png")).Length > 1000);
        Assert.Empty(Directory.GetDirectories(_dir.Path, "study.partial-*"));
    }

    [Theory]
    [InlineData("--ratios", "0,150", "--ratios")]
    [InlineData("--methods", "swim,best", "selection method 'best'")]
    [InlineData("--device", "sram", "--device")]
    public void Bad_input_exits_2_naming_the_option_and_writes_nothing(string option, string value, string expected)
    {
        string output = _dir.File("study");

        CliRun run = CliRun.Of("simulate", s_model, "--data", s_data, "--samples", "100", "--calib", s_data, "--noise-model", "device", option, value, "--out", output);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_saved_sensitivity_file_replaces_calibration_data()
    {
        string sensitivity = _dir.File("sens.npz");
        Assert.Equal(0, CliRun.Of("sensitivity", s_model, "--data", s_data, "--samples", "300", "--out", sensitivity).ExitCode);

        CliRun run = CliRun.Of("simulate", s_model, "--data", s_data, "--samples", "200", "--sensitivity", sensitivity,
            "--methods", "swim", "--ratios", "0,0.1", "--trials", "2", "--out", _dir.File("study"));

        Assert.True(run.ExitCode == 0, run.Error);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File("study"), "results.json")));
        Assert.Equal("read from sens.npz", json.RootElement.GetProperty("curvature").GetString());
        Assert.Contains("--sensitivity", CliRun.Of("simulate", s_model, "--data", s_data, "--methods", "swim", "--out", _dir.File("x")).Error, StringComparison.Ordinal);
    }
}
