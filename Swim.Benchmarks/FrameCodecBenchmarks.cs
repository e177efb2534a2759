using BenchmarkDotNet.Attributes;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Frames encoded and decoded per second: a one-cell READ response (small) and a full PROGRAM_VERIFY request of
/// 255 cells (4,082-byte payload). Encoding into a reused buffer and decoding allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class FrameCodecBenchmarks
{
    private readonly FrameDecoder _decoder = new();
    private byte[] _smallPayload = null!;
    private byte[] _largePayload = null!;
    private byte[] _smallWire = null!;
    private byte[] _largeWire = null!;
    private readonly byte[] _buffer = new byte[ProtocolConstants.MaxWireLength(8192)];

    [GlobalSetup]
    public void Setup()
    {
        _smallPayload = new ReadResponse([42.5f]).ToPayload();
        var random = new Random(1);
        _largePayload = new ProgramVerifyRequest(Enumerable.Range(0, 255)
            .Select(i => new VerifyTarget(new CellAddress(0, (ushort)(i / 16), (ushort)(i % 16)), (float)random.NextDouble() * 100, 0.5f, 20)).ToArray()).ToPayload();
        _smallWire = FrameEncoder.Encode(FrameFlags.Response, 7, (byte)Opcode.Read, 0, _smallPayload);
        _largeWire = FrameEncoder.Encode(FrameFlags.None, 8, (byte)Opcode.ProgramVerify, 0, _largePayload);
    }

    [Benchmark]
    public int EncodeSmall() => FrameEncoder.Encode(_buffer, FrameFlags.Response, 7, (byte)Opcode.Read, 0, _smallPayload);

    [Benchmark]
    public int EncodeLarge() => FrameEncoder.Encode(_buffer, FrameFlags.None, 8, (byte)Opcode.ProgramVerify, 0, _largePayload);

    [Benchmark]
    public uint DecodeSmall() => Decode(_smallWire);

    [Benchmark]
    public uint DecodeLarge() => Decode(_largeWire);

    private uint Decode(byte[] wire)
    {
        ReadOnlySpan<byte> input = wire;
        _decoder.TryDecode(ref input, out Frame frame, out _, out _);
        return frame.Sequence;
    }
}
