using System.Diagnostics;
using System.Globalization;
using Swim.Emulator;
using Swim.Emulator.Hosting;

namespace Swim.Benchmarks;

/// <summary>The swim command built next to the benchmarks (swim.dll), run as its own OS process.</summary>
internal static class SwimProcess
{
    public static Process Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "swim.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["CI"] = "1";
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the swim process");
    }
}

/// <summary>A <c>swim emulator</c> process serving one board on a loopback port, its cells saved to a state file when stopped.</summary>
internal sealed class EmulatorProcess
{
    private readonly Process _process;

    private EmulatorProcess(Process process, int port, string statePath)
    {
        _process = process;
        Port = port;
        StatePath = statePath;
    }

    public int Port { get; }

    public string StatePath { get; }

    /// <summary>Board b gets seed 11 + b: the same boards for every call with the same count.</summary>
    public static async Task<EmulatorProcess[]> StartAllAsync(int boards, string geometry, string dir, string name, string? faults)
    {
        var started = new EmulatorProcess[boards];
        for (int b = 0; b < boards; b++)
        {
            string state = Path.Combine(dir, $"{name}-board{b + 1}.state");
            List<string> args = ["emulator", "--tcp", "127.0.0.1:0", "--device", "fefet", "--geometry", geometry, "--seed", (11 + b).ToString(CultureInfo.InvariantCulture), "--state", state];
            if (faults is not null)
            {
                args.AddRange(["--faults", faults]);
            }
            Process process = SwimProcess.Start(args);
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            started[b] = new EmulatorProcess(process, await PortOfAsync(process), state);
        }
        return started;
    }

    /// <summary>Stops every emulator with SIGTERM (each saves its cells) and loads the boards they saved.</summary>
    public static async Task<EmulatedBoard[]> StopAllAsync(EmulatorProcess[] emulators)
    {
        foreach (EmulatorProcess e in emulators)
        {
            using Process kill = Process.Start("kill", ["-TERM", e._process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }
        foreach (EmulatorProcess e in emulators)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await e._process.WaitForExitAsync(limit.Token);
            e._process.Dispose();
        }
        return [.. emulators.Select(e => BoardStateFile.Load(e.StatePath))];
    }

    private static async Task<int> PortOfAsync(Process process)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
        {
            const string Tcp = "emulator: tcp ";
            if (line.StartsWith(Tcp, StringComparison.Ordinal))
            {
                // Keep the pipe drained from here on.
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException("swim emulator ended before it said its port");
    }
}
