namespace Swim.Protocol.Transports;

/// <summary>
/// A link that runs at a UART's rate both ways at once, over one that does not (TCP, a pseudo-terminal): bytes
/// written are handed to a transmit queue and leave no faster than the line carries them, bytes received are handed on
/// no sooner than they would have arrived, and neither waits for the other, as on a full-duplex UART with buffers. The
/// board end of an emulator wears it, so a bench's link time can be reproduced on a laptop.
/// </summary>
public sealed class PacedTransport : ByteTransport
{
    private readonly ByteTransport _inner;
    private readonly PacedQueue _outbound;
    private readonly PacedQueue _inbound;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sending;
    private readonly Task _receiving;
    private volatile Exception? _failed;

    public PacedTransport(ByteTransport inner, int baudRate, TimeProvider? time = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _outbound = new PacedQueue(baudRate, time);
        _inbound = new PacedQueue(baudRate, time);
        _sending = Task.Run(SendAsync);
        _receiving = Task.Run(ReceiveAsync);
    }

    public int BaudRate => _outbound.BaudRate;

    public override string Description => $"{_inner.Description} paced at {BaudRate} baud";

    /// <summary>Queues the bytes for the line and returns: the transmit queue, not the caller, waits for the line.</summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_failed is { } failed)
        {
            throw new IOException($"{_inner.Description}: the link failed ({failed.Message})", failed);
        }
        _outbound.Write(data.Span);
        return ValueTask.CompletedTask;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _inbound.ReadAsync(buffer, cancellationToken);

    private async Task SendAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int count;
            while ((count = await _outbound.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
            {
                await _inner.WriteAsync(buffer.AsMemory(0, count), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            _failed ??= ex;
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int count;
            while ((count = await _inner.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
            {
                _inbound.Write(buffer.AsSpan(0, count));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            _failed ??= ex;
        }
        finally
        {
            // The far end closed (or the link broke): the reader gets what is still on the line, then 0.
            _inbound.Complete();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // What is queued goes out first, as a UART drains its buffer; a dead link or a slow one is given up on.
        _outbound.Complete();
        await Task.WhenAny(_sending, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _inner.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_sending, _receiving).ConfigureAwait(false);
        _stop.Dispose();
    }
}
