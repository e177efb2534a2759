using System.Net;
using System.Text.Json;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// A run never reports a wrong result as success: no resume onto a board that lost the cells, a finished run's
/// resume keeps its real figures, an interrupted run says how to continue, and no failure shows a stack trace.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class RunSafetyTests : IDisposable
{
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Args(string board, params string[] more) =>
        ["program", s_model, "--board", board, "--method", "magnitude", "--ratio", "0.1", "--data", s_data, "--samples", "300",
         "--out", _dir.File("programmed.onnx"), "--journal", _dir.File("j.db"), "--report", _dir.File("report"), .. more];

    [Fact]
    public void Unfinished_work_is_not_resumed_on_an_in_process_emulator_which_starts_blank()
    {
        Assert.Equal(ExitCodes.Success, CliRun.Of(Args("emulator:rram")).ExitCode);
        // As a kill leaves it: cells programmed and verified, the session not finished.
        using (SessionJournal journal = SessionJournal.Open(_dir.File("j.db")))
        {
            journal.SetFact("state", "running");
        }
        File.Delete(_dir.File("programmed.onnx"));

        CliRun refused = CliRun.Of([.. Args("emulator:rram"), "--resume"]);

        Assert.Equal(ExitCodes.BadInput, refused.ExitCode);
        Assert.Contains("starts blank", refused.Error, StringComparison.Ordinal);
        Assert.Contains("swim emulator --state", refused.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("programmed.onnx")));
        Assert.Equal(ExitCodes.Success, CliRun.Of([.. Args("emulator:rram"), "--resume", "--resume-on-blank-board"]).ExitCode);
    }

    [Fact]
    public void A_finished_runs_resume_reports_the_figures_it_recorded_not_zeros()
    {
        Assert.Equal(ExitCodes.Success, CliRun.Of(Args("emulator:rram")).ExitCode);
        JsonElement first = Report();
        Assert.True(first.GetProperty("device_time_s").GetDouble() > 0);

        CliRun again = CliRun.Of([.. Args("emulator:rram"), "--resume"]);

        Assert.True(again.ExitCode == ExitCodes.Success, again.Error);
        JsonElement second = Report();
        foreach (string figure in new[] { "device_time_s", "pulses", "reads", "cells_verified", "verify_iterations", "accuracy" })
        {
            Assert.Equal(first.GetProperty(figure).GetDouble(), second.GetProperty(figure).GetDouble());
        }
        Assert.Contains(second.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("already finished", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_interrupted_run_exits_130_with_the_exact_command_that_continues_it()
    {
        await using var host = new EmulatorHost(new EmulatedBoard(DevicePreset.Rram, BoardGeometry.Default, 5));
        IPEndPoint endpoint = host.ListenTcp(IPAddress.Loopback, 0);
        string[] args = Args($"tcp:127.0.0.1:{endpoint.Port}");
        var output = new StringWriter();
        var error = new StringWriter();
        using var stop = new CancellationTokenSource();
        Task<int> run = Task.Run(() => SwimCommandLine.RunAsync(args, output, error, stop.Token));
        // Stop once the session is under way: its journal has chunks.
        while (!run.IsCompleted && !(File.Exists(_dir.File("j.db")) && Chunks() > 0))
        {
            await Task.Delay(20);
        }
        await stop.CancelAsync();

        int code = await run.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(code == ExitCodes.Interrupted, $"exit {code}: {error}");
        // Progress lines may come first (a stage line says where the session was); the message is a line of its own.
        Assert.Contains(error.ToString().Split('\n'), line => line.StartsWith("swim: interrupted", StringComparison.Ordinal));
        Assert.Contains($"continue with: swim program {s_model} --board tcp:127.0.0.1:{endpoint.Port}", error.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("--resume", error.ToString().TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
        CliRun resumed = await Task.Run(() => CliRun.Of([.. args, "--resume"]));
        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        Assert.InRange(Report().GetProperty("accuracy").GetDouble(), 0.9, 1);
    }

    [Fact]
    public void Json_output_and_reports_carry_provenance_and_every_option()
    {
        CliRun run = CliRun.Of([.. Args("emulator:fefet", "--seed", "7", "--emulator-seed", "3"), "--json"]);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        using JsonDocument printed = JsonDocument.Parse(run.Output);
        JsonElement setup = printed.RootElement.GetProperty("run");
        Assert.Equal("emulator:fefet", setup.GetProperty("board").GetString());
        Assert.Equal(3UL, setup.GetProperty("emulator").GetProperty("seed").GetUInt64());
        Assert.Equal(7, setup.GetProperty("options").GetProperty("seed").GetInt32());
        Assert.Equal("magnitude", setup.GetProperty("options").GetProperty("method").GetString());
        JsonElement provenance = setup.GetProperty("provenance");
        Assert.False(string.IsNullOrEmpty(provenance.GetProperty("swim_version").GetString()));
        Assert.Contains("--json", provenance.GetProperty("command").EnumerateArray().Select(a => a.GetString()));
        if (provenance.GetProperty("commit").GetString() is { } commit)
        {
            Assert.Matches("^[0-9a-f]{40}$", commit);
        }
        Assert.Contains("board      fefet", run.Error, StringComparison.Ordinal);
        Assert.Equal(printed.RootElement.GetProperty("pulses").GetUInt64(), Report().GetProperty("pulses").GetUInt64());
        Assert.Equal("emulator:fefet", Report().GetProperty("run").GetProperty("board").GetString());
    }

    [Fact]
    public void Quiet_prints_the_result_and_nothing_else()
    {
        CliRun run = CliRun.Of([.. Args("emulator:rram"), "--quiet"]);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        Assert.Equal("", run.Error);
        Assert.DoesNotContain("board      ", run.Output, StringComparison.Ordinal);
        Assert.Contains("programmed ", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Swim_and_swim_help_list_the_commands_and_a_typo_gets_a_suggestion()
    {
        foreach (string[] args in new[] { Array.Empty<string>(), ["help"] })
        {
            CliRun run = CliRun.Of(args);
            Assert.Equal(ExitCodes.Success, run.ExitCode);
            Assert.Contains("program <model>", run.Output, StringComparison.Ordinal);
        }
        Assert.Contains("--max-iterations", CliRun.Of("help", "program").Output, StringComparison.Ordinal);
        CliRun typo = CliRun.Of("progam", s_model);
        Assert.Equal(ExitCodes.BadInput, typo.ExitCode);
        Assert.Contains("Did you mean 'swim program'?", typo.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fault_of_swims_own_is_one_line_and_exit_1_with_the_trace_only_under_verbose()
    {
        // A directory where the model should be: the loader's own exception, whatever it is, must not reach the user raw.
        var ctx = new CommandContext(new StringWriter(), new StringWriter(), interactive: false);
        Assert.Equal(ExitCodes.Failure, ctx.Report(new InvalidOperationException("boom"), hint: null));
        Assert.Equal("swim: failed: boom (InvalidOperationException: this is a fault of Swim's; please report it with the output of --verbose.)", ctx.Error.ToString()!.Trim());
        var verbose = new CommandContext(new StringWriter(), new StringWriter(), interactive: false) { ShowStackTraces = true };
        Assert.Equal(ExitCodes.Interrupted, verbose.Report(new OperationCanceledException(), hint: "hint"));
        Assert.Equal(ExitCodes.BadInput, verbose.Report(new AggregateException(new SwimInputException("bad")), hint: null));
        Assert.Contains("swim: error: bad", verbose.Error.ToString(), StringComparison.Ordinal);
    }

    private int Chunks()
    {
        try
        {
            using SessionJournal journal = SessionJournal.Open(_dir.File("j.db"));
            return journal.Summary().Sum(s => s.Chunks);
        }
        catch (SwimInputException)
        {
            return 0;
        }
    }

    private JsonElement Report()
    {
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.File("report"), "report.json")));
        return json.RootElement.Clone();
    }
}
