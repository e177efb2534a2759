using Swim.Protocol.Messages;

namespace Swim.Tests.Support;

/// <summary>Random requests and responses of every opcode, for round-trip properties.</summary>
public static class RandomMessages
{
    private static CellAddress Cell(Random r) => new((ushort)r.Next(4), (ushort)r.Next(512), (ushort)r.Next(512));

    private static float F(Random r) => (float)(r.NextDouble() * 200 - 20);

    private static T[] Many<T>(Random r, Func<T> item, int most = 40) => Enumerable.Range(0, r.Next(most)).Select(_ => item()).ToArray();

    public static BoardRequest Request(Random r, bool allowBatch = true) => r.Next(allowBatch ? 13 : 12) switch
    {
        11 => VerifyLevels(r),
        9 => Levels(r),
        10 => new ReadCodesRequest(Cell(r), (ushort)r.Next(1, 64), (ushort)r.Next(1, 64), (byte)r.Next(1, 9), r.Next(2) == 0 ? (byte)8 : (byte)16),
        0 => new IdentifyRequest(),
        1 => new ResetRequest(r.Next(2) == 1),
        2 => ReadRequest.Cells(Many(r, () => Cell(r)), (byte)r.Next(1, 9)),
        3 => ReadRequest.Rectangle(Cell(r), (ushort)r.Next(1, 64), (ushort)r.Next(1, 64), (byte)r.Next(1, 9)),
        4 => new WritePulseRequest(Many(r, () => new Pulse(Cell(r), (PulsePolarity)r.Next(2), F(r), (uint)r.Next(10, 100_000)))),
        5 => new ProgramRequest(Many(r, () => new ProgramTarget(Cell(r), (TargetKind)r.Next(2), F(r)))),
        6 => new ProgramVerifyRequest(Many(r, () => new VerifyTarget(Cell(r), F(r), F(r), (ushort)r.Next(100)))),
        7 => new StatusRequest(),
        8 => new CountersRequest(Many(r, () => Cell(r))),
        _ => new BatchRequest(Many(r, () => Request(r, allowBatch: false), 6)),
    };

    private static VerifyLevelsRequest VerifyLevels(Random r)
    {
        ushort rows = (ushort)r.Next(0, 4), columns = (ushort)r.Next(0, 40);
        byte bits = (byte)r.Next(1, 17);
        bool[] mask = [.. Enumerable.Range(0, rows * columns).Select(_ => r.Next(3) == 0)];
        return new VerifyLevelsRequest(Cell(r), rows, columns, bits, F(r), (ushort)r.Next(100), mask, [.. mask.Where(m => m).Select(_ => (ushort)r.Next(1 << bits))]);
    }

    private static ProgramLevelsRequest Levels(Random r)
    {
        ushort rows = (ushort)r.Next(0, 5), columns = (ushort)r.Next(0, 70);
        byte bits = (byte)r.Next(1, 17);
        return new ProgramLevelsRequest(Cell(r), rows, columns, bits, [.. Enumerable.Range(0, rows * columns).Select(_ => (ushort)r.Next(1 << bits))]);
    }

    public static BoardResponse Response(Random r, bool allowBatch = true) => r.Next(allowBatch ? 12 : 11) switch
    {
        10 => new VerifyLevelsResponse(Many(r, () => new VerifyLevelsOutcome((StatusCode)r.Next(0, 15), (ushort)r.Next(65536)))),
        8 => new ProgramLevelsResponse(Many(r, () => new CellException((ushort)r.Next(65536), (StatusCode)r.Next(0, 15)))),
        9 => r.Next(2) == 0 ? new ReadCodesResponse(F(r), F(r), 8, Many(r, () => (ushort)r.Next(256)))
            : new ReadCodesResponse(F(r), F(r), 16, Many(r, () => (ushort)r.Next(65536))),
        0 => new IdentifyResponse(Info(r)),
        1 => new ResetResponse(),
        2 => new ReadResponse(Many(r, () => F(r))),
        3 => new WritePulseResponse((ushort)r.Next(1000)),
        4 => new ProgramResponse(Many(r, () => (StatusCode)r.Next(0, 15))),
        5 => new ProgramVerifyResponse(Many(r, () => new VerifyOutcome((StatusCode)r.Next(0, 15), (ushort)r.Next(100), (ushort)r.Next(200), F(r)))),
        6 => new StatusResponse(new BoardStatus((byte)r.Next(3), (ulong)r.NextInt64(), (ulong)r.NextInt64(), (uint)r.Next(), (uint)r.Next(), (uint)r.Next(), (uint)r.Next(), (uint)r.Next(), (ulong)r.NextInt64(), (ulong)r.NextInt64(), (ulong)r.NextInt64(), (uint)r.Next())),
        7 => new CountersResponse(Many(r, () => new CellCounters((uint)r.Next(), (uint)r.Next(), (ulong)r.NextInt64()))),
        _ => new BatchResponse(Many(r, () =>
        {
            BoardResponse inner = Response(r, allowBatch: false);
            bool ok = r.Next(3) > 0;
            return new SubResponse(inner.Opcode, ok ? StatusCode.Ok : StatusCode.OutOfRange, ok ? inner : null);
        }, 6)),
    };

    /// <summary>A board description of either protocol version; version 2's fields are set only in version 2, as on the wire.</summary>
    public static BoardInfo Info(Random r)
    {
        byte version = (byte)r.Next(1, 3);
        var info = new BoardInfo(version, 1, 2, 3, "SN" + r.Next(100000), 4, 256, 256, 16, 1f, 100f, 0.01f,
            new SafeOperatingArea(0.2f, 3.5f, 10, 1_000_000), 256, 4096, 64, 1000, 100, 2000,
            BoardCapabilities.ProgramVerify | BoardCapabilities.Program | BoardCapabilities.Batch | BoardCapabilities.Counters, "rram");
        return version == 1 ? info : info with { MaxResponse = (ushort)r.Next(4096, 65520), MaxSessions = (byte)r.Next(2, 9), LeaseMs = (uint)r.Next(100, 60_000) };
    }

    /// <summary>A version 2 board description (sessions, 10 s lease), as the tests' devices report.</summary>
    public static BoardInfo InfoVersion2(Random r) =>
        Info(r) with { ProtocolVersion = 2, MaxResponse = 65_519, MaxSessions = 4, LeaseMs = 10_000 };
}
