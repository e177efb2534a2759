using System.Text.Json;
using Swim.Controller.Boards;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Scripting;
using Swim.Controller.Selection;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

[Trait("Speed", "Slow")]
public sealed class RunCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    private string Write(string yaml)
    {
        string path = _dir.File("session.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private string Header(string board = "board: emulator:rram\n") =>
        $"{board}model: {s_model}\ncalibration: {{path: {s_data}, samples: 300}}\ntest: {{path: {s_data}, samples: 300}}\noutput: out\n";

    [Fact]
    public void The_scripts_link_settings_pace_its_board()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        string script = Write(Header(board: $"board: tcp:127.0.0.1:{port}\n") + "link: {timeout_ms: 100, retries: 1}\nsteps:\n  - identify\n");

        CliRun run = CliRun.Of("run", script);

        Assert.Equal(ExitCodes.Failure, run.ExitCode);
        Assert.Contains("in 2 attempts of 100 ms each", run.Error);
    }

    [Fact]
    public void A_script_programs_evaluates_and_reports_and_a_rerun_resumes_its_journals_to_the_same_result()
    {
        string script = Write(Header() + """
            steps:
              - identify
              - sensitivity
              - program: {method: swim, ratio: 0.1}
              - eval
              - program: {method: magnitude, ratio: 0.2}
              - eval
              - report
            """);

        CliRun first = CliRun.Of("run", script);

        Assert.True(first.ExitCode == 0, first.Error + first.Output);
        string output = _dir.File("out");
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        JsonElement[] runs = [.. report.RootElement.GetProperty("runs").EnumerateArray()];
        Assert.Equal(["01-swim-10pct", "02-magnitude-20pct"], runs.Select(r => r.GetProperty("label").GetString()));
        // SWIM at 10 % on the NeuRRAM-like preset keeps about 88 % of the digits after relaxation; a broken session lands near chance.
        Assert.All(runs, r => Assert.InRange(r.GetProperty("accuracy").GetDouble(), 0.8, 1));
        Assert.Equal(6147 * 8, runs[0].GetProperty("cells_verified").GetInt32());
        Assert.True(File.Exists(Path.Combine(output, "programmed", "01-swim-10pct.onnx")));
        Assert.True(File.Exists(Path.Combine(output, "accuracy-vs-device-time.png")));
        Assert.Contains("| 01-swim-10pct | swim | 10 % |", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);

        Assert.True(File.Exists(Path.Combine(output, "sensitivity.npz")));
        DateTime passWritten = File.GetLastWriteTimeUtc(Path.Combine(output, "sensitivity.npz"));
        CliRun again = CliRun.Of("run", script);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--resume", again.Error, StringComparison.Ordinal);
        Assert.Contains("--force", again.Error, StringComparison.Ordinal);
        // Refused before any step: the earlier run's pass is not computed and written again.
        Assert.DoesNotContain("step 1/", again.Output, StringComparison.Ordinal);
        Assert.Equal(passWritten, File.GetLastWriteTimeUtc(Path.Combine(output, "sensitivity.npz")));

        CliRun resumed = CliRun.Of("run", script, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("read the earlier run's pass", resumed.Output, StringComparison.Ordinal);
        Assert.Equal(passWritten, File.GetLastWriteTimeUtc(Path.Combine(output, "sensitivity.npz")));
        using JsonDocument after = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        Assert.Equal(runs.Select(r => r.GetProperty("accuracy").GetDouble()), after.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("accuracy").GetDouble()));
        // The finished run's figures, from its journals, not the nothing a resume of finished work does.
        Assert.Equal(runs.Select(r => r.GetProperty("pulses").GetUInt64()), after.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("pulses").GetUInt64()));

        CliRun forced = CliRun.Of("run", script, "--force");
        Assert.True(forced.ExitCode == 0, forced.Error);
        Assert.Contains("step 1/", forced.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_later_step_that_ranks_by_gradients_finds_them_in_the_pass_an_earlier_step_ran()
    {
        // The first program step runs the pass the script shares; swim needs no gradients, the gradient method does.
        string script = Write(Header() + "steps:\n  - program: {method: swim, ratio: 0.05}\n  - program: {method: gradient, ratio: 0.05}\n");

        CliRun run = CliRun.Of("run", script);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.True(File.Exists(Path.Combine(_dir.File("out"), "programmed", "02-gradient-5pct.onnx")));
    }

    [Fact]
    public void A_script_can_read_an_earlier_sensitivity_pass_instead_of_calibration_data()
    {
        string sensitivity = _dir.File("sens.npz");
        Assert.Equal(0, CliRun.Of("sensitivity", s_model, "--data", s_data, "--samples", "100", "--out", sensitivity).ExitCode);

        SessionScript script = SessionScriptParser.Parse($"board: emulator\nmodel: {s_model}\noutput: out\nsteps:\n  - sensitivity: {{from: {sensitivity}}}\n  - program: {{method: swim, ratio: 0.1}}\n", _dir.File("s.yaml"));
        Assert.Equal(sensitivity, Assert.IsType<SensitivityStep>(script.Steps[0]).From);

        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(
            $"board: emulator\nmodel: {s_model}\noutput: out\nsteps:\n  - program: {{method: swim, ratio: 0.1}}\n  - sensitivity: {{from: {sensitivity}}}\n", _dir.File("s.yaml")));
        Assert.Contains("steps[0]: method swim ranks weights by the sensitivity pass", error.Message, StringComparison.Ordinal);
    }
}
