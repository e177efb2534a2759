using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Protocol.Client;

// Connecting: which protocol version the board speaks, and (version 2) the session requests go in.
public sealed partial class BoardClient
{
    /// <summary>The protocol version in use: 2 unless the board speaks only 1 (or <see cref="BoardClientOptions.Protocol"/> says 1).</summary>
    public byte ProtocolVersion
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    /// <summary>Version 2: the session this client's requests go in, with the nonce that reopens it; null before it opened and in version 1.</summary>
    public SessionTicket? Session { get; private set; }

    /// <summary>Version 2: whether the session is the one <see cref="BoardClientOptions.ResumeSession"/> named, with its cache (false when the board no longer held it).</summary>
    public bool SessionResumed { get; private set; }

    /// <summary>Sequence numbers the connection used (IDENTIFY, and OPEN in version 2) before the first request of the caller's.</summary>
    public int ConnectRequests { get; private set; }

    /// <summary>The longest answer the board sends; the longest a frame carries before IDENTIFY.</summary>
    private int MaxResponse => Board?.MaxResponse ?? ProtocolConstants.MaxPayloadLengthOf(ProtocolVersion);

    /// <summary>
    /// Waits for the caller's turn to send (requests reach the wire in the order they were made) and, the first time,
    /// connects in that turn: IDENTIFY outside any session (falling back to version 1 when the board refuses version 2
    /// and the options allow it), then OPEN. A version 1 client sends nothing here: its first request may be anything.
    /// </summary>
    private async Task<OrderTurn> TakeTurnConnectedAsync(CancellationToken cancellationToken)
    {
        await _sendOrder.WaitAsync(cancellationToken).ConfigureAwait(false);
        var order = new OrderTurn(_sendOrder);
        try
        {
            if (!_connected && _options.Protocol != ProtocolConstants.Version1)
            {
                await ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            _connected = true;
            return order;
        }
        catch
        {
            order.Release();
            throw;
        }
    }

    /// <summary>Connects now if no request has yet (for IDENTIFY's first call).</summary>
    private async Task EnsureConnectedAsync(CancellationToken cancellationToken) =>
        (await TakeTurnConnectedAsync(cancellationToken).ConfigureAwait(false)).Release();

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        uint before = NextSequence;
        BoardInfo info;
        try
        {
            info = (await SendNumberedAsync<IdentifyResponse>(new IdentifyRequest(), OrderTurn.Held, cancellationToken).ConfigureAwait(false)).Info;
        }
        catch (BoardException ex) when (ex.Status == StatusCode.BadVersion && _options.Protocol is null && ProtocolVersion == ProtocolConstants.Version2)
        {
            // A version 1 board: one series per board, no sessions. Exactly-once then rests on the link keeping order.
            lock (_gate)
            {
                _version = ProtocolConstants.Version1;
            }
            info = (await SendNumberedAsync<IdentifyResponse>(new IdentifyRequest(), OrderTurn.Held, cancellationToken).ConfigureAwait(false)).Info;
        }
        Adopt(info);
        if (ProtocolVersion == ProtocolConstants.Version2)
        {
            await OpenSessionAsync(cancellationToken).ConfigureAwait(false);
        }
        ConnectRequests = (int)unchecked(NextSequence - before);
    }

