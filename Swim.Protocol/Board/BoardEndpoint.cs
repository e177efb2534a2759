using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Protocol.Board;

/// <summary>
/// The board side of the protocol, as firmware runs it (firmware-spec/protocol.md): decode a frame, answer a
/// repeated sequence number from the response cache, refuse stale ones, otherwise execute (BATCH by its
/// parts), cache and send the response. One frame at a time, in arrival order. It speaks the version its device
/// reports in IDENTIFY: version 2 keeps a window per session (<see cref="SessionTable"/>), version 1 one series per
/// board, a new one inferred from distance.
/// </summary>
public sealed class BoardEndpoint
{
    /// <summary>The response cache depth this endpoint advertises unless told otherwise.</summary>
    public const int DefaultCacheDepth = 64;

    private readonly IBoardDevice _device;
    private readonly Lock _gate = new();
    // Version 1's single series; null in version 2, which has _sessions instead.
    private readonly ResponseWindow? _series;
    private readonly SessionTable? _sessions;
    private readonly int _maxResponse;
    private bool _countersJustCleared;
    private uint _framesReceived, _crcErrors, _framingErrors, _replays, _executed, _resets;

    public BoardEndpoint(IBoardDevice device, TimeProvider? timeProvider = null)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        BoardInfo info = device.Info;
        CacheDepth = info.ResponseCacheDepth;
        if (CacheDepth < 1)
        {
            throw new ArgumentException("the device must advertise a response cache depth of at least 1.", nameof(device));
        }
        Version = info.ProtocolVersion;
        if (!ProtocolConstants.IsKnown(Version))
        {
            throw new ArgumentException($"the device reports protocol version {Version}; this endpoint speaks 1 and 2.", nameof(device));
        }
        if (Version == ProtocolConstants.Version1)
        {
            _series = new ResponseWindow(CacheDepth);
            _maxResponse = ProtocolConstants.MaxPayloadLengthOf(Version);
        }
        else
        {
            if (info.MaxSessions < 2 || info.LeaseMs == 0)
            {
                throw new ArgumentException("a version 2 device must hold at least 2 sessions (a writer and a monitor) and state a lease time.", nameof(device));
            }
            _sessions = new SessionTable(info.MaxSessions, CacheDepth, info.LeaseMs, timeProvider ?? TimeProvider.System);
            _maxResponse = Math.Min(info.MaxResponse, ProtocolConstants.MaxPayloadLengthOf(Version));
        }
    }

    /// <summary>K: responses are kept for every sequence number less than K behind the newest executed (in version 2, per session).</summary>
    public int CacheDepth { get; }

    /// <summary>The protocol version spoken: frames of any other are refused BAD_VERSION.</summary>
    public byte Version { get; }

    public IBoardDevice Device => _device;

    /// <summary>Version 2: the sessions held now.</summary>
    public int SessionCount
    {
        get
        {
            lock (_gate)
            {
                return _sessions?.Count ?? 0;
            }
        }
    }

    /// <summary>Serves frames from <paramref name="transport"/> until it closes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task ServeAsync(ByteTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var decoder = NewDecoder();
        var buffer = new byte[16 * 1024];
        var replies = new List<byte[]>();
        while (!cancellationToken.IsCancellationRequested)
        {
            int read;
            try
            {
                read = await transport.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (read == 0)
            {
                return;
            }
            // Each response goes out as soon as its request is done, not after every frame of this read: a pipelined
            // request behind a long one must not hold the long one's answer back (its host is timing it).
            for (int offset = 0; offset < read;)
            {
                replies.Clear();
                offset += Receive(decoder, buffer.AsSpan(offset, read - offset), replies, untilFirstReply: true);
                foreach (byte[] reply in replies)
                {
                    await transport.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>A decoder for this endpoint's frames: its version only, its board's largest payload.</summary>
    public FrameDecoder NewDecoder() => new(_device.Info.MaxPayload, Version);

    /// <summary>Feeds received bytes through <paramref name="decoder"/> and collects the wire frames to send back.</summary>
    public void Receive(FrameDecoder decoder, ReadOnlySpan<byte> input, List<byte[]> replies) => Receive(decoder, input, replies, untilFirstReply: false);

    /// <summary>As above; with <paramref name="untilFirstReply"/>, stops after the first frame that draws a reply.</summary>
    /// <returns>How many bytes of <paramref name="input"/> were consumed.</returns>
    public int Receive(FrameDecoder decoder, ReadOnlySpan<byte> input, List<byte[]> replies, bool untilFirstReply)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        ArgumentNullException.ThrowIfNull(replies);
        int length = input.Length;
        while (decoder.TryDecode(ref input, out Frame frame, out FrameError error, out uint? hint))
        {
            byte[]? reply = error == FrameError.None ? Handle(frame) : Refuse(error, hint is null ? null : frame);
            if (reply is not null)
            {
                replies.Add(reply);
                if (untilFirstReply)
                {
                    break;
                }
            }
        }
        return length - input.Length;
    }

    /// <summary>A brown-out or power cycle: volatile state, the response cache and every counter are lost, conductances kept.</summary>
    public void PowerCycle()
    {
        lock (_gate)
        {
            _series?.Clear();
            _sessions?.Clear();
            _framesReceived = _crcErrors = _framingErrors = _replays = _executed = _resets = 0;
            _device.PowerCycle();
        }
    }

    /// <param name="received">The header as received, when the frame had one to answer to.</param>
    private byte[]? Refuse(FrameError error, Frame? received)
    {
        lock (_gate)
        {
            if (error == FrameError.BadCrc)
            {
                _crcErrors++;
            }
            else
            {
                _framingErrors++;
            }
        }
        // Without a trustworthy header there is nobody to answer; with one, a hint lets the host resend at once.
        StatusCode? status = error switch
        {
            FrameError.BadCrc => StatusCode.BadCrc,
            FrameError.BadVersion => StatusCode.BadVersion,
            FrameError.BadLength => StatusCode.BadLength,
            _ => null,
        };
        return status is null || received is not { } header ? null : FrameEncoder.Answer(header, FrameFlags.None, 0, (byte)status.Value, []);
    }

    private byte[]? Handle(Frame frame)
    {
        if (frame.IsResponse)
        {
            return null;
        }
        lock (_gate)
        {
            _framesReceived++;
            return _sessions is null ? HandleInSeries(frame, _series!) : HandleInSession(frame, _sessions);
        }
    }

    /// <summary>Version 1: one series per board; a number far behind the newest starts a new host's series.</summary>
    private byte[] HandleInSeries(Frame frame, ResponseWindow series)
    {
        if (series.TryGet(frame.Sequence, out CachedResponse cached))
        {
            return Replay(frame, cached);
        }
        long behind = series.Behind(frame.Sequence);
        if (behind >= CacheDepth && behind < 4L * CacheDepth)
        {
            return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)StatusCode.StaleSequence, []);
        }
        (StatusCode status, byte[] payload) = Execute(frame, session: null);
        if (status != StatusCode.Busy)
        {
            if (behind >= 4L * CacheDepth)
            {
                // A new host started below its predecessor's numbers. Its series starts here; otherwise its responses would
                // fall out of the cache at once and its retransmissions would run again.
                series.Restart(frame.Sequence);
            }
            Remember(series, frame, status, payload);
        }
        return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)status, payload);
    }

    /// <summary>
    /// Version 2: outside a session only IDENTIFY, STATUS and OPEN, none of them cached (OPEN is idempotent by its nonce);
    /// inside one, its own window: a repeat is answered from the cache, a number K or more behind its newest is STALE, and
    /// nothing is ever taken for a new series. A command that changes the array needs the write lease.
    /// </summary>
    private byte[] HandleInSession(Frame frame, SessionTable sessions)
    {
        if (frame.Session == ProtocolConstants.NoSession)
        {
            (StatusCode outside, byte[] answer) = (Opcode)frame.Opcode is Opcode.Identify or Opcode.Status or Opcode.Open
                ? Execute(frame, session: null)
                : (StatusCode.NoSession, []);
            if (outside is not (StatusCode.NoSession or StatusCode.Busy))
            {
                CountExecuted();
            }
            return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)outside, answer);
        }
        if (sessions.Find(frame.Session) is not { } session)
        {
            return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)StatusCode.NoSession, []);
        }
        if (session.Window.TryGet(frame.Sequence, out CachedResponse cached))
        {
            return Replay(frame, cached);
        }
        if (session.Window.IsStale(frame.Sequence))
        {
            return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)StatusCode.StaleSequence, []);
        }
        (StatusCode status, byte[] payload) = Execute(frame, session);
        if ((Opcode)frame.Opcode == Opcode.Close && status == StatusCode.Ok)
        {
            sessions.Close(session);
            CountExecuted();
        }
        else if (status != StatusCode.Busy)
        {
            Remember(session.Window, frame, status, payload);
        }
        return FrameEncoder.Answer(frame, FrameFlags.None, frame.Opcode, (byte)status, payload);
    }

    private byte[] Replay(Frame frame, CachedResponse cached)
    {
        _replays++;
        return FrameEncoder.Answer(frame, FrameFlags.Replayed, cached.Opcode, (byte)cached.Status, cached.Payload);
    }

    /// <summary>Caches an executed response (BUSY is not: it did not run, and the host's retry with the same number runs it).</summary>
    private void Remember(ResponseWindow window, Frame frame, StatusCode status, byte[] payload)
    {
        window.Remember(frame.Sequence, new CachedResponse(frame.Opcode, status, payload));
        CountExecuted();
    }

    private void CountExecuted()
    {
        // The request that cleared the counters is not counted in them: they start from zero after it.
        if (!_countersJustCleared)
        {
            _executed++;
        }
        _countersJustCleared = false;
    }

    /// <param name="session">Version 2: the session the frame came in, null outside one (and in version 1).</param>
    private (StatusCode, byte[]) Execute(Frame frame, BoardSession? session)
    {
        var opcode = (Opcode)frame.Opcode;
        ReadOnlySpan<byte> payload = frame.Payload.Span;
        if (payload.Length > _device.Info.MaxPayload)
        {
            return (StatusCode.BadLength, []);
        }
        BoardRequest request;
        try
        {
            request = BoardRequest.Decode(opcode, payload);
        }
        catch (UnknownOpcodeException)
        {
            return (StatusCode.UnknownOpcode, []);
        }
        catch (MalformedPayloadException)
        {
            return (StatusCode.Malformed, []);
        }
        catch (NestedBatchException)
        {
            return (StatusCode.NestedBatch, []);
        }
        if (_sessions is not null && request.Changes && session is not { HoldsLease: true })
        {
            // Another host holds the write lease (or took it while this one was idle): nothing runs.
            return (StatusCode.NotLeased, []);
        }
        if (request.MaxResponseLength > _maxResponse)
        {
            // Its answer could not be framed: refused before anything runs, never run and left unanswered.
            return (StatusCode.BatchTooLarge, []);
        }
        if (request is BatchRequest batch)
        {
            if (batch.Requests.Count > _device.Info.MaxBatch)
            {
                return (StatusCode.BatchTooLarge, []);
            }
            var parts = batch.Requests.Select(r =>
            {
                (StatusCode status, BoardResponse? response) = ExecuteOne(r);
                return new SubResponse(r.Opcode, status, response);
            }).ToList();
            return (StatusCode.Ok, new BatchResponse(parts).ToPayload());
        }
        (StatusCode single, BoardResponse? answer) = ExecuteOne(request, session);
        return (single, answer?.ToPayload() ?? []);
    }

    private (StatusCode, BoardResponse?) ExecuteOne(BoardRequest request, BoardSession? session = null)
    {
        if (request is UndecodableRequest undecodable)
        {
            return (undecodable.Refusal, null);
        }
        if (request.ItemCount > _device.Info.MaxBatch)
        {
            return (StatusCode.BatchTooLarge, null);
        }
        try
        {
            switch (request)
            {
                case ResetRequest reset:
                    _device.Reset(reset.ClearCounters);
                    if (reset.ClearCounters)
                    {
                        // Every STATUS counter starts again, the link's as well as the array's; uptime alone runs on.
                        _framesReceived = _crcErrors = _framingErrors = _replays = _executed = _resets = 0;
                        _countersJustCleared = true;
                    }
                    else
                    {
                        _resets++;
                    }
                    // Version 1 forgets its series; version 2's sessions are the link's, not the array's, and keep theirs.
                    _series?.Clear();
                    return (StatusCode.Ok, new ResetResponse());
                case OpenRequest open:
                    return Open(open, session);
                case CloseRequest:
                    // Outside a session there is nothing to close; in version 1 there are no sessions.
                    return session is null ? (_sessions is null ? StatusCode.UnknownOpcode : StatusCode.NoSession, null) : (StatusCode.Ok, new CloseResponse());
                case StatusRequest:
                    DeviceCounters d = _device.Counters;
                    return (StatusCode.Ok, new StatusResponse(new BoardStatus(d.State, d.UptimeMicroseconds, d.DeviceTimeNs,
                        _framesReceived, _crcErrors, _framingErrors, _replays, _executed, d.Pulses, d.Reads, d.VerifyIterations, _resets)));
                default:
                    return (StatusCode.Ok, _device.Execute(request));
            }
        }
        catch (BoardStatusException ex)
        {
            return (ex.Status, null);
        }
    }

    private (StatusCode, BoardResponse?) Open(OpenRequest open, BoardSession? session)
    {
        if (_sessions is null)
        {
            return (StatusCode.UnknownOpcode, null);
        }
        if (session is not null)
        {
            // OPEN belongs outside any session, where its nonce makes it safe to repeat.
            return (StatusCode.Malformed, null);
        }
        (StatusCode status, OpenResponse? answer) = _sessions.Open(open);
        return (status, answer);
    }
}
