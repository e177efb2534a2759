using Swim.Protocol.Transports;

namespace Swim.Tests.Support;

/// <summary>
/// A link that breaks for good after its N-th written frame, as an unplugged cable does: every later write and every
/// read (one under way included) fails with an IOException. The process lives on, unlike <see cref="KillSwitch"/>.
/// </summary>
public sealed class LinkCut(ByteTransport inner, int afterWrites) : ByteTransport
{
    private readonly CancellationTokenSource _cut = new();
    private int _writes;

    public override string Description => inner.Description;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _writes) > afterWrites)
        {
            await _cut.CancelAsync();
            throw new IOException("the link was cut (test)");
        }
        await inner.WriteAsync(data, cancellationToken);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cut.Token);
        try
        {
            return await inner.ReadAsync(buffer, linked.Token);
        }
        catch (OperationCanceledException) when (_cut.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IOException("the link was cut (test)");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _cut.Dispose();
        await inner.DisposeAsync();
    }
}
