using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Protocol.Board;

/// <summary>
/// The board side of the protocol, as firmware runs it (firmware-spec/protocol.md): decode a frame, answer a
/// repeated sequence number from the response cache, refuse stale ones, otherwise execute (BATCH by its
/// parts), cache and send the response. One frame at a time, in arrival order.
/// </summary>
public sealed class BoardEndpoint
{
    /// <summary>The response cache depth this endpoint advertises unless told otherwise.</summary>
    public const int DefaultCacheDepth = 64;

    private readonly IBoardDevice _device;
    private readonly Dictionary<uint, CachedResponse> _cache = [];
    private readonly Lock _gate = new();
    private uint _newest;
    private bool _anyExecuted;
    private bool _countersJustCleared;
    private uint _framesReceived, _crcErrors, _framingErrors, _replays, _executed, _resets;

    public BoardEndpoint(IBoardDevice device)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        CacheDepth = device.Info.ResponseCacheDepth;
        if (CacheDepth < 1)
        {
            throw new ArgumentException("the device must advertise a response cache depth of at least 1.", nameof(device));
        }
    }

    /// <summary>K: responses are kept for every sequence number less than K behind the newest executed.</summary>
    public int CacheDepth { get; }

    public IBoardDevice Device => _device;

    /// <summary>Serves frames from <paramref name="transport"/> until it closes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task ServeAsync(ByteTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var decoder = new FrameDecoder(_device.Info.MaxPayload);
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
            byte[]? reply = error == FrameError.None ? Handle(frame) : Refuse(error, hint);
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
            _cache.Clear();
            _anyExecuted = false;
            _framesReceived = _crcErrors = _framingErrors = _replays = _executed = _resets = 0;
            _device.PowerCycle();
        }
    }

    private byte[]? Refuse(FrameError error, uint? sequence)
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
        return status is null || sequence is null ? null : FrameEncoder.Encode(FrameFlags.Response, sequence.Value, 0, (byte)status.Value, []);
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
            if (_cache.TryGetValue(frame.Sequence, out CachedResponse cached))
            {
                _replays++;
                return FrameEncoder.Encode(FrameFlags.Response | FrameFlags.Replayed, frame.Sequence, cached.Opcode, (byte)cached.Status, cached.Payload);
            }
            if (_anyExecuted && IsStale(frame.Sequence))
            {
                return FrameEncoder.Encode(FrameFlags.Response, frame.Sequence, frame.Opcode, (byte)StatusCode.StaleSequence, []);
            }
            (StatusCode status, byte[] payload) = Execute((Opcode)frame.Opcode, frame.Payload.Span);
            if (status == StatusCode.Busy)
            {
                // Not executed: not cached, so the host's retry with the same number runs it.
                return FrameEncoder.Encode(FrameFlags.Response, frame.Sequence, frame.Opcode, (byte)status, payload);
            }
            Remember(frame.Sequence, new CachedResponse(frame.Opcode, status, payload));
            return FrameEncoder.Encode(FrameFlags.Response, frame.Sequence, frame.Opcode, (byte)status, payload);
        }
    }

    private bool IsStale(uint sequence)
    {
        uint behind = unchecked(_newest - sequence);
        return behind >= (uint)CacheDepth && behind < 4u * (uint)CacheDepth;
    }

    private void Remember(uint sequence, CachedResponse response)
    {
        if (_anyExecuted && unchecked(_newest - sequence) >= 4u * (uint)CacheDepth && unchecked((int)(_newest - sequence)) >= 0)
        {
            // Far behind the newest and not stale: a new host started below its predecessor's numbers. Its series
            // starts here; otherwise its responses would fall out of the cache at once and its retransmissions
            // would run again. What the old host left cached can never be asked for.
            _cache.Clear();
            _newest = sequence;
        }
        else if (!_anyExecuted || unchecked((int)(sequence - _newest)) > 0)
        {
            _newest = sequence;
        }
        _anyExecuted = true;
        _cache[sequence] = response;
        // The request that cleared the counters is not counted in them: they start from zero after it.
        if (!_countersJustCleared)
        {
            _executed++;
        }
        _countersJustCleared = false;
        List<uint>? expired = null;
        foreach (uint kept in _cache.Keys)
        {
            if (unchecked(_newest - kept) >= (uint)CacheDepth && unchecked((int)(_newest - kept)) >= 0)
            {
                (expired ??= []).Add(kept);
            }
        }
        expired?.ForEach(k => _cache.Remove(k));
    }

    private (StatusCode, byte[]) Execute(Opcode opcode, ReadOnlySpan<byte> payload)
    {
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
        if (request.MaxResponseLength > ProtocolConstants.MaxPayloadLength)
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
        (StatusCode single, BoardResponse? answer) = ExecuteOne(request);
        return (single, answer?.ToPayload() ?? []);
    }

    private (StatusCode, BoardResponse?) ExecuteOne(BoardRequest request)
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
                    _cache.Clear();
                    _anyExecuted = false;
                    return (StatusCode.Ok, new ResetResponse());
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

    private readonly record struct CachedResponse(byte Opcode, StatusCode Status, byte[] Payload);
}
