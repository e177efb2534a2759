using Swim.Protocol.Transports;

namespace Swim.Tests.Support;

/// <summary>Loses the chosen frames this end writes (counted from 1; the client and the board endpoint write a frame a call).</summary>
public sealed class FrameDropper(ByteTransport inner, params int[] dropped) : ByteTransport
{
    private int _frames;

    public override string Description => inner.Description;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        dropped.Contains(Interlocked.Increment(ref _frames)) ? ValueTask.CompletedTask : inner.WriteAsync(data, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}
