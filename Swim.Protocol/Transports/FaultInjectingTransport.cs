namespace Swim.Protocol.Transports;

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

/// <summary>
/// Wraps a transport and damages what it sends, one write (one frame) at a time: drops it, flips a bit,
/// sends it twice, holds it back (so later frames overtake it), or sends line noise before it. Seeded, so a
/// failing run repeats.
/// </summary>
public sealed class FaultInjectingTransport(ByteTransport inner, FaultProfile profile, int seed, TimeProvider? time = null) : ByteTransport
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _dropped, _corrupted, _duplicated, _delayed, _garbage, _frames;

    public override string Description => $"{inner.Description} with faults";

    public (long Frames, long Dropped, long Corrupted, long Duplicated, long Delayed, long Garbage) Injected =>
        (Interlocked.Read(ref _frames), Interlocked.Read(ref _dropped), Interlocked.Read(ref _corrupted), Interlocked.Read(ref _duplicated),
         Interlocked.Read(ref _delayed), Interlocked.Read(ref _garbage));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _frames);
        double drop, corrupt, duplicate, delay, garbage;
        int corruptAt, corruptBit;
        TimeSpan wait;
        byte[] noise;
        lock (_gate)
        {
            drop = _random.NextDouble();
            corrupt = _random.NextDouble();
            duplicate = _random.NextDouble();
            delay = _random.NextDouble();
            garbage = _random.NextDouble();
            corruptAt = _random.Next(data.Length);
            corruptBit = _random.Next(8);
            wait = TimeSpan.FromTicks((long)(_random.NextDouble() * profile.DelayLimit.Ticks));
            noise = new byte[_random.Next(1, 16)];
            _random.NextBytes(noise);
        }
        if (garbage < profile.Garbage)
        {
            Interlocked.Increment(ref _garbage);
            await inner.WriteAsync(noise, cancellationToken).ConfigureAwait(false);
        }
        if (drop < profile.Drop)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        ReadOnlyMemory<byte> frame = data;
        if (corrupt < profile.Corrupt)
        {
            Interlocked.Increment(ref _corrupted);
            byte[] copy = data.ToArray();
            copy[corruptAt] ^= (byte)(1 << corruptBit);
            frame = copy;
        }
        int copies = duplicate < profile.Duplicate ? 2 : 1;
        if (copies == 2)
        {
            Interlocked.Increment(ref _duplicated);
        }
        if (delay < profile.Delay)
        {
            Interlocked.Increment(ref _delayed);
            byte[] held = frame.ToArray();
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(wait, _time, CancellationToken.None).ConfigureAwait(false);
                    for (int i = 0; i < copies; i++)
                    {
                        await inner.WriteAsync(held, CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
                {
                    // The link closed while the frame was held back: it is lost, as on a real line.
                }
            }, CancellationToken.None);
            return;
        }
        for (int i = 0; i < copies; i++)
        {
            await inner.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
