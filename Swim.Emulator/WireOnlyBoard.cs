using Swim.Protocol.Board;
using Swim.Protocol.Messages;

namespace Swim.Emulator;

/// <summary>
/// A board that answers every programming command at once as a healthy board would (every cell in band, read at
/// G_min) and keeps no cells: what a session's commands and answers put on the wire, without the physics. The
/// Monte-Carlo studies count a selection's link bytes through it with Swim's own client: it counts the frames of the
/// commands it executes (COBS at its worst, one byte in 254), and so not the session's time-driven traffic (lease
/// keep-alives), which would make a study's figures depend on how fast it ran.
/// </summary>
public sealed class WireOnlyBoard(BoardInfo info) : IBoardDevice
{
    private long _bytesIn, _bytesOut;

    public BoardInfo Info { get; } = info ?? throw new ArgumentNullException(nameof(info));

    /// <summary>Bytes of the executed commands' frames from the host, and of their answers back.</summary>
    public (long FromHost, long ToHost) Bytes => (Interlocked.Read(ref _bytesIn), Interlocked.Read(ref _bytesOut));

    public DeviceCounters Counters => default;

    public void Reset(bool clearCounters)
    {
    }

    public BoardResponse Execute(BoardRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        BoardResponse response = Answer(request);
        Interlocked.Add(ref _bytesIn, Protocol.Framing.ProtocolConstants.MaxWireLength(request.PayloadLength));
        Interlocked.Add(ref _bytesOut, Protocol.Framing.ProtocolConstants.MaxWireLength(response.PayloadLength));
        return response;
    }

    private BoardResponse Answer(BoardRequest request) => request switch
    {
        IdentifyRequest => new IdentifyResponse(Info),
        ProgramRequest program => new ProgramResponse([.. program.Targets.Select(_ => StatusCode.Ok)]),
        ProgramLevelsRequest => new ProgramLevelsResponse([]),
        VerifyLevelsRequest verify => new VerifyLevelsResponse([.. verify.Selected().Select(_ => new VerifyLevelsOutcome(StatusCode.Ok, 1))]),
        ProgramVerifyRequest verify => new ProgramVerifyResponse([.. verify.Targets.Select(t => new VerifyOutcome(StatusCode.Ok, 1, 1, t.TargetMicrosiemens))]),
        ReadRequest read => new ReadResponse([.. read.Addresses().Select(_ => Info.ConductanceMinMicrosiemens)]),
        ReadCodesRequest codes => new ReadCodesResponse(Info.ConductanceMinMicrosiemens, (Info.ConductanceMaxMicrosiemens - Info.ConductanceMinMicrosiemens) / ((1 << codes.CodeBits) - 1),
            codes.CodeBits, new ushort[codes.Rows * codes.Columns]),
        _ => throw new BoardStatusException(StatusCode.UnknownOpcode, $"{request.Opcode} is not part of a programming session's traffic."),
    };
}
