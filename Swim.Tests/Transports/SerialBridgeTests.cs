using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Tests.Support;

namespace Swim.Tests.Transports;

/// <summary>
/// The lab set-up where a board's serial port hangs off another machine and is exported over the network by an
/// existing serial-to-TCP bridge (Debian's ser2net), and Swim connects with <c>tcp:</c>. The board here is the
/// emulator's virtual serial port; the controller is killed with SIGKILL part-way, as ProcessKillTests does, and resumed
/// through the bridge: the board's per-cell counters and conductances must equal an uninterrupted session's.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SerialBridgeTests : IDisposable
{
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>ser2net 4's YAML: raw TCP in, the serial device out at 3 Mbaud 8N1, modem lines ignored.</summary>
    [BridgeFact("ser2net")]
    public Task Through_ser2net_a_killed_and_resumed_session_runs_every_cell_once() => KilledAndResumedThroughAsync((port, serial) =>
    {
        File.WriteAllText(_dir.File("ser2net.yaml"),
            $"connection: &board\n  accepter: tcp,127.0.0.1,{port}\n  connector: serialdev,{serial},3000000n81,local\n  options:\n    kickolduser: true\n");
        return ("ser2net", ["-n", "-d", "-c", _dir.File("ser2net.yaml")]);
    });

    /// <summary><paramref name="bridge"/> gives the bridge's program and arguments for a TCP port and a serial device.</summary>
    private async Task KilledAndResumedThroughAsync(Func<int, string, (string Program, string[] Args)> bridge)
    {
        await using var reference = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        CliRun uninterrupted = await Task.Run(() => CliRun.Of(Args($"tcp:127.0.0.1:{reference.ListenTcp(IPAddress.Loopback, 0).Port}", _dir.File("reference.db"), _dir.File("reference.onnx"))));
        Assert.True(uninterrupted.ExitCode == ExitCodes.Success, uninterrupted.Error);

        await using var host = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 11));
        string serial = host.OpenSerialPort();
        int port = FreePort();
        (string program, string[] args) = bridge(port, serial);
        var start = new ProcessStartInfo(BridgeFactAttribute.Locate(program) ?? program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using Process bridgeProcess = Process.Start(start)!;
        // Drained as it talks (ser2net -d logs every connection): a full pipe would stop the bridge mid-session.
        var said = new System.Text.StringBuilder();
        bridgeProcess.OutputDataReceived += (_, e) => { lock (said) { said.AppendLine(e.Data); } };
        bridgeProcess.ErrorDataReceived += (_, e) => { lock (said) { said.AppendLine(e.Data); } };
        bridgeProcess.BeginOutputReadLine();
        bridgeProcess.BeginErrorReadLine();
        try
        {
            await ListeningAsync(port, bridgeProcess, said);
            string board = $"tcp:127.0.0.1:{port}", journal = _dir.File("session.db"), output = _dir.File("programmed.onnx");
            using (Process controller = ControllerProcess.Start(Args(board, journal, output)))
            {
                var clock = Stopwatch.StartNew();
                while (host.Board.Cells.TotalPulses < 150_000 && !controller.HasExited)
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"no progress through the bridge in two minutes; it said: {said}");
                    await Task.Delay(5);
                }
                Assert.False(controller.HasExited, $"the controller finished before it could be killed: {(controller.HasExited ? controller.StandardError.ReadToEnd() : "")}; the bridge said: {said}");
                controller.Kill(entireProcessTree: true);
                await controller.WaitForExitAsync();
            }

            await ListeningAsync(port, bridgeProcess, said);
            CliRun resumed = await Task.Run(() => CliRun.Of([.. Args(board, journal, output), "--resume"])).WaitAsync(TimeSpan.FromMinutes(3));

            Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
            List<string> differing = BoardComparison.Differing(reference.Board, host.Board);
            Assert.True(differing.Count == 0, $"{string.Join("; ", differing)}; resumed run: {resumed.Output}");
        }
        finally
        {
            // The whole tree goes, should the bridge have started children that hold the output pipes.
            bridgeProcess.Kill(entireProcessTree: true);
            await bridgeProcess.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static string[] Args(string board, string journal, string output) =>
        ["program", BundledAssets.Require(BundledAssets.LeNetModel), "--board", board, "--calib", BundledAssets.Require(BundledAssets.MnistData),
         "--samples", "300", "--method", "swim", "--ratio", "0.2", "--seed", "4", "--journal", journal, "--out", output, "--quiet"];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Waits (up to 30 s) until the bridge listens on <paramref name="port"/>, read from the kernel's socket table rather
    /// than by connecting: a probe connection would be a client of its own to a bridge that serves one at a time.
    /// </summary>
    private static async Task ListeningAsync(int port, Process bridge, System.Text.StringBuilder said)
    {
        string local = $"0100007F:{port:X4}";
        var clock = Stopwatch.StartNew();
        while (!File.ReadLines("/proc/net/tcp").Skip(1).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields[1] == local && fields[3] == "0A"))
        {
            Assert.False(bridge.HasExited, $"the bridge ended: {said}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the bridge does not listen on port {port}: {said}");
            await Task.Delay(20);
        }
    }
}

/// <summary>A fact that needs a serial-to-TCP bridge program on PATH (and Linux); skipped with the reason where it is absent.</summary>
public sealed class BridgeFactAttribute : FactAttribute
{
    public BridgeFactAttribute(string program)
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux: the board's serial port is the emulator's pseudo-terminal";
        }
        else if (Locate(program) is null)
        {
            Skip = $"needs {program} (Debian package {program}; .ci/run installs it): it bridges the board's serial port to TCP";
        }
    }

    /// <summary>The program on PATH, or in /usr/sbin where Debian puts ser2net (not on every user's PATH).</summary>
    public static string? Locate(string program) =>
        FirmwareBuild.OnPath(program) ?? (File.Exists(Path.Combine("/usr/sbin", program)) ? Path.Combine("/usr/sbin", program) : null);
}
