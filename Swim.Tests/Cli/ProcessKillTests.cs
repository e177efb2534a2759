using System.Diagnostics;
using System.Net;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Onnx;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Emulator.Physics;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// The real thing: <c>swim program</c> as its own OS process, driving a board over TCP, killed with SIGKILL at
/// a random point of its session (no finally blocks, no flushing), then resumed by a new process with
/// <c>--resume</c>. The board outlives the controller, as a physical board does. Drift is off because drift runs
/// on the board's one clock and an interrupted session reaches the cells at other times.
/// </summary>
public sealed class ProcessKillTests : IDisposable
{
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { DriftNuMean = 0, DriftNuStd = 0 };
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
        await using var reference = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        CliRun uninterrupted = await Task.Run(() => CliRun.Of(Args(reference.ListenTcp(IPAddress.Loopback, 0), _dir.File("reference.db"), _dir.File("reference.onnx"))));
        Assert.True(uninterrupted.ExitCode == ExitCodes.Success, uninterrupted.Error);

        var board = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11);
        await using var host = new EmulatorHost(board);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Log += message =>
        {
            if (message.EndsWith(" closed", StringComparison.Ordinal))
            {
                closed.TrySetResult();
            }
        };
        IPEndPoint endpoint = host.ListenTcp(IPAddress.Loopback, 0);
        string journal = _dir.File("session.db");
        string output = _dir.File("programmed.onnx");

        using (Process controller = StartController(Args(endpoint, journal, output)))
        {
            // A dedicated thread watches the board, so a busy thread pool cannot make the kill late.
            bool exitedFirst = false;
            var watcher = new Thread(() =>
            {
                var clock = Stopwatch.StartNew();
                while (board.Cells.TotalPulses < (ulong)killAfterPulses && clock.Elapsed < TimeSpan.FromSeconds(60))
                {
                    if (controller.HasExited)
                    {
                        exitedFirst = true;
                        return;
                    }
                    Thread.Sleep(1);
                }
                controller.Kill(entireProcessTree: true);
            });
            watcher.Start();
            watcher.Join();
            await controller.WaitForExitAsync();
            Assert.False(exitedFirst, $"the controller finished before {killAfterPulses:N0} pulses: {controller.StandardError.ReadToEnd()}");
            Assert.NotEqual(0, controller.ExitCode);
        }
        // The board finishes whatever the dead controller had sent before a new one looks (its connection closes).
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(File.Exists(output), "a killed session must not leave a programmed model");

        CliRun resumed = await Task.Run(() => CliRun.Of([.. Args(endpoint, journal, output), "--resume"]));

        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        var differing = Enumerable.Range(0, board.Cells.Count)
            .Where(cell => reference.Board.Cells.CountersOf(cell) != board.Cells.CountersOf(cell) && reference.Board.Cells.CountersOf(cell).Pulses != board.Cells.CountersOf(cell).Pulses
                || reference.Board.Cells.TrueConductance(cell) != board.Cells.TrueConductance(cell))
            .Take(5).Select(cell => $"cell {cell}: reference {reference.Board.Cells.CountersOf(cell)}, resumed {board.Cells.CountersOf(cell)}").ToList();
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

    /// <summary>Runs the swim command built next to the tests (swim.dll) in a new process.</summary>
    private static Process StartController(IEnumerable<string> args)
    {
        string swim = Path.Combine(AppContext.BaseDirectory, "swim.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(swim);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["CI"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the swim process");
        // Drain the pipes so the child never blocks on a full one.
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }
}
