using System.Diagnostics;
using System.Net;
using Swim.Transports;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Scripting;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Protocol.Client;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// The real thing: <c>swim program</c> as its own OS process, driving a board over TCP, killed with SIGKILL at
/// a random point of its session (no finally blocks, no flushing), then resumed by a new process with
/// <c>--resume</c>. The board outlives the controller, as a physical board does. Drift is off because drift runs
/// on the board's one clock and an interrupted session reaches the cells at other times.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class ProcessKillTests : IDisposable
{
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Args(IPEndPoint board, string journal, string output) =>
        ["program", s_model, "--board", $"tcp:127.0.0.1:{board.Port}", "--calib", s_data, "--samples", "300", "--method", "swim", "--ratio", "0.2",
         "--seed", "4", "--journal", journal, "--out", output];

    [Theory]
    [InlineData(120_000)]
    [InlineData(400_000)]
    [InlineData(520_000)]
    public async Task A_controller_killed_with_sigkill_and_resumed_ends_as_an_uninterrupted_one(long killAfterPulses)
    {
        await using EmulatorHost reference = await UninterruptedAsync();
        (EmulatorHost host, IPEndPoint endpoint, Task closed) = ServeBoard();
        await using var _ = host;
        EmulatedBoard board = host.Board;
        string journal = _dir.File("session.db");
        string output = _dir.File("programmed.onnx");

        using (Process controller = ControllerProcess.Start(Args(endpoint, journal, output)))
        {
            bool killed = ControllerProcess.KillWhen(controller, () => board.Cells.TotalPulses >= (ulong)killAfterPulses, TimeSpan.FromSeconds(60));
            await controller.WaitForExitAsync();
            Assert.True(killed, $"the controller finished before {killAfterPulses:N0} pulses: {controller.StandardError.ReadToEnd()}");
            Assert.NotEqual(0, controller.ExitCode);
        }
        // The board finishes whatever the dead controller had sent before a new one looks (its connection closes).
        await closed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(output), "a killed session must not leave a programmed model");

        CliRun resumed = await Task.Run(() => CliRun.Of([.. Args(endpoint, journal, output), "--resume"]));

        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        List<string> differing = BoardComparison.Differing(reference.Board, board);
        Assert.True(differing.Count == 0, $"{string.Join("; ", differing)}; output of the resumed run: {resumed.Output}");
        OnnxModel expected = OnnxModel.Load(_dir.File("reference.onnx")), actual = OnnxModel.Load(output);
        foreach (MappedWeight weight in expected.RequireMappedWeights())
        {
            Assert.Equal(expected.ReadWeights(weight.Name), actual.ReadWeights(weight.Name));
        }
        using SessionJournal record = SessionJournal.Open(journal);
        Assert.Equal("ok", record.IntegrityCheck());
        Assert.Equal("completed", record.Fact("state"));
    }

    /// <summary>
    /// A SIGKILL lands between chunks far more often than inside one (the chunk's journal writes wait for the disk; an
    /// emulated chunk's commands do not), so the replay is driven here by a session killed at a chosen frame inside a
    /// chunk's PROGRAM commands, journalled as <c>swim program</c> journals it; then <c>swim program --resume</c> must
    /// claim the chunk's sequence numbers, replay it from the board's cache and finish the session.
    /// </summary>
    [Fact]
    public async Task A_resume_of_a_session_killed_inside_a_chunk_replays_it_from_the_boards_cache()
    {
        await using EmulatorHost reference = await UninterruptedAsync();
        (EmulatorHost host, IPEndPoint endpoint, Task closed) = ServeBoard();
        await using var _ = host;
        EmulatedBoard board = host.Board;
        string journal = _dir.File("session.db");
        string output = _dir.File("programmed.onnx");
        string? series = await KillInsideAChunkAsync(endpoint, journal, new ProgrammingOptions { Method = SelectionMethod.Swim, Fraction = 0.2, Seed = 4 });
        await closed.WaitAsync(TimeSpan.FromSeconds(30));

        // Resumes refused for other options (before the board is reached) and for another board (after IDENTIFY, under
        // the claimed number) must leave the claim to the right resume.
        CliRun otherOptions = await Task.Run(() => CliRun.Of([.. Args(endpoint, journal, output), "--resume", "--tolerance", "0.02"]));
        Assert.True(otherOptions.ExitCode == ExitCodes.BadInput, otherOptions.Error);
        Assert.Contains("--tolerance 0.01, not 0.02", otherOptions.Error, StringComparison.Ordinal);
        using (SessionJournal renamed = SessionJournal.Open(journal))
        {
            renamed.SetFact("board_serial", "another-board");
        }
        CliRun otherBoard = await Task.Run(() => CliRun.Of([.. Args(endpoint, journal, output), "--resume"]));
        Assert.True(otherBoard.ExitCode == ExitCodes.BadInput, otherBoard.Error);
        Assert.Contains("resume on the same board", otherBoard.Error, StringComparison.Ordinal);
        using (SessionJournal restored = SessionJournal.Open(journal))
        {
            Assert.Null(restored.Fact("chunk_series_claimed"));
            restored.SetFact("board_serial", board.Info.Serial);
        }

        CliRun resumed = await Task.Run(() => CliRun.Of([.. Args(endpoint, journal, output), "--resume"]));

        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        Assert.Contains("answered from the board's response cache", resumed.Output, StringComparison.Ordinal);
        using (SessionJournal done = SessionJournal.Open(journal))
        {
            Assert.Equal("completed", done.Fact("state"));
            Assert.Equal(series, done.Fact("chunk_series_claimed"));
        }
        Assert.All(Enumerable.Range(0, board.Cells.Count), cell =>
        {
            Assert.Equal(reference.Board.Cells.CountersOf(cell).Pulses, board.Cells.CountersOf(cell).Pulses);
            Assert.Equal(reference.Board.Cells.TrueConductance(cell), board.Cells.TrueConductance(cell));
        });
        OnnxModel expected = OnnxModel.Load(_dir.File("reference.onnx")), actual = OnnxModel.Load(output);
        foreach (MappedWeight weight in expected.RequireMappedWeights())
        {
            Assert.Equal(expected.ReadWeights(weight.Name), actual.ReadWeights(weight.Name));
        }
    }

    /// <summary>
    /// <c>swim run --resume</c> claims a dead run's chunk when it first reaches the board. A rerun that then fails before any
    /// session sends a command (here the script's tolerance was edited, so the step's journal refuses it after IDENTIFY)
    /// gives the claim back, and the rerun of the script as it was replays the chunk from the board's cache.
    /// </summary>
    [Fact]
    public async Task A_script_rerun_refused_after_identify_leaves_the_claim_to_the_next_rerun()
    {
        (EmulatorHost host, IPEndPoint endpoint, Task closed) = ServeBoard();
        await using var _ = host;
        string script = _dir.File("session.yaml");
        void WriteScript(string tolerance) => File.WriteAllText(script,
            $"board: tcp:127.0.0.1:{endpoint.Port}\nmodel: {s_model}\ncalibration: {{path: {s_data}, samples: 300}}\noutput: out\n" +
            $"mapping: {{tolerance: {tolerance}}}\nsteps:\n  - program: {{method: swim, ratio: 0.2, seed: 4}}\n");
        WriteScript("0.01");
        SessionScript parsed = SessionScriptParser.Load(script);
        var step = (ProgramStep)parsed.Steps.Single();
        string journal = ScriptRunner.JournalPath(parsed, "01-" + step.Label);
        Directory.CreateDirectory(Path.GetDirectoryName(journal)!);
        string? series = await KillInsideAChunkAsync(endpoint, journal, ScriptRunner.OptionsFor(parsed, step));
        await closed.WaitAsync(TimeSpan.FromSeconds(30));

        WriteScript("0.02");
        CliRun refused = await Task.Run(() => CliRun.Of("run", script, "--resume"));
        Assert.True(refused.ExitCode == ExitCodes.BadInput, refused.Error);
        Assert.Contains("other options", refused.Error, StringComparison.Ordinal);
        using (SessionJournal after = SessionJournal.Open(journal))
        {
            Assert.Null(after.Fact("chunk_series_claimed"));
        }

        WriteScript("0.01");
        CliRun resumed = await Task.Run(() => CliRun.Of("run", script, "--resume"));
        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        Assert.Contains("answered from the board's response cache", resumed.Output, StringComparison.Ordinal);
        using SessionJournal done = SessionJournal.Open(journal);
        Assert.Equal("completed", done.Fact("state"));
        Assert.Equal(series, done.Fact("chunk_series_claimed"));
    }

    /// <summary>
    /// Runs the session <c>swim program</c> would run with <paramref name="options"/>, journalled as it journals it, and
    /// kills its link inside a chunk's PROGRAM commands; returns the chunk's journalled sequence numbers.
    /// </summary>
    private static async Task<string?> KillInsideAChunkAsync(IPEndPoint endpoint, string journal, ProgrammingOptions options)
    {
        OnnxModel model = OnnxModel.Load(s_model);
        using var kill = new CancellationTokenSource();
        var link = new KillSwitch(await TcpTransport.ConnectAsync("127.0.0.1", endpoint.Port), KillSwitch.InsideProgramChunk(chunk: 3, command: 10), kill);
        await using var client = new BoardClient(link, KillSwitch.ClientOptions());
        var info = await client.IdentifyAsync();
        using SessionJournal record = JournalBinding.Open(journal, resume: false, model, s_model, options, info,
            CrossbarMapping.Build(model, info, options.Mapping));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, model, null, options, journal: record, cancellationToken: kill.Token));
        Assert.Equal(("program", 1), (record.Summary().Single(row => !row.Done).Phase, record.Summary().Single(row => !row.Done).Chunks));
        return record.Fact(SessionJournal.ChunkSeriesFact);
    }

    /// <summary>The session run whole by the command on a board identical to the one a test interrupts; the board, to compare with.</summary>
    private async Task<EmulatorHost> UninterruptedAsync()
    {
        var reference = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        CliRun uninterrupted = await Task.Run(() => CliRun.Of(Args(reference.ListenTcp(IPAddress.Loopback, 0), _dir.File("reference.db"), _dir.File("reference.onnx"))));
        Assert.True(uninterrupted.ExitCode == ExitCodes.Success, uninterrupted.Error);
        return reference;
    }

    /// <summary>The board to interrupt a session on, served over TCP, and a task that ends when a connection to it has closed.</summary>
    private static (EmulatorHost Host, IPEndPoint Endpoint, Task Closed) ServeBoard()
    {
        var host = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Log += message =>
        {
            if (message.EndsWith(" closed", StringComparison.Ordinal))
            {
                closed.TrySetResult();
            }
        };
        return (host, host.ListenTcp(IPAddress.Loopback, 0), closed.Task);
    }
}
