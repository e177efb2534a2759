namespace Swim.Protocol.Transports;

/// <summary>
/// One direction of a modelled UART: bytes take 10 bit times each (8N1), one after another, so a burst waits for
/// the bytes ahead of it. Shared by every transport that paces a link, so they all model the same wire.
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

    /// <summary>Waits until <paramref name="count"/> bytes, queued behind those already on the line, have crossed it.</summary>
    public ValueTask CrossAsync(int count, CancellationToken cancellationToken)
    {
        long done;
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            _freeAt = Math.Max(now, _freeAt) + (long)((double)count * BitsPerByte / BaudRate * _time.TimestampFrequency);
            done = _freeAt;
        }
        return WaitUntilAsync(done, cancellationToken);
    }

    /// <summary>
    /// Sleeps most of the way and spins the last millisecond: timer sleeps are coarse (about 1 ms), and a small frame
    /// at 3 Mbaud takes about 0.1 ms, so sleeping alone would model a much slower link.
    /// </summary>
    private async ValueTask WaitUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        TimeSpan remaining = _time.GetElapsedTime(_time.GetTimestamp(), timestamp);
        if (remaining > TimeSpan.FromMilliseconds(2))
        {
            await Task.Delay(remaining - TimeSpan.FromMilliseconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
        if (_time != TimeProvider.System)
        {
            // A test clock only moves when the test moves it.
            if (_time.GetTimestamp() < timestamp)
            {
                await Task.Delay(_time.GetElapsedTime(_time.GetTimestamp(), timestamp), _time, cancellationToken).ConfigureAwait(false);
            }
            return;
        }
        var spinner = new SpinWait();
        while (_time.GetTimestamp() < timestamp)
        {
            cancellationToken.ThrowIfCancellationRequested();
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
