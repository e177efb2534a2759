using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Tests.Support;

/// <summary>
/// Passes writes through and pulls the plug (cancels the session) right after the frame that makes
/// <c>killAfter</c> true of the opcodes written so far; nothing goes out after it, as from a process that died there
/// (no CLOSE, no retransmission).
/// </summary>
public sealed class KillSwitch(ByteTransport inner, Func<IReadOnlyList<byte>, bool> killAfter, CancellationTokenSource kill) : ByteTransport
{
    private readonly FrameDecoder _decoder = new();
    private volatile bool _killed;

    /// <summary>Kills right after the N-th frame.</summary>
    public KillSwitch(ByteTransport inner, int afterFrames, CancellationTokenSource kill) : this(inner, opcodes => opcodes.Count >= afterFrames, kill)
    {
    }

    /// <summary>The opcode of every frame written, in order: a run without a kill (int.MaxValue) shows where a kill would land.</summary>
    public List<byte> Opcodes { get; } = [];

    public override string Description => inner.Description;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_killed)
        {
            return;
        }
        await inner.WriteAsync(data, cancellationToken);
        bool killNow;
        lock (Opcodes)
        {
            ReadOnlySpan<byte> input = data.Span;
            while (_decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
            {
                Opcodes.Add(error == FrameError.None ? frame.Opcode : (byte)0);
            }
            killNow = !_killed && killAfter(Opcodes);
            _killed |= killNow;
        }
        if (killNow)
        {
            kill.Cancel();
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReadAsync(buffer, cancellationToken);

    public override ValueTask DisposeAsync() => inner.DisposeAsync();

    /// <summary>
    /// True once the session has sent command <paramref name="command"/> (from 0) of its <paramref name="chunk"/>-th (from 0)
    /// run of PROGRAM and PROGRAM_LEVELS frames: a program chunk's commands, parted from the next chunk's by its STATUS and
    /// snapshot. However the client cuts the cells into commands, a kill there leaves that chunk in flight.
    /// </summary>
    public static Func<IReadOnlyList<byte>, bool> InsideProgramChunk(int chunk, int command) => opcodes =>
    {
        static bool Programs(byte opcode) => opcode is (byte)Opcode.Program or (byte)Opcode.ProgramLevels;
        int runs = -1, inRun = 0;
        for (int i = 0; i < opcodes.Count; i++)
        {
            if (!Programs(opcodes[i]))
            {
                continue;
            }
            inRun = i > 0 && Programs(opcodes[i - 1]) ? inRun + 1 : 0;
            runs += inRun == 0 ? 1 : 0;
        }
        return opcodes.Count > 0 && Programs(opcodes[^1]) && runs == chunk && inRun == command;
    };

    /// <summary>
    /// For the client writing through a kill switch: an attempt timeout long enough that a stall of the test machine
    /// does not retransmit requests, which would add frames and move the kill off the one chosen (seen: 16 retransmitted
    /// requests moved a kill meant for a chunk's PROGRAM commands to before the chunk began).
    /// </summary>
    public static BoardClientOptions ClientOptions() => new() { AttemptTimeout = TimeSpan.FromSeconds(30) };
}
