using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Protocol.Client;

/// <summary>
/// Talks to a board over any <see cref="ByteTransport"/>: correlates responses by sequence number, keeps a
/// window of requests in flight, retries lost or refused attempts with the same sequence number (so the
/// board's response cache answers a request that already ran), backs off with jitter and opens a circuit
/// when the link is dead. Board status codes surface as <see cref="BoardException"/>.
/// </summary>
public sealed partial class BoardClient : IAsyncDisposable
{
    /// <summary>Items per command before IDENTIFY has told the board's own limit.</summary>
    public const int DefaultMaxBatch = 64;

    /// <summary>The smallest response cache the spec allows a board; the window never exceeds it before IDENTIFY.</summary>
    public const int MinimumResponseCache = 32;

    private readonly ByteTransport _transport;
    private readonly BoardClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly FrameDecoder _decoder = new();
    private readonly Lock _gate = new();
    private long _outstandingNominalNs;
    private readonly Dictionary<uint, PendingRequest> _pending = [];
    private readonly LinkedList<uint> _order = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    // Held from a request's call until its first frame is written: requests take sequence numbers and reach the
    // wire in the order they were made (SemaphoreSlim queues async waiters first in, first out). The board executes
    // in arrival order, so this is what makes a session's device operations, and a seeded emulator's results,
    // the same from run to run.
    private readonly SemaphoreSlim _sendOrder = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiveLoop;
    private TaskCompletionSource _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _nextSequence;
    // While a replay runs: the number the client's own series goes on from afterwards.
    private uint? _replayEnd;
    private int _window;
    // The framing in use (2, or 1 after a version 1 board refused version 2) and the session frames go in (0 until OPEN).
    private byte _version;
    private ushort _session;
    // Under the send turn: whether the connection's IDENTIFY (and OPEN) went through.
    private bool _connected;
    private Exception? _linkFailure;
    private long _requests, _framesSent, _bytesSent, _framesReceived, _bytesReceived, _retransmissions, _timeouts, _corrupt, _stray, _replays;
    // Frames written so far, under _writeLock: each attempt's place in the order of the wire.
    private long _writes;

    public BoardClient(ByteTransport transport, BoardClientOptions? options = null, TimeProvider? timeProvider = null, ILogger<BoardClient>? logger = null)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _options = options ?? new BoardClientOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _window = Math.Min(_options.Window, MinimumResponseCache);
        _version = _options.Protocol ?? ProtocolConstants.Version;
        _nextSequence = _options.InitialSequence ?? (uint)Random.Shared.NextInt64(0, uint.MaxValue);
        FirstSequence = _nextSequence;
        _pipeline = BuildPipeline();
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>The number this client's series began with.</summary>
    public uint FirstSequence { get; }

    /// <summary>The number the next request will take (while requests are made one after another, the first of them).</summary>
    public uint NextSequence
    {
        get
        {
            lock (_gate)
            {
                return _replayEnd ?? _nextSequence;
            }
        }
    }

    /// <summary>
    /// Until the returned scope is disposed, gives requests the numbers from <paramref name="firstSequence"/> on, which an
    /// earlier host gave the same requests before it died: a board that executed one answers from its response cache
    /// (REPLAYED) instead of executing it again, and one that never received it executes it now. Safe only when the
    /// requests are the earlier host's, byte for byte and in its order, while every one of them is still in the
    /// board's cache window; and only on a board that has not been reset or lost power since, which clears the cache.
    /// This client's own series must have begun after them (<see cref="BoardClientOptions.InitialSequence"/>); the
    /// replay may not reach the number it began with, and no request may be in flight when it begins.
    /// </summary>
    public IDisposable ReplayFrom(uint firstSequence)
    {
        lock (_gate)
        {
            if (_replayEnd is not null || _order.Count > 0)
            {
                throw new InvalidOperationException("a replay begins with no request in flight and no other replay running.");
            }
            uint behind = unchecked(FirstSequence - firstSequence);
            if (behind == 0 || behind >= 1u << 31)
            {
                throw new InvalidOperationException($"a replay from sequence {firstSequence} must lie behind this client's own series, which began at {FirstSequence}.");
            }
            _replayEnd = _nextSequence;
            _nextSequence = firstSequence;
        }
        return new ReplayScope(this);
    }

