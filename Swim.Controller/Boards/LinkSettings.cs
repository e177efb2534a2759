using Swim.Protocol.Client;

namespace Swim.Controller.Boards;

/// <summary>
/// How patiently the host talks to a board (<c>--link-timeout</c>, <c>--link-retries</c>, a script's <c>link</c>): the
/// wait for an answer before an attempt is sent again, on top of the device time the board's IDENTIFY says the
/// outstanding commands take, and how many attempts follow the first. A board that stays BUSY for seconds, or a link
/// with long round trips, needs more of either; the defaults suit a bench board on a 3 Mbaud UART.
/// </summary>
public sealed record LinkSettings(int TimeoutMilliseconds, int Retries)
{
    public const int MinTimeoutMilliseconds = 10;
    public const int MaxTimeoutMilliseconds = 600_000;
    public const int MaxRetries = 100;

    public static LinkSettings Default { get; } = new((int)new BoardClientOptions().AttemptTimeout.TotalMilliseconds, new BoardClientOptions().MaxRetries);

    /// <summary>Refuses values the client cannot use, naming where they came from.</summary>
    public LinkSettings Check(string timeoutName, string retriesName)
    {
        if (TimeoutMilliseconds is < MinTimeoutMilliseconds or > MaxTimeoutMilliseconds)
        {
            throw new SwimInputException($"{timeoutName} must be {MinTimeoutMilliseconds} to {MaxTimeoutMilliseconds:N0} milliseconds (got {TimeoutMilliseconds}).");
        }
        if (Retries is < 0 or > MaxRetries)
        {
            throw new SwimInputException($"{retriesName} must be 0 to {MaxRetries} attempts after the first (got {Retries}).");
        }
        return this;
    }

    public BoardClientOptions ToClientOptions() => new() { AttemptTimeout = TimeSpan.FromMilliseconds(TimeoutMilliseconds), MaxRetries = Retries };
}
