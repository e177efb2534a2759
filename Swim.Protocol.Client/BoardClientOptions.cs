namespace Swim.Protocol.Client;

/// <summary>How a <see cref="BoardClient"/> paces, times out and retries. Defaults suit a 3 Mbaud UART.</summary>
public sealed class BoardClientOptions
{
    /// <summary>Per attempt: how long to wait for a response before sending the same request again.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Attempts after the first; each reuses the request's sequence number, so the board executes it at most once.</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>First backoff; it doubles per retry, with jitter, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromMilliseconds(10);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Sequence numbers in flight at once: the newest may be at most this far ahead of the oldest unanswered.
    /// Never more than the board's response cache depth, or a retry could miss the cache and execute twice.
    /// </summary>
    public int Window { get; set; } = 16;

    /// <summary>The circuit opens when this share of attempts fails within <see cref="BreakerSampling"/>...</summary>
    public double BreakerFailureRatio { get; set; } = 0.9;

    /// <summary>...over at least this many attempts.</summary>
    public int BreakerMinimumThroughput { get; set; } = 20;

    public TimeSpan BreakerSampling { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an open circuit fails requests at once before letting one through to test the link.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The first sequence number; random when null, so a restarted host cannot collide with a board's cached responses.</summary>
    public uint? InitialSequence { get; set; }

    /// <summary>The protocol version to speak: null for the newest the board speaks (2, falling back to 1 when the board refuses 2), or 1 or 2 only.</summary>
    public byte? Protocol { get; set; }

    /// <summary>Version 2: open a read-only session (IDENTIFY, STATUS, READ, READ_CODES, COUNTERS), which never disturbs the host that holds the write lease.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Version 2: the session a dead host held (from its journal), reopened so that its cached answers still answer its requests.</summary>
    public SessionTicket? ResumeSession { get; set; }

    /// <summary>
    /// Version 2: CLOSE the session when the client is disposed, freeing the write lease at once. A host whose work a
    /// later run may resume turns it off and closes only once the work is done: a session left open keeps the cached
    /// answers a resume replays against (its lease lapses meanwhile).
    /// </summary>
    public bool CloseOnDispose { get; set; } = true;

    /// <summary>
    /// Version 2: how long an OPEN for writing waits for a lease another session holds, for it to lapse; null for the
    /// board's lease time and a second (a crashed host's lease is then taken over), zero to be refused at once.
    /// </summary>
    public TimeSpan? LeaseWait { get; set; }

    public void Validate()
    {
        if (Protocol is { } version && version is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(Protocol), $"protocol version {version}: Swim speaks 1 and 2.");
        }
        if (AttemptTimeout < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), "the attempt timeout must be at least 10 ms (Polly's lower bound).");
        }
        if (MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetries), "retries cannot be negative.");
        }
        if (Window < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Window), "the window must hold at least one request.");
        }
        if (BreakerFailureRatio is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BreakerFailureRatio), "the failure ratio lies in (0, 1].");
        }
        if (BreakerMinimumThroughput < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(BreakerMinimumThroughput), "Polly needs at least two attempts to judge a ratio.");
        }
    }
}
