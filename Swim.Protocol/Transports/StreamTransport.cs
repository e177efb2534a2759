namespace Swim.Protocol.Transports;

/// <summary>A transport over any duplex <see cref="Stream"/>: a TCP socket, a serial port's base stream, a pipe.</summary>
public sealed class StreamTransport : ByteTransport
{
    private readonly Stream _stream;
    private readonly bool _shouldDispose;
    private readonly IDisposable? _owner;

    /// <param name="shouldDispose">Whether disposing the transport disposes the stream (ownership is explicit, as in dotnet/iot).</param>
    /// <param name="owner">Something else to dispose with the stream, such as the serial port or TCP client it came from.</param>
    public StreamTransport(Stream stream, bool shouldDispose, string description, IDisposable? owner = null)
    {
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        _shouldDispose = shouldDispose;
        _owner = owner;
        Description = description;
    }

    public override string Description { get; }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _stream.ReadAsync(buffer, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (_shouldDispose)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _owner?.Dispose();
        }
    }
}
