using Swim.Controller;
using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Scripting;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Controller.Simulation;
using Swim.Tests.Support;

namespace Swim.Tests.Scripting;

/// <summary>The YAML parser on its own: every setting it reads, the defaults it leaves to the options types, and where it reports each problem.</summary>
public sealed class SessionScriptParserTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    private static string Header(string board = "board: emulator:rram\n") =>
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
    public void A_list_of_boards_parses_in_order_and_a_budget_over_several_boards_is_refused_at_its_line()
    {
        SessionScript script = SessionScriptParser.Parse(Header("board: [tcp:127.0.0.1:5025, emulator:pcm]\n") + """
            emulator: {geometry: 8x256x256, boards: 3}
            steps:
              - program: {method: swim, ratio: 0.1}
            """, _dir.File("boards.yaml"));

        Assert.Equal(["tcp:127.0.0.1:5025", "emulator:pcm"], script.Boards.Select(b => b.ToString()));
        Assert.Equal(3, script.Emulator.Boards);

        var budget = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header("board: emulator\n") + """
            emulator: {boards: 2}
            steps:
              - identify
              - program: {method: swim, budget: 0.5}
            """, _dir.File("budget.yaml")));
        Assert.Contains("budget.yaml:9: budget:", budget.Message, StringComparison.Ordinal);

        var bad = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header("board:\n  - emulator\n  - tcp:nowhere\n") + "steps:\n  - identify\n", _dir.File("bad.yaml")));
        Assert.Contains("bad.yaml:3: board[1]:", bad.Message, StringComparison.Ordinal);
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

    [Fact]
    public void Program_and_simulate_steps_take_a_selection_cost_and_a_placement_that_brings_the_sensitivity_pass()
    {
        SessionScript script = SessionScriptParser.Parse(Header() + """
            steps:
              - program: {method: magnitude, ratio: 0.3, selection_cost: bench, placement: sensitivity}
              - program: {method: magnitude}
              - simulate: {noise_model: device, selection_cost: parallel, placement: sensitivity}
            """, _dir.File("costs.yaml"));

        var placed = Assert.IsType<ProgramStep>(script.Steps[0]);
        Assert.Equal((SelectionCost.Bench, Placement.Sensitivity), (placed.Cost, placed.Placement));
        // Placement ranks inputs and outputs by SWIM's score, so the step needs the pass though magnitude does not.
        Assert.Contains(SelectionMethod.Swim, placed.RankingMethods);
        Assert.Equal("magnitude-30pct-bench-placed", placed.Label);
        (SelectionCost cost, Placement placement) = (ScriptRunner.OptionsFor(script, placed).SelectionCost, ScriptRunner.OptionsFor(script, placed).Placement);
        Assert.Equal((SelectionCost.Bench, Placement.Sensitivity), (cost, placement));
        var plain = Assert.IsType<ProgramStep>(script.Steps[1]);
        Assert.Equal((SelectionCost.Count, Placement.Natural, "magnitude-10pct"), (plain.Cost, plain.Placement, plain.Label));
        Assert.Equal([SelectionMethod.Magnitude], plain.RankingMethods);
        var simulate = Assert.IsType<SimulateStep>(script.Steps[2]);
        Assert.Equal((SelectionCost.RowParallel, Placement.Sensitivity), (simulate.Options.SelectionCost, simulate.Options.Placement));
    }

    private sealed class ToleranceComparer : IEqualityComparer<(double, double, int, int)>
    {
        public bool Equals((double, double, int, int) x, (double, double, int, int) y) =>
            Math.Abs(x.Item1 - y.Item1) < 1e-12 && Math.Abs(x.Item2 - y.Item2) < 1e-12 && x.Item3 == y.Item3 && x.Item4 == y.Item4;

        public int GetHashCode((double, double, int, int) obj) => 0;
    }

    [Theory]
    [InlineData("steps:\n  - program: {method: swim, ratio: 1.5}\n", 7, "steps[0].program.ratio", "not a number from 0 to 1")]
    [InlineData("steps:\n  - simulate: {noise_model: device, read_after: tomorrow}\n", 7, "steps[0].simulate.read_after", "'tomorrow' is not a duration")]
    [InlineData("steps:\n  - program: {mehtod: swim}\n", 7, "steps[0].program.mehtod", "unknown field 'mehtod'")]
    [InlineData("steps:\n  - eval\n  - calibrate\n", 8, "steps[1]", "unknown step 'calibrate'")]
    [InlineData("steps:\n  - sweep: {methods: [swim, best], ratios: [0.1]}\n", 7, "steps[0].sweep.methods[1]", "'best' is not one of")]
    [InlineData("steps:\n  - program: {ratio: 0.1, budget: 2}\n", 7, "steps[0].program", "not both")]
    [InlineData("steps:\n  - simulate: {noise_model: device, sigma_wv: 0.01}\n", 7, "steps[0].simulate.sigma_wv", "board's loop")]
    [InlineData("steps:\n  - program: {selection_cost: rows}\n", 7, "steps[0].program.selection_cost", "'rows' is not one of")]
    [InlineData("steps:\n  - simulate: {noise_model: device, placement: packed}\n", 7, "steps[0].simulate.placement", "'packed' is not one of")]
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
    public void Steps_without_settings_take_the_options_types_defaults()
    {
        SessionScript script = SessionScriptParser.Parse(Header() + "steps:\n  - program\n  - simulate\n", "s.yaml");

        var program = Assert.IsType<ProgramStep>(script.Steps[0]);
        var defaults = new ProgrammingOptions();
        Assert.Equal((defaults.Method, defaults.Fraction, defaults.Seed), (program.Method, program.Ratio, program.Seed));
        Assert.Equal(defaults.Mapping, script.Programming.Mapping);
        Assert.Equal((defaults.ToleranceFraction, defaults.MaxIterations), (script.Programming.ToleranceFraction, script.Programming.MaxIterations));
        SimulationOptions simulate = Assert.IsType<SimulateStep>(script.Steps[1]).Options;
        var study = new SimulationOptions();
        Assert.Equal((study.Trials, study.Seed, study.Sigma, study.SigmaVerified, study.WeightBits), (simulate.Trials, simulate.Seed, simulate.Sigma, simulate.SigmaVerified, simulate.WeightBits));
        Assert.Equal(study.Methods, simulate.Methods);
        Assert.Equal(EmulatorSettings.Default, script.Emulator);
        Assert.Equal(LinkSettings.Default, script.Link);
    }

    [Theory]
    [InlineData("board: emulator:pcm\n", "emulator:pcm")]
    [InlineData("board: tcp:benchbox.lab:5025\n", "tcp:benchbox.lab:5025")]
    [InlineData("board: 'tcp:[::1]:5025'\n", "tcp:[::1]:5025")]
    [InlineData("board: serial:/dev/ttyACM0\n", "serial:/dev/ttyACM0@3000000")]
    [InlineData("board: spi:0.1@25\n", "spi:0.1@25")]
    public void The_board_is_parsed_into_its_address_when_the_script_is_read(string board, string expected)
    {
        SessionScript script = SessionScriptParser.Parse(Header(board) + "steps:\n  - identify\n", "s.yaml");
        Assert.Equal(expected, script.Board!.ToString());
    }

    [Theory]
    [InlineData("board: tcp:127.0.0.1\n", 1, "board", "tcp:HOST:PORT")]
    [InlineData("board: tcp:bench:99999\n", 1, "board", "tcp:HOST:PORT")]
    [InlineData("board: usb:/dev/x\n", 1, "board", "is not a kind of board")]
    [InlineData("board: emulator:flash\n", 1, "board", "is not a device preset")]
    public void A_malformed_board_is_reported_at_its_line_with_the_accepted_forms(string board, int line, string field, string problem)
    {
        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header(board) + "steps:\n  - identify\n", "s.yaml"));
        Assert.StartsWith($"s.yaml:{line}: {field}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(BoardAddress.Forms, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("emulator: {geometry: 16x256}\nsteps:\n  - eval\n", 6, "emulator.geometry", "TILESxROWSxCOLUMNS")]
    [InlineData("emulator: {geometry: 4096x4096x4096}\nsteps:\n  - eval\n", 6, "emulator.geometry", "64 Mi cells")]
    [InlineData("mapping: {weight_bits: 17}\nsteps:\n  - eval\n", 6, "mapping.weight_bits", "from 1 to 16")]
    [InlineData("mapping: {signs: twos}\nsteps:\n  - eval\n", 6, "mapping.signs", "differential, offset")]
    [InlineData("steps:\n  - simulate: {noise_model: paper, stuck_rate: 0.1}\n", 7, "steps[0].simulate.stuck_rate", "device noise model")]
    [InlineData("steps:\n  - simulate: {device: sram}\n", 7, "steps[0].simulate.device", "'sram' is not one of")]
    [InlineData("steps:\n  - sensitivity: {curvature: kfac}\n", 7, "steps[0].sensitivity.curvature", "obd, ggn, ggn-mc")]
    [InlineData("steps:\n  - eval: {samples: 3}\n", 7, "steps[0].eval", "takes no settings")]
    public void Each_setting_is_refused_at_its_own_line_and_field(string tail, int line, string field, string problem)
    {
        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(Header() + tail, "s.yaml"));
        Assert.StartsWith($"s.yaml:{line}: {field}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Simulate_settings_follow_the_noise_models_rules()
    {
        SimulationOptions device = Assert.IsType<SimulateStep>(SessionScriptParser.Parse(Header() + "steps:\n  - simulate: {noise_model: device, device: pcm, sigma: 0.2, stuck_rate: 0}\n", "s.yaml").Steps[0]).Options;
        Assert.Equal((NoiseModelKind.Device, "pcm", 0.2, 0.0), (device.NoiseModel, device.Device.Name, device.Device.ProgramSigma, device.Device.StuckRate));
        SimulationOptions paper = Assert.IsType<SimulateStep>(SessionScriptParser.Parse(Header() + "steps:\n  - simulate: {sigma: 0.05, weight_bits: 4}\n", "s.yaml").Steps[0]).Options;
        Assert.Equal((NoiseModelKind.Paper, 0.05, 0.005, 4), (paper.NoiseModel, paper.Sigma, paper.SigmaVerified, paper.WeightBits));
    }

    [Fact]
    public void A_method_that_needs_derivatives_needs_calibration_or_a_saved_pass()
    {
        string header = $"board: emulator\nmodel: {s_model}\noutput: out\n";
        var error = Assert.Throws<SwimInputException>(() => SessionScriptParser.Parse(header + "steps:\n  - program: {method: swim}\n", "s.yaml"));
        Assert.StartsWith("s.yaml:5: steps[0]: method swim ranks weights by the sensitivity pass", error.Message, StringComparison.Ordinal);
        SessionScript magnitude = SessionScriptParser.Parse(header + "steps:\n  - program: {method: magnitude, budget: 0.5}\n", "s.yaml");
        var step = Assert.IsType<ProgramStep>(magnitude.Steps[0]);
        Assert.Equal((SelectionMethod.Magnitude, TimeSpan.FromSeconds(0.5)), (step.Method, step.Budget));
    }
}
