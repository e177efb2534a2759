using System.Threading.Channels;

namespace Swim.Protocol.Transports;

/// <summary>
/// One direction of a modelled UART with a transmit buffer: a writer hands bytes over at once and goes on (as firmware
/// fills a UART's FIFO or DMA buffer and returns to its work), the bytes cross the <see cref="SerialLine"/> one after
/// another, and a reader gets them once they have arrived. Both directions of a link run at the same time.
/// </summary>
public sealed class PacedQueue
{
    private readonly SerialLine _line;
    private readonly Channel<(ReadOnlyMemory<byte> Bytes, long ArrivesAt)> _queue = Channel.CreateUnbounded<(ReadOnlyMemory<byte>, long)>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly int _piece;
    private ReadOnlyMemory<byte> _arrived;

    public PacedQueue(int baudRate, TimeProvider? time = null)
    {
        _line = new SerialLine(baudRate, time);
        // About a millisecond of line a piece: a frame near the front of a long burst is handed on when it has arrived,
        // not when the whole burst has.
        _piece = Math.Max(64, baudRate / SerialLine.BitsPerByte / 1000);
    }

    public int BaudRate => _line.BaudRate;

    /// <summary>Queues bytes for the line; they arrive behind everything queued before them.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        // Scheduled and queued under one lock, so the queue's order is the line's.
        lock (_queue)
        {
            for (int at = 0; at < data.Length; at += _piece)
            {
                ReadOnlySpan<byte> piece = data.Slice(at, Math.Min(_piece, data.Length - at));
                _queue.Writer.TryWrite((piece.ToArray(), _line.Schedule(piece.Length)));
            }
        }
    }

    /// <summary>No more bytes: a reader gets what is on the line, then 0.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Bytes that have arrived, waiting for the next to arrive; 0 once completed and drained.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_arrived.IsEmpty)
        {
            if (!await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !_queue.Reader.TryRead(out var next))
            {
                return 0;
            }
            await _line.WaitUntilAsync(next.ArrivesAt, cancellationToken).ConfigureAwait(false);
            _arrived = next.Bytes;
        }
        int count = Math.Min(buffer.Length, _arrived.Length);
        _arrived[..count].CopyTo(buffer);
        _arrived = _arrived[count..];
        return count;
    }
}
