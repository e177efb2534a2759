namespace Swim.Protocol.Transports;

/// <summary>
/// One direction of a modelled UART: bytes take 10 bit times each (8N1), one after another, so a burst waits for
/// the bytes ahead of it. Shared by every transport that paces a link (through <see cref="PacedQueue"/>), so they all
/// model the same wire.
/// </summary>
public sealed class SerialLine
{
    /// <summary>Bit times a byte takes at 8N1: a start bit, eight data bits, a stop bit.</summary>
    public const int BitsPerByte = 10;

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _freeAt;

    public SerialLine(int baudRate, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        BaudRate = baudRate;
        _time = time ?? TimeProvider.System;
    }

    public int BaudRate { get; }

    /// <summary>How long <paramref name="bytes"/> take on a line of <paramref name="baudRate"/>.</summary>
    public static TimeSpan Duration(long bytes, int baudRate) => TimeSpan.FromSeconds((double)bytes * BitsPerByte / baudRate);

    /// <summary>Puts <paramref name="count"/> bytes on the line behind those already on it; returns when (a timestamp) the last arrives.</summary>
    public long Schedule(int count)
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            _freeAt = Math.Max(now, _freeAt) + (long)((double)count * BitsPerByte / BaudRate * _time.TimestampFrequency);
            return _freeAt;
        }
    }

    /// <summary>
    /// Waits until <paramref name="timestamp"/>: sleeps most of the way and spins the last millisecond, since timer
    /// sleeps are coarse (about a millisecond) and a small answer at 3 Mbaud takes a tenth of that; a late wake-up
    /// would add its lateness to every exchange a session waits on (measured: a LeNet-5 session 7 % slower).
    /// </summary>
    public async ValueTask WaitUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        if (_time != TimeProvider.System)
        {
            // A test clock only moves when the test moves it; its own timer fires to the tick (Task.Delay rounds to milliseconds).
            while (_time.GetTimestamp() < timestamp)
            {
                var due = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using ITimer timer = _time.CreateTimer(_ => due.TrySetResult(), null, _time.GetElapsedTime(_time.GetTimestamp(), timestamp), Timeout.InfiniteTimeSpan);
                await due.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            return;
        }
        TimeSpan remaining = _time.GetElapsedTime(_time.GetTimestamp(), timestamp);
        if (remaining > TimeSpan.FromMilliseconds(2))
        {
            await Task.Delay(remaining - TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        }
        var spinner = new SpinWait();
        while (_time.GetTimestamp() < timestamp)
        {
            cancellationToken.ThrowIfCancellationRequested();
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
