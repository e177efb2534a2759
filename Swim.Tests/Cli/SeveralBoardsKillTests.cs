using System.Diagnostics;
using System.Net;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Faults;
using Swim.Emulator.Hosting;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// <c>swim program</c> over four boards served over TCP through faulty links (frames dropped, damaged, repeated and
/// delayed both ways), SIGKILLed twice and resumed: every cell of every board must end as the same session leaves
/// it on one board of all their tiles, run whole on clean links: as often pulsed (so none twice), the same
/// conductance. The boards outlive the controller, as physical boards do. Time effects are off, because each board's
/// clock runs on its own.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SeveralBoardsKillTests : IDisposable
{
    private const int Boards = 4;
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private static readonly FaultProfile s_faults = new(Drop: 0.005, Corrupt: 0.005, Duplicate: 0.005, Delay: 0.005, MaxDelay: TimeSpan.FromMilliseconds(20), Garbage: 0.0005);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Args(IEnumerable<int> ports, string journal, string output) =>
        ["program", s_model, .. ports.SelectMany(p => new[] { "--board", $"tcp:127.0.0.1:{p}" }), "--calib", s_data, "--samples", "300", "--method", "swim",
         "--ratio", "0.2", "--seed", "4", "--journal", journal, "--out", output, "--link-timeout", "200", "--link-retries", "40"];

    [Fact]
    public async Task Four_boards_over_faulty_links_killed_twice_and_resumed_end_as_one_uninterrupted_board()
    {
        // The reference: one board of all sixteen tiles, the session run whole on a clean link.
        await using var reference = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        CliRun whole = await Task.Run(() => CliRun.Of(Args([reference.ListenTcp(IPAddress.Loopback, 0).Port], _dir.File("reference.db"), _dir.File("reference.onnx"))));
        Assert.True(whole.ExitCode == ExitCodes.Success, whole.Error);

        EmulatorHost[] hosts = [.. Enumerable.Range(0, Boards).Select(b => new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(4, 256, 256), 11, b, Boards), s_faults, faultSeed: 100 + b))];
        try
        {
            int[] ports = [.. hosts.Select(h => h.ListenTcp(IPAddress.Loopback, 0).Port)];
            string journal = _dir.File("session.db"), output = _dir.File("programmed.onnx");
            ulong Pulses() => (ulong)hosts.Sum(h => (decimal)h.Board.Cells.TotalPulses);
            ulong Iterations() => (ulong)hosts.Sum(h => (decimal)h.Board.Cells.TotalVerifyIterations);
            // Once in the open-loop programming (a third of the pulses it sends, before any write-verify), once half-way through write-verify.
            ulong iterations = reference.Board.Cells.TotalVerifyIterations;
            ulong programPulses = reference.Board.Cells.TotalPulses - iterations;
            Assert.True(iterations > 1000, $"the reference session took {iterations:N0} verify iterations");
            (Func<bool> Due, string What)[] kills = [(() => Pulses() >= programPulses / 3, $"{programPulses / 3:N0} pulses"), (() => Iterations() >= iterations / 2, $"{iterations / 2:N0} verify iterations")];
            foreach ((Func<bool> due, string what) in kills)
            {
                await KillAtAsync(Args(ports, journal, output), due, what);
                Assert.False(File.Exists(output), "a killed session must not leave a programmed model");
                // The boards finish what the dead controller had sent before the next one looks.
                await Task.Delay(500);
            }

            CliRun resumed = await Task.Run(() => CliRun.Of([.. Args(ports, journal, output), "--resume"]));

            Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
            // The faults were felt: requests went again, and the boards ran each once.
            Assert.Contains("the link lost or damaged frames", resumed.Output, StringComparison.Ordinal);
            List<string> differing = BoardComparison.DifferingFromSet(reference.Board, [.. hosts.Select(h => h.Board)]);
            Assert.True(differing.Count == 0, string.Join("; ", differing));
            Assert.Equal(File.ReadAllBytes(_dir.File("reference.onnx")), File.ReadAllBytes(output));
            using SessionJournal record = SessionJournal.Open(journal);
            Assert.Equal(("ok", "completed"), (record.IntegrityCheck(), record.Fact("state")));
        }
        finally
        {
            foreach (EmulatorHost host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>Starts (or resumes) the session as its own process and SIGKILLs it once <paramref name="due"/> holds.</summary>
    private static async Task KillAtAsync(string[] args, Func<bool> due, string what)
    {
        string[] run = File.Exists(args[Array.IndexOf(args, "--journal") + 1]) ? [.. args, "--resume"] : args;
        using Process controller = ControllerProcess.Start(run);
        bool killed = ControllerProcess.KillWhen(controller, due, TimeSpan.FromSeconds(120));
        await controller.WaitForExitAsync();
        Assert.True(killed, $"the controller finished before {what}: {controller.StandardError.ReadToEnd()}");
    }
}
