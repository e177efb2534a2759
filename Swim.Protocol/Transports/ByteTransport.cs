namespace Swim.Protocol.Transports;

/// <summary>
/// A byte link to a board: send bytes, receive bytes, cancel, dispose. Framing lives above it, so the same
/// client runs over a serial port, SPI, TCP or an in-memory pipe.
/// </summary>
public abstract class ByteTransport : IAsyncDisposable
{
    /// <summary>Names the link in messages and logs, e.g. "serial /dev/ttyACM0 @ 3000000".</summary>
    public abstract string Description { get; }

    public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Reads what has arrived, waiting for at least one byte; 0 means the link is closed.</summary>
    public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
