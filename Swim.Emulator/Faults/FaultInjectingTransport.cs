using Swim.Protocol.Transports;

namespace Swim.Emulator.Faults;

/// <summary>Per-frame fault rates for <see cref="FaultInjectingTransport"/>, each a probability 0..1.</summary>
public sealed record FaultProfile(double Drop = 0, double Corrupt = 0, double Duplicate = 0, double Delay = 0, TimeSpan? MaxDelay = null, double Garbage = 0)
{
    public static FaultProfile None { get; } = new();

    public TimeSpan DelayLimit => MaxDelay ?? TimeSpan.FromMilliseconds(50);

    /// <summary>Parses "drop=0.01,corrupt=0.01,duplicate=0.005,delay=0.01,maxdelay=50ms,garbage=0.001".</summary>
    public static FaultProfile Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var profile = new FaultProfile();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2)
            {
                throw new FormatException($"fault '{part}' is not NAME=VALUE (names: drop, corrupt, duplicate, delay, maxdelay, garbage).");
            }
            if (kv[0] == "maxdelay")
            {
                string ms = kv[1].EndsWith("ms", StringComparison.Ordinal) ? kv[1][..^2] : kv[1];
                profile = profile with { MaxDelay = TimeSpan.FromMilliseconds(double.Parse(ms, System.Globalization.CultureInfo.InvariantCulture)) };
                continue;
            }
            if (!double.TryParse(kv[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate) || rate is < 0 or > 1)
            {
                throw new FormatException($"fault rate '{kv[1]}' for {kv[0]} must be a number from 0 to 1.");
            }
            profile = kv[0] switch
            {
                "drop" => profile with { Drop = rate },
                "corrupt" => profile with { Corrupt = rate },
                "duplicate" => profile with { Duplicate = rate },
                "delay" => profile with { Delay = rate },
                "garbage" => profile with { Garbage = rate },
                _ => throw new FormatException($"unknown fault '{kv[0]}' (names: drop, corrupt, duplicate, delay, maxdelay, garbage)."),
            };
        }
        return profile;
    }
}

/// <summary>Which way a <see cref="FaultInjectingTransport"/> damages frames.</summary>
[Flags]
public enum FaultDirection
{
    /// <summary>Frames this end sends.</summary>
    Outbound = 1,

    /// <summary>Frames this end receives (split at delimiters before they reach the reader).</summary>
    Inbound = 2,

    Both = Outbound | Inbound,
}

/// <summary>
/// Wraps a transport and damages frames, one at a time: drops one, flips a bit, sends it twice, holds it
/// back (so later frames overtake it), or puts line noise before it. Outbound frames are the writes made
/// through it; inbound frames are split at delimiters from what it reads. Seeded, so a failing run repeats.
/// </summary>
public sealed class FaultInjectingTransport : ByteTransport
{
    private readonly ByteTransport _inner;
    private readonly FaultProfile _profile;
    private readonly FaultDirection _direction;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly System.IO.Pipelines.Pipe? _inbound;
    private readonly SemaphoreSlim _inboundWrite = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _inboundPump;
    private long _dropped, _corrupted, _duplicated, _delayed, _garbage, _frames;

