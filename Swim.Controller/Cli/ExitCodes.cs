namespace Swim.Controller.Cli;

/// <summary>The exit codes of the <c>swim</c> command; scripts can tell bad input from a failed run.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The run started but failed: a board or link error, a runtime failure.</summary>
    public const int Failure = 1;

    /// <summary>Bad input: a missing or malformed file, an unsupported model, an invalid option.</summary>
    public const int BadInput = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it), at a safe point.</summary>
    public const int Interrupted = 130;
}
