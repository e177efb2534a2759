using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FsCheck.Xunit;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// For any option set: one that validation rejects reaches no board at all, and none of them changes a board's
/// counters (the board here is too small for the model, so an accepted set is refused at the fit, after IDENTIFY).
/// Validity is judged by the rules written out here, apart from the code's.
/// </summary>
public sealed class ValidationPropertyTests : IAsyncDisposable
{
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;
    private readonly EmulatedBoard _board = new(DevicePreset.Rram, new BoardGeometry(1, 16, 16), 9);
    private readonly EmulatorHost _host;
    private readonly IPEndPoint _endpoint;
    private readonly TcpListener _untouchable = new(IPAddress.Loopback, 0);
    private readonly TempDirectory _dir = new();

    public ValidationPropertyTests()
    {
        _host = new EmulatorHost(_board);
        _endpoint = _host.ListenTcp(IPAddress.Loopback, 0);
        _untouchable.Start();
    }

    private static readonly double[] s_ratios = [0, 0.05, 1], s_badRatios = [-0.1, 1.01, double.NaN, double.PositiveInfinity];
    private static readonly double[] s_tolerances = [0.001, 0.01, 0.5], s_badTolerances = [0, 1, -0.2, double.NaN];
    private static readonly int[] s_iterations = [1, 50, 65535], s_badIterations = [0, -3, 65536];
    private static readonly int[] s_bits = [1, 2, 8, 16], s_badBits = [0, 17, -4];
    private static readonly int[] s_timeouts = [10, 500, 600_000], s_badTimeouts = [9, 0, 600_001];
    private static readonly int[] s_retries = [0, 4, 100], s_badRetries = [-1, 101];
    private static readonly double[] s_budgets = [0.001, 3], s_badBudgets = [0, -1, double.NaN];

    [Property(MaxTest = 120)]
    public bool Any_rejected_option_set_reaches_no_board_and_none_changes_its_counters(int ratio, int tolerance, int iterations, int bits, int timeout, int retries, int budget)
    {
        var args = new List<string> { "program", s_model, "--method", "magnitude", "--out", _dir.File("p.onnx") };
        bool valid = true;
        T Pick<T>(int draw, T[] good, T[] bad, string option)
        {
            // Four draws in five take a valid value, so whole valid sets come up often too.
            bool ok = Math.Abs(draw % 5) != 0;
            T[] from = ok ? good : bad;
            T value = from[Math.Abs(draw / 5 % from.Length)];
            valid &= ok;
            args.Add(option);
            args.Add(Convert.ToString(value, s_invariant)!);
            return value;
        }
        if (Math.Abs(budget % 3) == 0)
        {
            Pick(budget / 3, s_budgets, s_badBudgets, "--budget");
        }
        else
        {
            Pick(ratio, s_ratios, s_badRatios, "--ratio");
        }
        Pick(tolerance, s_tolerances, s_badTolerances, "--tolerance");
        Pick(iterations, s_iterations, s_badIterations, "--max-iterations");
        Pick(bits, s_bits, s_badBits, "--weight-bits");
        Pick(timeout, s_timeouts, s_badTimeouts, "--link-timeout");
        Pick(retries, s_retries, s_badRetries, "--link-retries");
        IPEndPoint board = valid ? _endpoint : (IPEndPoint)_untouchable.LocalEndpoint;
        args.AddRange(["--board", $"tcp:127.0.0.1:{board.Port}"]);
        (ulong Pulses, ulong Reads, long Clock) before = (_board.Cells.TotalPulses, _board.Cells.TotalReads, _board.Cells.ClockNs);

        CliRun run = CliRun.Of([.. args]);

        bool untouched = (_board.Cells.TotalPulses, _board.Cells.TotalReads, _board.Cells.ClockNs) == before;
        // An accepted set goes on to the board, which refuses the model (it does not fit, or its bits do not split
        // into the cells), or, at a 10 ms link timeout, may not answer in time: either way nothing is programmed.
        bool outcomeAsExpected = valid
            ? run.ExitCode == ExitCodes.BadInput || (run.ExitCode == ExitCodes.Failure && run.Error.Contains("did not answer", StringComparison.Ordinal))
            : run.ExitCode == ExitCodes.BadInput && run.Error.StartsWith("swim: error: ", StringComparison.Ordinal) && !_untouchable.Pending();
        return outcomeAsExpected && untouched && !run.Error.Contains("   at ", StringComparison.Ordinal) && !File.Exists(_dir.File("p.onnx"));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        _untouchable.Dispose();
        _dir.Dispose();
    }
}
