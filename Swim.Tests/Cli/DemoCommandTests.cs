using System.Text.Json;
using Swim.Controller.Cli;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>The README's main job, end to end, on fewer digits: every run programmed, read back, evaluated and reported.</summary>
[Trait("Speed", "Slow")]
public sealed class DemoCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_demo_programs_every_selection_reads_it_back_and_reports_what_each_cost()
    {
        string output = _dir.File("demo");

        CliRun run = CliRun.Of("demo", "--out", output, "--test-samples", "300", "--calib-samples", "500");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        Assert.Contains("300 test digits", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "accuracy-vs-device-time.png")));
        JsonElement[] runs = [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "demo.json"))).RootElement.GetProperty("runs").EnumerateArray()];
        Assert.Equal(["none (open loop)", "swim", "magnitude", "random", "full write-verify"], runs.Select(r => r.GetProperty("selection").GetString()));
        long Cells(int i) => runs[i].GetProperty("cells_verified").GetInt64();
        double Time(int i) => runs[i].GetProperty("device_time_s").GetDouble();
        double Accuracy(int i) => runs[i].GetProperty("accuracy").GetDouble();
        // LeNet-5: 61,470 weights of 8 cells. None verified, 10 % of the weights (6,147) for each method, all of them.
        Assert.Equal([0L, 6_147 * 8, 6_147 * 8, 6_147 * 8, 61_470 * 8], Enumerable.Range(0, 5).Select(Cells));
        Assert.True(Time(0) < Time(1) && Time(1) < Time(4), $"device time {Time(0)} s, {Time(1)} s, {Time(4)} s");
        Assert.All(Enumerable.Range(0, 5), i => Assert.InRange(Accuracy(i), 0.9, 1.0));
        Assert.True(Accuracy(4) >= Accuracy(0), $"full write-verify {Accuracy(4)}, none {Accuracy(0)}");
    }

    [Theory]
    [InlineData("--test-samples", "0")]
    [InlineData("--calib-samples", "-3")]
    public void Sample_counts_below_one_are_refused(string option, string value)
    {
        CliRun run = CliRun.Of("demo", "--out", _dir.File("demo"), option, value);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("at least 1", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("demo")));
    }
}
