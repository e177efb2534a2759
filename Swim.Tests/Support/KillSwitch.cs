using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Transports;

namespace Swim.Tests.Support;

/// <summary>
/// Passes writes through and pulls the plug (cancels the session) right after the N-th frame has gone out; nothing
/// goes out after it, as from a process that died there (no CLOSE, no retransmission).
/// </summary>
public sealed class KillSwitch(ByteTransport inner, int afterFrames, CancellationTokenSource kill) : ByteTransport
{
    private readonly FrameDecoder _decoder = new();
    private int _frames;

    /// <summary>The opcode of every frame written, in order: a run without a kill (int.MaxValue) shows where a kill would land.</summary>
    public List<byte> Opcodes { get; } = [];

    public override string Description => inner.Description;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _frames) >= afterFrames)
        {
            return;
        }
        await inner.WriteAsync(data, cancellationToken);
        lock (Opcodes)
        {
            ReadOnlySpan<byte> input = data.Span;
            while (_decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
            {
                Opcodes.Add(error == FrameError.None ? frame.Opcode : (byte)0);
            }
        }
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