    public FaultInjectingTransport(ByteTransport inner, FaultProfile profile, int seed, TimeProvider? time = null, FaultDirection direction = FaultDirection.Outbound)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _profile = profile ?? throw new ArgumentNullException(nameof(profile));
        _direction = direction;
        _random = new Random(seed);
        _time = time ?? TimeProvider.System;
        if ((direction & FaultDirection.Inbound) != 0)
        {
            _inbound = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
            _inboundPump = Task.Run(PumpInboundAsync);
        }
    }

    public override string Description => $"{_inner.Description} with faults";

    public (long Frames, long Dropped, long Corrupted, long Duplicated, long Delayed, long Garbage) Injected =>
        (Interlocked.Read(ref _frames), Interlocked.Read(ref _dropped), Interlocked.Read(ref _corrupted), Interlocked.Read(ref _duplicated),
         Interlocked.Read(ref _delayed), Interlocked.Read(ref _garbage));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        (_direction & FaultDirection.Outbound) != 0 ? DamageAsync(data, _inner.WriteAsync, cancellationToken) : _inner.WriteAsync(data, cancellationToken);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_inbound is null)
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        System.IO.Pipelines.ReadResult result = await _inbound.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        System.Buffers.ReadOnlySequence<byte> available = result.Buffer;
        if (available.IsEmpty && result.IsCompleted)
        {
            _inbound.Reader.AdvanceTo(available.End);
            return 0;
        }
        int count = (int)Math.Min(available.Length, buffer.Length);
        System.Buffers.ReadOnlySequence<byte> slice = available.Slice(0, count);
        System.Buffers.BuffersExtensions.CopyTo(slice, buffer.Span);
        _inbound.Reader.AdvanceTo(slice.End);
        return count;
    }

    private async Task PumpInboundAsync()
    {
        var buffer = new byte[8192];
        var frame = new List<byte>();
        try
        {
            while (true)
            {
                int read = await _inner.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                for (int i = 0; i < read; i++)
                {
                    frame.Add(buffer[i]);
                    if (buffer[i] == 0)
                    {
                        await DamageAsync(frame.ToArray(), DeliverInboundAsync, _stop.Token).ConfigureAwait(false);
                        frame.Clear();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The link closed: so does the damaged view of it.
        }
        await _inbound!.Writer.CompleteAsync().ConfigureAwait(false);
    }

    private async ValueTask DeliverInboundAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _inboundWrite.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _inbound!.Writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inboundWrite.Release();
        }
    }

    /// <summary>One frame's fate, drawn at once under the lock so that a seed gives the same damage whatever the timing.</summary>
    private readonly record struct Fate(bool Garbage, bool Drop, bool Corrupt, bool Duplicate, bool Delay, int CorruptAt, int CorruptBit, TimeSpan Wait, byte[] Noise);

    private Fate Draw(int length)
    {
        lock (_gate)
        {
            double drop = _random.NextDouble(), corrupt = _random.NextDouble(), duplicate = _random.NextDouble(), delay = _random.NextDouble(), garbage = _random.NextDouble();
            int corruptAt = _random.Next(length);
            int corruptBit = _random.Next(8);
            var wait = TimeSpan.FromTicks((long)(_random.NextDouble() * _profile.DelayLimit.Ticks));
            byte[] noise = new byte[_random.Next(1, 16)];
            _random.NextBytes(noise);
            return new Fate(garbage < _profile.Garbage, drop < _profile.Drop, corrupt < _profile.Corrupt, duplicate < _profile.Duplicate, delay < _profile.Delay,
                corruptAt, corruptBit, wait, noise);
        }
    }

    private async ValueTask DamageAsync(ReadOnlyMemory<byte> data, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> deliver, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _frames);
        Fate fate = Draw(data.Length);
        if (fate.Garbage)
        {
            Interlocked.Increment(ref _garbage);
            await deliver(fate.Noise, cancellationToken).ConfigureAwait(false);
        }
        if (fate.Drop)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        ReadOnlyMemory<byte> frame = data;
        if (fate.Corrupt)
        {
            Interlocked.Increment(ref _corrupted);
            byte[] copy = data.ToArray();
            copy[fate.CorruptAt] ^= (byte)(1 << fate.CorruptBit);
            frame = copy;
        }
        int copies = fate.Duplicate ? 2 : 1;
        if (fate.Duplicate)
        {
            Interlocked.Increment(ref _duplicated);
        }
        if (fate.Delay)
        {
            Interlocked.Increment(ref _delayed);
            HoldBack(frame.ToArray(), copies, fate.Wait, deliver);
            return;
        }
        for (int i = 0; i < copies; i++)
        {
            await deliver(frame, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Delivers a delayed frame later, so frames sent after it can overtake it.</summary>
    private void HoldBack(byte[] held, int copies, TimeSpan wait, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> deliver) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(wait, _time, CancellationToken.None).ConfigureAwait(false);
                for (int i = 0; i < copies; i++)
                {
                    await deliver(held, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                // The link closed while the frame was held back: it is lost, as on a real line.
            }
        }, CancellationToken.None);

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _inner.DisposeAsync().ConfigureAwait(false);
        if (_inboundPump is not null)
        {
            await _inboundPump.ConfigureAwait(false);
        }
        _stop.Dispose();
        _inboundWrite.Dispose();
    }
}
