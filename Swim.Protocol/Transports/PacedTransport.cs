namespace Swim.Protocol.Transports;

/// <summary>
/// A link that runs at a UART's rate both ways, over one that does not (TCP, a pseudo-terminal): bytes written
/// leave no faster than the line carries them, and bytes read are handed on no sooner than they would have
/// arrived. The board end of an emulator wears it, so link time on the bench can be reproduced on a laptop.
/// </summary>
public sealed class PacedTransport : ByteTransport
{
    private readonly ByteTransport _inner;
    private readonly SerialLine _outbound;
    private readonly SerialLine _inbound;
    private readonly int _readChunk;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public PacedTransport(ByteTransport inner, int baudRate, TimeProvider? time = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _outbound = new SerialLine(baudRate, time);
        _inbound = new SerialLine(baudRate, time);
        // About a millisecond of line a read: a frame near the front of a long burst is handed on when it has arrived,
        // not when the whole burst has.
        _readChunk = Math.Max(16, baudRate / SerialLine.BitsPerByte / 1000);
    }

    public int BaudRate => _outbound.BaudRate;

    public override string Description => $"{_inner.Description} paced at {BaudRate} baud";

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _outbound.CrossAsync(data.Length, cancellationToken).ConfigureAwait(false);
            await _inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read = await _inner.ReadAsync(buffer[..Math.Min(buffer.Length, _readChunk)], cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            await _inbound.CrossAsync(read, cancellationToken).ConfigureAwait(false);
        }
        return read;
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