    /// <summary>OPEN: reopens the session the options name when the board still holds it, else a new one.</summary>
    private async Task OpenSessionAsync(CancellationToken cancellationToken)
    {
        bool write = !_options.ReadOnly;
        OpenResponse open;
        ulong nonce;
        if (_options.ResumeSession is { } ticket)
        {
            nonce = ticket.Nonce;
            try
            {
                open = await SendNumberedAsync<OpenResponse>(new OpenRequest(nonce, write, ticket.Id), OrderTurn.Held, cancellationToken).ConfigureAwait(false);
            }
            catch (BoardException ex) when (ex.Status == StatusCode.NoSession)
            {
                // Lost with power, or evicted: its cache is gone. The caller learns it from SessionResumed.
                nonce = NewNonce();
                open = await OpenWaitingForLeaseAsync(nonce, write, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            nonce = NewNonce();
            open = await OpenWaitingForLeaseAsync(nonce, write, cancellationToken).ConfigureAwait(false);
        }
        lock (_gate)
        {
            _session = open.Session;
            _window = Math.Max(1, Math.Min(_window, open.Window));
            if (open.Resumed && _options.InitialSequence is null)
            {
                // Past every number the dead host may still have on its way: it kept at most a window in flight after the newest that ran.
                _nextSequence = unchecked(open.Newest + open.Window + 1);
            }
        }
        Session = new SessionTicket(open.Session, nonce);
        SessionResumed = open.Resumed;
    }

    /// <summary>
    /// CLOSE (on dispose, unless <see cref="BoardClientOptions.CloseOnDispose"/> is off), so that the next host gets the
    /// write lease at once instead of after it lapses. Best effort within a second (nothing is in flight, and CLOSE takes
    /// no device time): a board that does not answer keeps the session until the lease lapses, and a host that resumes
    /// reopens it anyway.
    /// </summary>
    public async Task CloseSessionAsync()
    {
        if (Session is null || _linkFailure is not null)
        {
            return;
        }
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await SendAsync<CloseResponse>(new CloseRequest(), patience.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is BoardException or TimeoutException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // NO_SESSION (a repeat after the first CLOSE's answer was lost) or silence: either way nothing more to do.
        }
        Session = null;
    }

    /// <summary>
    /// OPEN, waiting out a lease held by a host that fell silent (one that crashed, or a run that stopped leaving its
    /// session for a resume): the board hands the lease over once it has lapsed. A lease still in use after that is
    /// another host's, and LEASE_HELD stands.
    /// </summary>
    private async Task<OpenResponse> OpenWaitingForLeaseAsync(ulong nonce, bool write, CancellationToken cancellationToken)
    {
        TimeSpan patience = _options.LeaseWait ?? TimeSpan.FromMilliseconds((Board?.LeaseMs ?? 0) + 1_000);
        long started = _time.GetTimestamp();
        while (true)
        {
            try
            {
                return await SendNumberedAsync<OpenResponse>(new OpenRequest(nonce, write, 0), OrderTurn.Held, cancellationToken).ConfigureAwait(false);
            }
            catch (BoardException ex) when (ex.Status == StatusCode.LeaseHeld && _time.GetElapsedTime(started) < patience)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static ulong NewNonce() => (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);

    /// <summary>Takes IDENTIFY's answer: the window, batch size and payload limit follow the board's own.</summary>
    private void Adopt(BoardInfo info)
    {
        if (info.ProtocolVersion != ProtocolVersion)
        {
            throw new IOException($"the board says it speaks protocol version {info.ProtocolVersion} but answered in version {ProtocolVersion} frames; check its firmware.");
        }
        if (info.Problems() is { Count: > 0 } problems)
        {
            throw new IOException($"the board's IDENTIFY ({info.DeviceModel} {info.Serial}) describes a board nothing can be programmed on: {string.Join("; ", problems)}. Check its firmware or configuration.");
        }
        lock (_gate)
        {
            Board = info;
            _window = Math.Max(1, Math.Min(_options.Window, info.ResponseCacheDepth));
        }
    }

    /// <summary>
    /// A version 1 board's BAD_VERSION to the IDENTIFY a version 2 client connects with: framed in version 1, it reads
    /// the sequence number where version 2 keeps the session, so it is matched to the one request that can draw it.
    /// </summary>
    private PendingRequest? VersionProbe(Frame frame)
    {
        if (frame.Version != ProtocolConstants.Version1 || _version != ProtocolConstants.Version2 || (StatusCode)frame.Status != StatusCode.BadVersion)
        {
            return null;
        }
        return _pending.Values.FirstOrDefault(p => p.Opcode == Opcode.Identify && _session == ProtocolConstants.NoSession);
    }
}

/// <summary>A version 2 session as a host journals it: the board's id and the host's nonce, which together reopen it.</summary>
public sealed record SessionTicket(ushort Id, ulong Nonce)
{
    public string ToJournalText() => $"{Id} {Nonce}";

    public static SessionTicket? Parse(string? text) =>
        text?.Split(' ') is [var id, var nonce] && ushort.TryParse(id, out ushort i) && ulong.TryParse(nonce, out ulong n) && i != 0 ? new SessionTicket(i, n) : null;
}
