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

    /// <summary>Runs a command body with Swim's error policy: input problems exit 2 with the message, other failures 1.</summary>
    public int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (SwimInputException ex)
        {
            Error.WriteLine($"swim: error: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or TimeoutException)
        {
            Error.WriteLine($"swim: failed: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// Runs a command that drives a board: input problems exit 2 with the message; a refused command, a lost link
    /// or an I/O failure exits 1 with the message and <paramref name="recovery"/> (how to continue), if any. The hint
    /// is asked for at the failure, so it can depend on what exists by then (a journal is made only once the board answers).
    /// </summary>
    public async Task<int> RunOnBoardAsync(Func<Task<int>> body, Func<string?> recovery)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(recovery);
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (SwimInputException ex)
        {
            Error.WriteLine($"swim: error: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception ex) when (ex is Swim.Protocol.Client.BoardException or IOException or TimeoutException
            or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            string? hint = recovery();
            Error.WriteLine($"swim: failed: {ex.Message}" + (hint is null ? "" : " " + hint));
            return ExitCodes.Failure;
        }
    }
}
