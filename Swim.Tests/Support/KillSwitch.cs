using Swim.Protocol.Client;
using Swim.Protocol.Transports;

namespace Swim.Tests.Support;

/// <summary>Passes writes through and pulls the plug (cancels the session) right after the N-th frame has gone out.</summary>
public sealed class KillSwitch(ByteTransport inner, int afterFrames, CancellationTokenSource kill) : ByteTransport
{
    private int _frames;

    public override string Description => inner.Description;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await inner.WriteAsync(data, cancellationToken);
        if (Interlocked.Increment(ref _frames) == afterFrames)
        {
            kill.Cancel();
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    /// <summary>
    /// For the client writing through a kill switch: an attempt timeout long enough that a stall of the test machine
    /// does not retransmit requests, which would add frames and move the kill off the one chosen (seen: 16 retransmitted
    /// requests moved a kill meant for a chunk's PROGRAM commands to before the chunk began).
    /// </summary>
    public static BoardClientOptions ClientOptions() => new() { AttemptTimeout = TimeSpan.FromSeconds(30) };
}
