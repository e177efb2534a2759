using Spectre.Console;

namespace Swim.Controller.Cli;

/// <summary>Where a command writes: its results to <see cref="Out"/>, problems to <see cref="Error"/>.</summary>
public sealed class CommandContext
{
    public CommandContext(TextWriter output, TextWriter error, bool interactive)
    {
        Output = output;
        Error = error;
        Interactive = interactive;
        Out = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive)
        {
            // Logs and pipes: one line per message, not wrapped at 80 columns mid-path.
            Out.Profile.Width = 400;
        }
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>True on a terminal: progress bars and colour; otherwise plain log lines.</summary>
    public bool Interactive { get; }

    public IAnsiConsole Out { get; }

    public static CommandContext ForConsole() =>
        new(Console.Out, Console.Error, !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null);

    /// <summary>The command line as given, for the resume command an interrupted run prints.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The exact command that continues this one: its arguments with <c>--resume</c> added (quoted for a POSIX shell).</summary>
    public string ResumeCommand()
    {
        static string Quote(string a) => a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@,+".Contains(c)) ? a : "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        IEnumerable<string> args = Arguments.Contains("--resume") ? Arguments : [.. Arguments, "--resume"];
        return "swim " + string.Join(' ', args.Select(Quote));
    }

    /// <summary>Results and errors only (<c>--quiet</c>): progress and commentary are not shown.</summary>
    public bool Quiet { get; set; }

    /// <summary>Print a failure's stack trace as well as its message (<c>--verbose</c>).</summary>
    public bool ShowStackTraces { get; set; }

    /// <summary>Runs a command body with Swim's error policy (<see cref="Report"/>).</summary>
    public int Run(Func<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return body();
        }
        catch (Exception ex)
        {
            return Report(ex, hint: null);
        }
    }

    /// <summary>
    /// Runs a command that drives a board under Swim's error policy, adding <paramref name="recovery"/> (how to
    /// continue) to a failure or an interruption. The hint is asked for at the failure, so it can depend on what
    /// exists by then (a journal is made only once the board answers).
    /// </summary>
    public async Task<int> RunOnBoardAsync(Func<Task<int>> body, Func<string?> recovery)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(recovery);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return Report(ex, ex is SwimInputException ? null : recovery());
        }
    }

    /// <summary>
    /// Turns any exception into one message and an exit code: bad input 2, an interruption 130, anything else 1 (a
    /// refused command, a lost link, an I/O failure, or a fault of Swim's own). The stack trace only with --verbose.
    /// </summary>
    public int Report(Exception exception, string? hint)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Exception ex = exception is AggregateException { InnerExceptions.Count: 1 } single ? single.InnerException! : exception;
        (string prefix, int code) = ex switch
        {
            SwimInputException => ("swim: error: ", ExitCodes.BadInput),
            OperationCanceledException => ("swim: interrupted", ExitCodes.Interrupted),
            _ => ("swim: failed: ", ExitCodes.Failure),
        };
        string message = ex is OperationCanceledException ? "; the work so far is saved where the command keeps it." : ex.Message;
        bool expected = ex is SwimInputException or OperationCanceledException or IOException or UnauthorizedAccessException or TimeoutException
            or Swim.Protocol.Client.BoardException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException
            or Microsoft.ML.OnnxRuntime.OnnxRuntimeException;
        Error.WriteLine(prefix + message + (hint is null ? "" : " " + hint)
            + (expected || ShowStackTraces ? "" : $" ({ex.GetType().Name}: this is a fault of Swim's; please report it with the output of --verbose.)"));
        if (ShowStackTraces)
        {
            Error.WriteLine(ex.ToString());
        }
        return code;
    }
}
