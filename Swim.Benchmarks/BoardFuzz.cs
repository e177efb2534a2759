using System.Diagnostics;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Feeds requests of every opcode, with fields in and out of range and payloads damaged after encoding (bytes
/// flipped, cut, added, replaced by noise), to the board side: an emulated board of 2 x 16 x 16 cells behind its
/// endpoint. Passes when nothing throws, every request gets exactly one answer that decodes, and no cell changes
/// unless a command that changes cells was answered OK (a refused command must not have changed any cell). In version 2
/// most requests go in a write session, the rest outside any session, in sessions the board does not hold, or are
/// OPENs and CLOSEs; a closed session is opened again.
/// </summary>
public static class BoardFuzz
{
    public static int Run(TextWriter output, int frames, int seed, byte version = ProtocolConstants.Version)
    {
        var random = new Random(seed);
        // The paper preset has no drift: a cell's conductance moves only when it is pulsed.
        var board = new EmulatedBoard(DevicePreset.Paper, new BoardGeometry(2, 16, 16), (ulong)seed, protocolVersion: version);
        var endpoint = new BoardEndpoint(board);
        var decoder = endpoint.NewDecoder();
        ushort session = 0;
        var replies = new List<byte[]>();
        var statuses = new Dictionary<StatusCode, long>();
        long violations = 0, changed = 0;
        double[] before = Snapshot(board);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < frames; i++)
        {
            if (version != ProtocolConstants.Version1 && session == 0)
            {
                session = Open(endpoint, decoder, (uint)i);
            }
            (byte opcode, byte[] payload) = Damage(random, Request(random, board.Info));
            ushort to = version == ProtocolConstants.Version1 ? (ushort)0 : Addressee(random, ref opcode, ref payload, session);
            replies.Clear();
            endpoint.Receive(decoder, FrameEncoder.Encode(FrameFlags.None, (uint)i, opcode, 0, payload, version, to), replies);
            if (replies.Count != 1 || !Answer(replies[0], opcode, out StatusCode status))
            {
                violations++;
                Report(output, i, opcode, payload, $"{replies.Count} answers, or one that does not decode");
                continue;
            }
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (to == session && (status == StatusCode.NoSession || (opcode == (byte)Opcode.Close && status == StatusCode.Ok)))
            {
                session = 0;
            }
            double[] after = Snapshot(board);
            if (!after.AsSpan().SequenceEqual(before))
            {
                changed++;
                if (status != StatusCode.Ok || !MayChangeCells(opcode, payload))
                {
                    violations++;
                    Report(output, i, opcode, payload, $"cells changed by a request answered {status}");
                }
            }
            before = after;
        }
        output.WriteLine($"board fuzz, protocol version {version}, seed {seed}: {frames:N0} requests in {clock.Elapsed.TotalSeconds:F1} s, {changed:N0} changed cells, {violations} violations");
        output.WriteLine("  answers: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value:N0}")));
        return violations == 0 ? 0 : 1;
    }

    /// <summary>A write session, opened the way a host does: OPEN outside any session.</summary>
    private static ushort Open(BoardEndpoint endpoint, FrameDecoder decoder, uint sequence)
    {
        var replies = new List<byte[]>();
        endpoint.Receive(decoder, FrameEncoder.Encode(FrameFlags.None, sequence, (byte)Opcode.Open, 0,
            new OpenRequest((ulong)Random.Shared.NextInt64(), true, 0).ToPayload(), ProtocolConstants.Version2), replies);
        ReadOnlySpan<byte> input = replies.Single();
        new FrameDecoder().TryDecode(ref input, out Frame frame, out _, out _);
        return ((OpenResponse)BoardResponse.Decode(Opcode.Open, frame.Payload.Span)).Session;
    }

    /// <summary>Version 2: where a request goes, mostly the write session; sometimes it becomes an OPEN or a CLOSE (damaged like the rest).</summary>
    private static ushort Addressee(Random r, ref byte opcode, ref byte[] payload, ushort session)
    {
        int pick = r.Next(100);
        if (pick < 3)
        {
            (opcode, payload) = Damage(r, new OpenRequest((ulong)r.NextInt64(), r.Next(2) == 0, (ushort)r.Next(3)));
            return 0;
        }
        if (pick < 4)
        {
            opcode = (byte)Opcode.Close;
            return session;
        }
        return pick < 9 ? (ushort)0 : pick < 14 ? (ushort)r.Next(1, 65536) : session;
    }

    private static double[] Snapshot(EmulatedBoard board) => [.. Enumerable.Range(0, board.Cells.Count).Select(board.Cells.TrueConductance)];

    private static bool Answer(byte[] wire, byte opcode, out StatusCode status)
    {
        status = default;
        var decoder = new FrameDecoder();
        ReadOnlySpan<byte> input = wire;
        if (!decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _) || error != FrameError.None || !frame.IsResponse)
        {
            return false;
        }
        status = (StatusCode)frame.Status;
        if (status != StatusCode.Ok)
        {
            return true;
        }
        try
        {
            return frame.Opcode == opcode && BoardResponse.Decode((Opcode)opcode, frame.Payload.Span) is not null;
        }
        catch (MalformedPayloadException)
        {
            return false;
        }
    }

    /// <summary>Whether the request, as the board would read it, holds a command that pulses cells.</summary>
    private static bool MayChangeCells(byte opcode, byte[] payload)
    {
        try
        {
            return BoardRequest.Decode((Opcode)opcode, payload) switch
            {
                WritePulseRequest or ProgramRequest or ProgramVerifyRequest or ProgramLevelsRequest or VerifyLevelsRequest => true,
                BatchRequest batch => batch.Requests.Any(r => r is WritePulseRequest or ProgramRequest or ProgramVerifyRequest or ProgramLevelsRequest or VerifyLevelsRequest),
                _ => false,
            };
        }
        catch (Exception ex) when (ex is MalformedPayloadException or UnknownOpcodeException or NestedBatchException)
        {
            return false;
        }
    }

    private static void Report(TextWriter output, int i, byte opcode, byte[] payload, string problem) =>
        output.WriteLine($"  request {i}: opcode 0x{opcode:X2}, payload {Convert.ToHexString(payload.AsSpan(0, Math.Min(payload.Length, 48)))}: {problem}");

    /// <summary>A request of a random kind, its cells mostly on the board and sometimes off it, its values sometimes out of range.</summary>
    private static BoardRequest Request(Random r, BoardInfo info, bool inBatch = false)
    {
        CellAddress Cell() => r.Next(8) == 0 ? new CellAddress((ushort)r.Next(4), (ushort)r.Next(20), (ushort)r.Next(20))
            : new CellAddress((ushort)r.Next(info.Tiles), (ushort)r.Next(info.Rows), (ushort)r.Next(info.Columns));
        T[] Some<T>(Func<T> item) => [.. Enumerable.Range(0, r.Next(r.Next(10) == 0 ? 300 : 12)).Select(_ => item())];
        float Value() => r.Next(10) == 0 ? float.NaN : (float)(r.NextDouble() * 1.4 * info.ConductanceMaxMicrosiemens - 5);
        ushort Side() => (ushort)r.Next(r.Next(10) == 0 ? 40 : 5);
        switch (r.Next(inBatch ? 10 : 11))
        {
            case 0: return new IdentifyRequest();
            case 1: return new StatusRequest();
            case 2: return r.Next(2) == 0 ? ReadRequest.Cells(Some(Cell), (byte)r.Next(3)) : ReadRequest.Rectangle(Cell(), Side(), Side(), (byte)r.Next(3));
            case 3: return new WritePulseRequest(Some(() => new Pulse(Cell(), (PulsePolarity)r.Next(2), (float)(r.NextDouble() * 4), (uint)r.Next(1, 200_000))));
            case 4: return new ProgramRequest(Some(() => new ProgramTarget(Cell(), (TargetKind)r.Next(2), r.Next(2) == 0 ? r.Next(-1, info.LevelsPerCell + 1) : Value())));
            case 5: return new ProgramVerifyRequest(Some(() => new VerifyTarget(Cell(), Value(), (float)(r.NextDouble() * 3 - 0.2), (ushort)r.Next(0, 12))));
            case 6: return new CountersRequest(Some(Cell));
            case 7: return new ReadCodesRequest(Cell(), Side(), Side(), (byte)r.Next(3), r.Next(2) == 0 ? (byte)8 : (byte)16);
            case 8:
                ushort height = Side(), width = Side();
                byte levelBits = (byte)r.Next(1, 5);
                bool[] mask = [.. Enumerable.Range(0, height * width).Select(_ => r.Next(4) == 0)];
                return new VerifyLevelsRequest(Cell(), height, width, levelBits, (float)(r.NextDouble() * 3 - 0.2), (ushort)r.Next(0, 12), mask,
                    [.. mask.Where(m => m).Select(_ => (ushort)r.Next(1 << levelBits))]);
            case 9:
                ushort rows = Side(), columns = Side();
                byte bits = (byte)r.Next(1, 5);
                return new ProgramLevelsRequest(Cell(), rows, columns, bits, [.. Enumerable.Range(0, rows * columns).Select(_ => (ushort)r.Next(1 << bits))]);
            default: return new BatchRequest([.. Enumerable.Range(0, r.Next(6)).Select(_ => Request(r, info, inBatch: true))]);
        }
    }

    /// <summary>The request's bytes, damaged one time in three: a byte flipped, cut short, a byte added, or noise of the same length.</summary>
    private static (byte Opcode, byte[] Payload) Damage(Random r, BoardRequest request)
    {
        byte opcode = r.Next(50) == 0 ? (byte)r.Next(256) : (byte)request.Opcode;
        byte[] payload = request.ToPayload();
        if (payload.Length == 0 || r.Next(3) != 0)
        {
            return (opcode, payload);
        }
        switch (r.Next(4))
        {
            case 0:
                payload[r.Next(payload.Length)] ^= (byte)(1 << r.Next(8));
                return (opcode, payload);
            case 1:
                return (opcode, payload[..r.Next(payload.Length)]);
            case 2:
                return (opcode, [.. payload, (byte)r.Next(256)]);
            default:
                r.NextBytes(payload);
                return (opcode, payload);
        }
    }
}
