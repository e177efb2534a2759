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
    public void Every_sample_script_is_valid()
    {
        string samples = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(s_model))!, "samples");
        string[] scripts = Directory.GetFiles(samples, "*.yaml");
        Assert.NotEmpty(scripts);
        foreach (string script in scripts)
        {
            SessionScript parsed = SessionScriptParser.Load(script);
            Assert.NotEmpty(parsed.Steps);
        }
    }

    [Fact]
    public void A_valid_script_parses_into_its_steps_with_their_lines()
    {
        SessionScript script = SessionScriptParser.Parse(Header() + """
            mapping: {weight_bits: 4, signs: offset}
            emulator: {geometry: 32x256x256, seed: 4, stuck_rate: 0}
            steps:
              - identify
              - program: {method: uswim, ratio: 0.2, seed: 3}
              - program: {method: swim, budget: 0.5}
              - sweep: {methods: [swim, random], ratios: [0.1, 0.2]}
              - simulate: {noise_model: paper, sigma: 0.3, trials: 5}
              - report
            """, _dir.File("inline.yaml"));

        Assert.Equal(6, script.Steps.Count);
        Assert.Equal(4, script.Programming.Mapping.MagnitudeBits);
        var program = Assert.IsType<ProgramStep>(script.Steps[1]);
        Assert.Equal((SelectionMethod.USwim, 0.2, 3, 10), (program.Method, program.Ratio, program.Seed, program.Line));
        Assert.Equal(new EmulatorSettings(new Swim.Emulator.BoardGeometry(32, 256, 256), 4, 0), script.Emulator);
        Assert.Equal(TimeSpan.FromSeconds(0.5), Assert.IsType<ProgramStep>(script.Steps[2]).Budget);
        Assert.Equal([0.1, 0.2], Assert.IsType<SweepStep>(script.Steps[3]).Ratios);
        var simulate = Assert.IsType<SimulateStep>(script.Steps[4]);
        Assert.Equal((0.3, 0.03, 5, 4), (simulate.Options.Sigma, simulate.Options.SigmaVerified, simulate.Options.Trials, simulate.Options.WeightBits), new ToleranceComparer());
        Assert.Equal(Path.Combine(_dir.Path, "out"), script.Output);
        Assert.Equal(LinkSettings.Default, script.Link);
        Assert.Equal(new LinkSettings(2_000, 12), SessionScriptParser.Parse(Header() + "link: {timeout_ms: 2000, retries: 12}\nsteps:\n  - identify\n", "s.yaml").Link);
    }

    private sealed class ToleranceComparer : IEqualityComparer<(double, double, int, int)>
    {
        public bool Equals((double, double, int, int) x, (double, double, int, int) y) =>
            Math.Abs(x.Item1 - y.Item1) < 1e-12 && Math.Abs(x.Item2 - y.Item2) < 1e-12 && x.Item3 == y.Item3 && x.Item4 == y.Item4;

        public int GetHashCode((double, double, int, int) obj) => 0;
    }

    [Theory]
    [InlineData("steps:\n  - program: {method: swim, ratio: 1.5}\n", 7, "steps[0].program.ratio", "not a number from 0 to 1")]
    [InlineData("steps:\n  - program: {mehtod: swim}\n", 7, "steps[0].program.mehtod", "unknown field 'mehtod'")]
    [InlineData("steps:\n  - eval\n  - calibrate\n", 8, "steps[1]", "unknown step 'calibrate'")]
    [InlineData("steps:\n  - sweep: {methods: [swim, best], ratios: [0.1]}\n", 7, "steps[0].sweep.methods[1]", "'best' is not one of")]
    [InlineData("steps:\n  - program: {ratio: 0.1, budget: 2}\n", 7, "steps[0].program", "not both")]
    [InlineData("steps:\n  - simulate: {noise_model: device, sigma_wv: 0.01}\n", 7, "steps[0].simulate.sigma_wv", "board's loop")]
    [InlineData("stesp:\n  - eval\n", 6, "stesp", "unknown field 'stesp'")]
    [InlineData("emulator: {stuck_rate: 2}\nsteps:\n  - eval\n", 6, "emulator.stuck_rate", "not a number from 0 to 1")]
    [InlineData("link: {timeout_ms: 5}\nsteps:\n  - eval\n", 6, "link.timeout_ms", "not a whole number from 10 to 600000")]
    [InlineData("link: {retries: -1}\nsteps:\n  - eval\n", 6, "link.retries", "not a whole number from 0 to 100")]
    [InlineData("link: {timeout: 900}\nsteps:\n  - eval\n", 6, "link.timeout", "unknown field 'timeout'")]
    public void Validation_errors_name_the_line_and_the_field(string steps, int line, string field, string problem)
    {
        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header() + steps, "s.yaml"));

        Assert.StartsWith($"s.yaml:{line}: {field}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

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
    public void Missing_files_and_boards_are_caught_before_anything_runs()
    {
        var stuck = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(
            Header(board: "board: tcp:127.0.0.1:5025\n") + "emulator: {stuck_rate: 0}\nsteps:\n  - eval\n", "s.yaml"));
        Assert.StartsWith("s.yaml:6: emulator.stuck_rate: ", stuck.Message, StringComparison.Ordinal);
        Assert.Contains("in-process emulator", stuck.Message, StringComparison.Ordinal);
        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse("model: nowhere.onnx\noutput: out\nsteps: [eval]\n", _dir.File("s.yaml")));
        Assert.Contains(":1: model: file", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header(board: "") + "steps:\n  - identify\n", "s.yaml"));
        Assert.Contains("s.yaml:6: steps[0]: identify needs a board", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header() + "steps: [\n", "s.yaml"));
        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_script_programs_evaluates_and_reports_and_a_rerun_resumes_its_journals_to_the_same_result()
    {
        string script = Write(Header() + """
            steps:
              - identify
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
        Assert.All(runs, r => Assert.InRange(r.GetProperty("accuracy").GetDouble(), 0.9, 1));
        Assert.Equal(6147 * 8, runs[0].GetProperty("cells_verified").GetInt32());
        Assert.True(File.Exists(Path.Combine(output, "programmed", "01-swim-10pct.onnx")));
        Assert.True(File.Exists(Path.Combine(output, "accuracy-vs-device-time.png")));
        Assert.Contains("| 01-swim-10pct | swim | 10 % |", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);

        CliRun again = CliRun.Of("run", script);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--resume", again.Error, StringComparison.Ordinal);

        CliRun resumed = CliRun.Of("run", script, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        using JsonDocument after = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        Assert.Equal(runs.Select(r => r.GetProperty("accuracy").GetDouble()), after.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("accuracy").GetDouble()));
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