    private sealed class ReplayScope(BoardClient client) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                lock (client._gate)
                {
                    client._nextSequence = client._replayEnd!.Value;
                    client._replayEnd = null;
                }
            }
        }
    }

    /// <summary>What IDENTIFY reported; null until <see cref="IdentifyAsync"/> has run.</summary>
    public BoardInfo? Board { get; private set; }

    public string LinkDescription => _transport.Description;

    public LinkStatistics Statistics => new(
        Interlocked.Read(ref _requests), Interlocked.Read(ref _framesSent), Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _framesReceived), Interlocked.Read(ref _bytesReceived), Interlocked.Read(ref _retransmissions),
        Interlocked.Read(ref _timeouts), Interlocked.Read(ref _corrupt), Interlocked.Read(ref _stray), Interlocked.Read(ref _replays));

    /// <summary>
    /// Sends one request and returns its response. Retries reuse the sequence number; a board status other
    /// than OK (after retryable ones are exhausted) throws <see cref="BoardException"/>; a dead link throws
    /// <see cref="BoardTimeoutException"/> (no attempt answered) or <see cref="IOException"/>.
    /// </summary>
    public async Task<TResponse> SendAsync<TResponse>(BoardRequest request, CancellationToken cancellationToken = default) where TResponse : BoardResponse
    {
        ArgumentNullException.ThrowIfNull(request);
        OrderTurn order = await TakeTurnConnectedAsync(cancellationToken).ConfigureAwait(false);
        return await SendNumberedAsync<TResponse>(request, order, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends in whatever session is open now (none while connecting) once <paramref name="order"/> is this request's
    /// turn: the connection's own requests come here directly, holding the turn of the request that connects.
    /// </summary>
    private async Task<TResponse> SendNumberedAsync<TResponse>(BoardRequest request, OrderTurn order, CancellationToken cancellationToken) where TResponse : BoardResponse
    {
        byte[] payload;
        PendingRequest pending;
        try
        {
            // A request refused here gives its turn back like any other: the requests behind it must not wait for ever.
            payload = SendablePayload(request);
            pending = await AcquireAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            order.Release();
            throw;
        }
        Interlocked.Increment(ref _requests);
        byte[] frame;
        lock (_gate)
        {
            frame = FrameEncoder.Encode(FrameFlags.None, pending.Sequence, (byte)request.Opcode, 0, payload, _version, _version == ProtocolConstants.Version1 ? (ushort)0 : _session);
        }
        try
        {
            AttemptResult result = await _pipeline.ExecuteAsync(token => AttemptAsync(request.Opcode, frame, pending, order, token), cancellationToken).ConfigureAwait(false);
            return Decode<TResponse>(request.Opcode, pending.Sequence, result);
        }
        catch (Exception ex) when (Failure(ex, request.Opcode, pending) is { } failure)
        {
            throw failure;
        }
        finally
        {
            order.Release();
            Release(pending);
        }
    }

    /// <summary>The request's payload, when the board takes it and can answer it in one frame.</summary>
    private byte[] SendablePayload(BoardRequest request)
    {
        byte[] payload = request.ToPayload();
        int maxPayload = Board?.MaxPayload ?? ProtocolConstants.MaxPayloadLengthOf(ProtocolVersion);
        if (payload.Length > maxPayload)
        {
            throw new ArgumentException($"{request.Opcode} carries {payload.Length} payload bytes; the board takes at most {maxPayload}. Split it.", nameof(request));
        }
        if (request.MaxResponseLength > MaxResponse)
        {
            throw new ArgumentException($"{request.Opcode}'s answer may take {request.MaxResponseLength:N0} bytes, more than the board answers in one frame ({MaxResponse:N0}). Split it.", nameof(request));
        }
        return payload;
    }

    /// <summary>The request's turn to write: frames go out in the order requests were made, released once its first frame is written (or it fails).</summary>
    private sealed class OrderTurn(SemaphoreSlim? order)
    {
        private int _released;

        /// <summary>For requests sent while another's turn is held (the connection's, in the turn of the request that connects).</summary>
        public static OrderTurn Held { get; } = new(null);

        public void Release()
        {
            if (order is not null && Interlocked.Exchange(ref _released, 1) == 0)
            {
                order.Release();
            }
        }
    }

    /// <summary>One attempt: write the frame (again), then wait for its answer; retryable answers and overtaken attempts throw for the pipeline to retry.</summary>
    private async ValueTask<AttemptResult> AttemptAsync(Opcode opcode, byte[] frame, PendingRequest pending, OrderTurn order, CancellationToken token)
    {
        var attempt = new TaskCompletionSource<AttemptResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            pending.Attempt = attempt;
            pending.LastWritten = long.MaxValue;
        }
        if (pending.Attempts++ > 0)
        {
            Interlocked.Increment(ref _retransmissions);
            LogRetransmit(opcode, pending.Sequence, pending.Attempts);
        }
        try
        {
            await WriteFrameAsync(frame, pending, token).ConfigureAwait(false);
        }
        finally
        {
            order.Release();
        }
        AttemptResult answer = await attempt.Task.WaitAsync(token).ConfigureAwait(false);
        if (answer.Overtaken)
        {
            throw new OvertakenAttemptException();
        }
        if (StatusCodes.IsRetryable(answer.Status))
        {
            throw new RetryableAttemptException(answer.Status);
        }
        return answer;
    }

    private static TResponse Decode<TResponse>(Opcode opcode, uint sequence, AttemptResult result) where TResponse : BoardResponse
    {
        if (result.Status != StatusCode.Ok)
        {
            throw new BoardException(result.Status, opcode, sequence);
        }
        BoardResponse response;
        try
        {
            response = BoardResponse.Decode(opcode, result.Payload);
        }
        catch (MalformedPayloadException ex)
        {
            throw new IOException($"the board's {opcode} response (sequence {sequence}) does not parse: {ex.Message}", ex);
        }
        return response as TResponse
            ?? throw new InvalidOperationException($"{opcode} answers with {response.GetType().Name}, not {typeof(TResponse).Name}.");
    }

    /// <summary>What the caller is told when the retry pipeline gives up, or null for exceptions that pass through as they are.</summary>
    private Exception? Failure(Exception ex, Opcode opcode, PendingRequest pending)
    {
        switch (ex)
        {
            case TimeoutRejectedException timeout:
                Interlocked.Increment(ref _timeouts);
                return new BoardTimeoutException(opcode, pending.Sequence, pending.Attempts, timeout.Timeout, ex);
            case BrokenCircuitException:
                string fate = pending.Attempts == 0 ? "was not sent" : $"went out {pending.Attempts} times unanswered, so whether the board executed it is unknown";
                return new IOException($"the link to the board failed too often to go on ({ex.Message.TrimEnd('.')}); {opcode} (sequence {pending.Sequence}) {fate}. "
                    + "Check the connection and the board, then try again.", ex);
            case OvertakenAttemptException:
                Interlocked.Increment(ref _timeouts);
                return new BoardTimeoutException(opcode, pending.Sequence, pending.Attempts,
                    $"in {pending.Attempts} attempts, though it answered requests sent after each of them (the link loses frames)", ex);
            case RetryableAttemptException retryable:
                // The retries are spent; callers get the protocol's status, not the pipeline's internal signal.
                return new BoardException(retryable.Status, opcode, pending.Sequence, pending.Attempts);
            default:
                return null;
        }
    }

    /// <summary>
    /// How long an attempt waits: the configured timeout plus the nominal device time of every request outstanding,
    /// its own included. The board runs requests one at a time, so a pipelined request's answer waits for those ahead
    /// of it, and the spec gives a board until its command's device time to begin answering.
    /// </summary>
    private TimeSpan AttemptTimeout()
    {
        long outstanding;
        lock (_gate)
        {
            outstanding = _outstandingNominalNs;
        }
        return _options.AttemptTimeout + TimeSpan.FromTicks(outstanding / 100);
    }

    /// <summary>
    /// A request's nominal device time from IDENTIFY's read, pulse and verify-iteration times: for PROGRAM_VERIFY the
    /// worst case, every cell to its iteration limit, since nothing less bounds when the board may answer.
    /// </summary>
    internal static long NominalDeviceNs(BoardRequest request, BoardInfo? board)
    {
        if (board is null)
        {
            return 0;
        }
        return request switch
        {
            ReadRequest read => (long)read.ItemCount * read.Samples * board.ReadNs,
            WritePulseRequest pulses => (long)pulses.Pulses.Count * board.PulseNs,
            ProgramRequest program => (long)program.Targets.Count * (board.PulseNs + board.ReadNs),
            ProgramVerifyRequest verify => verify.Targets.Sum(t => board.ReadNs + (long)t.MaxIterations * board.VerifyIterationNs),
            BatchRequest batch => batch.Requests.Sum(r => NominalDeviceNs(r, board)),
            _ => 0,
        };
    }

    private ResiliencePipeline BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutRejectedException>().Handle<RetryableAttemptException>().Handle<OvertakenAttemptException>(),
                // A request known lost goes again at once: waiting would only stall the window behind it.
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is OvertakenAttemptException ? TimeSpan.Zero : null),
                MaxRetryAttempts = _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BackoffBase,
                MaxDelay = _options.MaxBackoff,
            });
        }
        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutRejectedException>(),
                FailureRatio = _options.BreakerFailureRatio,
                MinimumThroughput = _options.BreakerMinimumThroughput,
                SamplingDuration = _options.BreakerSampling,
                BreakDuration = _options.BreakDuration,
            })
            .AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = _ => new ValueTask<TimeSpan>(AttemptTimeout()) })
            .Build();
    }

    private async ValueTask WriteFrameAsync(byte[] frame, PendingRequest pending, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfLinkFailed();
            long written = ++_writes;
            lock (_gate)
            {
                pending.LastWritten = written;
                if (pending.FirstWritten < 0)
                {
                    pending.FirstWritten = written;
                }
            }
            await _transport.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _framesSent);
            Interlocked.Add(ref _bytesSent, frame.Length);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits until the request's sequence number fits the window: at most Window ahead of the oldest unanswered.</summary>
    private async ValueTask<PendingRequest> AcquireAsync(BoardRequest request, CancellationToken cancellationToken)
    {
        long nominalNs = NominalDeviceNs(request, Board);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                ThrowIfLinkFailed();
                if (_replayEnd is not null && _nextSequence == FirstSequence)
                {
                    throw new InvalidOperationException($"the replay reached sequence {_nextSequence}, where this client's own series began; it holds more requests than lie behind it.");
                }
                if (_order.Count == 0 || unchecked(_nextSequence - _order.First!.Value) < (uint)_window)
                {
                    var pending = new PendingRequest(_nextSequence, request.Opcode, nominalNs);
                    _outstandingNominalNs += nominalNs;
                    _nextSequence = unchecked(_nextSequence + 1);
                    pending.Node = _order.AddLast(pending.Sequence);
                    _pending[pending.Sequence] = pending;
                    return pending;
                }
                changed = _windowChanged.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Release(PendingRequest pending)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_pending.Remove(pending.Sequence))
            {
                _outstandingNominalNs -= pending.NominalNs;
            }
            if (pending.Node is not null)
            {
                _order.Remove(pending.Node);
            }
            changed = _windowChanged;
            _windowChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int read = await _transport.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    Fail(new IOException($"the link ({_transport.Description}) was closed by the board side."));
                    return;
                }
                Interlocked.Add(ref _bytesReceived, read);
                Dispatch(buffer.AsSpan(0, read));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposal.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or UnauthorizedAccessException)
        {
            Fail(new IOException($"the link ({_transport.Description}) failed: {ex.Message}", ex));
        }
    }

    private void Dispatch(ReadOnlySpan<byte> input)
    {
        while (_decoder.TryDecode(ref input, out Frame frame, out FrameError error, out uint? hint))
        {
            if (error != FrameError.None)
            {
                Interlocked.Increment(ref _corrupt);
                LogCorrupt(error, hint);
                continue;
            }
            if (!frame.IsResponse)
            {
                Interlocked.Increment(ref _stray);
                continue;
            }
            Interlocked.Increment(ref _framesReceived);
            if ((frame.Flags & FrameFlags.Replayed) != 0)
            {
                Interlocked.Increment(ref _replays);
            }
            TaskCompletionSource<AttemptResult>? attempt = null;
            List<TaskCompletionSource<AttemptResult>>? lost = null;
            lock (_gate)
            {
                // Framing refusals (BAD_CRC, BAD_VERSION, BAD_LENGTH) carry opcode 0: the board could not trust it.
                PendingRequest? pending = _pending.GetValueOrDefault(frame.Sequence) ?? VersionProbe(frame);
                if (pending is not null && ((byte)pending.Opcode == frame.Opcode || frame.Opcode == 0))
                {
                    attempt = pending.Attempt;
                    // Only an answer the board gave in its turn orders the wire: BUSY may come back while an earlier
                    // request still runs, and a framing refusal's sequence number may itself be damaged.
                    if (frame.Opcode != 0 && !StatusCodes.IsRetryable((StatusCode)frame.Status))
                    {
                        lost = Overtaken(pending);
                    }
                }
            }
            if (attempt is null || !attempt.TrySetResult(new AttemptResult((StatusCode)frame.Status, frame.Payload.ToArray())))
            {
                // A late duplicate of a response already taken: harmless, by the exactly-once design.
                Interlocked.Increment(ref _stray);
            }
            foreach (TaskCompletionSource<AttemptResult> gone in lost ?? [])
            {
                gone.TrySetResult(AttemptResult.Lost);
            }
        }
    }

    /// <summary>
    /// The attempts that the board's answer to <paramref name="answered"/> shows lost: those written before any attempt
    /// of it. The board runs requests in arrival order and answers each before the next, and every transport keeps the
    /// order of bytes, so such an attempt was answered before this one or never will be: its request or its response
    /// was lost. Sending it again at once, instead of at its timeout, keeps a lossy link from stalling the window;
    /// should the guess be wrong (a link that delays frames), the board answers the copy from its response cache.
    /// </summary>
    private List<TaskCompletionSource<AttemptResult>>? Overtaken(PendingRequest answered)
    {
        if (answered.FirstWritten < 0)
        {
            return null;
        }
        List<TaskCompletionSource<AttemptResult>>? lost = null;
        foreach (PendingRequest earlier in _pending.Values)
        {
            if (earlier.LastWritten < answered.FirstWritten && earlier.Attempt is { Task.IsCompleted: false } waiting)
            {
                (lost ??= []).Add(waiting);
            }
        }
        return lost;
    }

    private void Fail(Exception failure)
    {
        List<PendingRequest> waiting;
        TaskCompletionSource changed;
        lock (_gate)
        {
            _linkFailure ??= failure;
            waiting = [.. _pending.Values];
            changed = _windowChanged;
        }
        LogLinkFailed(failure.Message);
        foreach (PendingRequest pending in waiting)
        {
            pending.Attempt?.TrySetException(failure);
        }
        changed.TrySetResult();
    }

    private void ThrowIfLinkFailed()
    {
        if (_linkFailure is { } failure)
        {
            throw new IOException(failure.Message, failure);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_options.CloseOnDispose)
        {
            await CloseSessionAsync().ConfigureAwait(false);
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        Fail(new ObjectDisposedException(nameof(BoardClient)));
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on shutdown.
        }
        await _transport.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _writeLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "retransmitting {Opcode} sequence {Sequence} (attempt {Attempt})")]
    private partial void LogRetransmit(Opcode opcode, uint sequence, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "dropped a corrupt frame ({Error}, sequence as received {Sequence})")]
    private partial void LogCorrupt(FrameError error, uint? sequence);

    [LoggerMessage(Level = LogLevel.Error, Message = "link failed: {Reason}")]
    private partial void LogLinkFailed(string reason);

    private sealed class PendingRequest(uint sequence, Opcode opcode, long nominalNs)
    {
        public uint Sequence { get; } = sequence;

        public Opcode Opcode { get; } = opcode;

        /// <summary>The board's nominal device time for this request (IDENTIFY's times), 0 before IDENTIFY.</summary>
        public long NominalNs { get; } = nominalNs;

        public LinkedListNode<uint>? Node { get; set; }

        public TaskCompletionSource<AttemptResult>? Attempt { get; set; }

        public int Attempts { get; set; }

        /// <summary>The wire order of this request's first attempt; -1 until it is written.</summary>
        public long FirstWritten { get; set; } = -1;

        /// <summary>The wire order of its latest attempt; <see cref="long.MaxValue"/> while an attempt is on its way out.</summary>
        public long LastWritten { get; set; } = long.MaxValue;
    }

    /// <param name="Overtaken">Not an answer: the board answered a later request, so this attempt was lost.</param>
    private readonly record struct AttemptResult(StatusCode Status, byte[] Payload, bool Overtaken = false)
    {
        public static AttemptResult Lost { get; } = new(StatusCode.Ok, [], Overtaken: true);
    }
}
