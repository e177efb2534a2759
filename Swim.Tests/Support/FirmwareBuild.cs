using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Swim.Tests.Support;

/// <summary>
/// A fact that builds and runs the reference firmware (firmware/): it needs Linux (pseudo-terminals, signals), a C
/// compiler and make; elsewhere it is skipped with the reason. The README's two commands need none of them.
/// </summary>
public sealed class FirmwareFactAttribute : FactAttribute
{
    public FirmwareFactAttribute()
    {
        if (FirmwareBuild.Missing() is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A firmware fact that also needs Debian's Cortex-M4 cross compiler (gcc-arm-none-eabi; .ci/run installs it).</summary>
public sealed class CortexM4FactAttribute : FactAttribute
{
    public CortexM4FactAttribute()
    {
        Skip = FirmwareBuild.Missing()
            ?? (FirmwareBuild.OnPath("arm-none-eabi-gcc") is null ? "needs arm-none-eabi-gcc (Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi) for the Cortex-M4 build" : null);
    }
}

/// <summary>Builds firmware/ once per test run, into a directory of its own, with the Makefile a lab would use.</summary>
public static class FirmwareBuild
{
    private static readonly Lazy<string> s_output = new(() => Path.Combine(Path.GetTempPath(), $"swim-firmware-{Environment.ProcessId}"));
    private static readonly Dictionary<string, Lazy<(int Code, string Output)>> s_targets = new()
    {
        ["host"] = new(() => Make("host")),
        ["host-m4-limits"] = new(() => Make("host-m4-limits")),
        ["fuzz"] = new(() => Make("fuzz")),
        ["m4"] = new(() => Make("m4")),
    };

    public static string Directory => Path.GetDirectoryName(Controller.BundledAssets.Require("firmware/Makefile"))!;

    /// <summary>Why the firmware cannot be built here, or null when it can.</summary>
    public static string? Missing() =>
        !OperatingSystem.IsLinux() ? "needs Linux: the firmware's host build serves a pseudo-terminal and stops on signals"
        : OnPath("cc") is null ? "needs a C compiler (cc) to build firmware/; none is on PATH"
        : OnPath("make") is null ? "needs make to build firmware/; it is not on PATH"
        : null;

    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    /// <summary>Builds a Makefile target (host, fuzz, m4) and returns the build directory; fails the test with make's output.</summary>
    public static string Require(string target)
    {
        (int code, string output) = s_targets[target].Value;
        Assert.True(code == 0, $"make {target} failed:\n{output}");
        return s_output.Value;
    }

    private static (int, string) Make(string target)
    {
        var start = new ProcessStartInfo("make") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Directory };
        foreach (string arg in new[] { "-s", target, $"BUILD={s_output.Value}" })
        {
            start.ArgumentList.Add(arg);
        }
        using Process make = Process.Start(start)!;
        Task<string> stdout = make.StandardOutput.ReadToEndAsync(), stderr = make.StandardError.ReadToEndAsync();
        make.WaitForExit();
        return (make.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>
/// The firmware's host build running as its own process over a simulated array: the board a test talks to over a
/// pseudo-terminal or TCP, and its audit (how many cells were programmed and verified how many times).
/// </summary>
public sealed class FirmwareBoard : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _audit;

    private FirmwareBoard(Process process, string audit, string? pty, string? tcp)
    {
        _process = process;
        _audit = audit;
        PseudoTerminal = pty;
        TcpPort = tcp is null ? 0 : int.Parse(tcp[(tcp.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The pseudo-terminal's path (as <c>serial:PATH</c> takes it), when served on one.</summary>
    public string? PseudoTerminal { get; }

    public int TcpPort { get; }

    /// <summary>
    /// Starts swim-board; <paramref name="pty"/> and <paramref name="tcp"/> choose the links, <paramref name="cortexM4Limits"/>
    /// the build with the Cortex-M4 build's limits, <paramref name="rowReads"/> a HAL that reads rows.
    /// </summary>
    public static async Task<FirmwareBoard> StartAsync(string audit, string geometry, bool pty = false, bool tcp = false, string? faults = null, ulong seed = 1,
        bool cortexM4Limits = false, bool rowReads = false)
    {
        string build = FirmwareBuild.Require(cortexM4Limits ? "host-m4-limits" : "host");
        string program = Path.Combine(build, cortexM4Limits ? "swim-board-m4-limits" : "swim-board");
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        var args = new List<string> { "--geometry", geometry, "--audit", audit, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (pty)
        {
            args.AddRange(["--pty", "-"]);
        }
        if (tcp)
        {
            args.AddRange(["--tcp", "127.0.0.1:0"]);
        }
        if (rowReads)
        {
            args.Add("--row-reads");
        }
        if (faults is not null)
        {
            args.AddRange(["--faults", faults]);
        }
        args.ForEach(start.ArgumentList.Add);
        Process process = Process.Start(start)!;
        string? ptyPath = null, tcpAddress = null;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((pty && ptyPath is null) || (tcp && tcpAddress is null))
        {
            string line = await process.StandardOutput.ReadLineAsync(limit.Token)
                ?? throw new InvalidOperationException($"swim-board ended before listening: {await process.StandardError.ReadToEndAsync()}");
            ptyPath = line.StartsWith("pty ", StringComparison.Ordinal) ? line[4..] : ptyPath;
            tcpAddress = line.StartsWith("tcp ", StringComparison.Ordinal) ? line[4..] : tcpAddress;
        }
        return new FirmwareBoard(process, audit, ptyPath, tcpAddress);
    }

    /// <summary>The audit so far (SIGUSR1); the board runs on.</summary>
    public async Task<JsonNode> AuditAsync()
    {
        DateTime before = File.Exists(_audit) ? File.GetLastWriteTimeUtc(_audit) : DateTime.MinValue;
        File.Delete(_audit);
        Signal("USR1");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(_audit))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"swim-board wrote no audit since {before:O}");
            await Task.Delay(10);
        }
        return JsonNode.Parse(await File.ReadAllTextAsync(_audit))!;
    }

    /// <summary>Stops the board (SIGTERM) and returns its final audit.</summary>
    public async Task<JsonNode> StopAsync()
    {
        Signal("TERM");
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(_process.ExitCode == 0, await _process.StandardError.ReadToEndAsync());
        return JsonNode.Parse(await File.ReadAllTextAsync(_audit))!;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    // Process can only SIGKILL; the board's audit needs TERM and USR1, which the kill command sends.
    private void Signal(string name)
    {
        Assert.False(_process.HasExited, $"swim-board ended (exit {(_process.HasExited ? _process.ExitCode : 0)}): {(_process.HasExited ? _process.StandardError.ReadToEnd() : "")}");
        using Process kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
