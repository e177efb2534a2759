namespace Swim.Protocol.Messages;

/// <summary>A board's answer to a request with status OK. Each knows its payload layout, both ways.</summary>
public abstract record BoardResponse
{
    public abstract Opcode Opcode { get; }

    public abstract int PayloadLength { get; }

    public abstract void Write(ref PayloadWriter writer);

    public byte[] ToPayload()
    {
        var payload = new byte[PayloadLength];
        var writer = new PayloadWriter(payload);
        Write(ref writer);
        return payload;
    }

    /// <summary>Parses the payload of an OK response to <paramref name="opcode"/>.</summary>
    public static BoardResponse Decode(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload);
        BoardResponse response = opcode switch
        {
            Opcode.Identify => new IdentifyResponse(BoardInfo.Read(ref r)),
            Opcode.Reset => new ResetResponse(),
            Opcode.Read => new ReadResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => x.F32())),
            Opcode.WritePulse => new WritePulseResponse(r.U16()),
            Opcode.Program => new ProgramResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => (StatusCode)x.U8())),
            Opcode.ProgramVerify => new ProgramVerifyResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => new VerifyOutcome((StatusCode)x.U8(), x.U16(), x.U16(), x.F32()))),
            Opcode.Batch => BatchResponse.Read(ref r),
            Opcode.Status => new StatusResponse(new BoardStatus(r.U8(), r.U64(), r.U64(), r.U32(), r.U32(), r.U32(), r.U32(), r.U32(), r.U64(), r.U64(), r.U64(), r.U32())),
            Opcode.Counters => new CountersResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => new CellCounters(x.U32(), x.U32(), x.U64()))),
            Opcode.ReadCodes => ReadCodesResponse.Read(ref r),
            Opcode.VerifyLevels => new VerifyLevelsResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => new VerifyLevelsOutcome((StatusCode)x.U8(), x.U16()))),
            Opcode.ProgramLevels => new ProgramLevelsResponse(BoardRequest.ReadList(ref r, (ref PayloadReader x) => new CellException(x.U16(), (StatusCode)x.U8()))),
            Opcode.Open => OpenResponse.Read(ref r),
            Opcode.Close => new CloseResponse(),
            _ => throw new UnknownOpcodeException((byte)opcode),
        };
        r.End();
        return response;
    }
}

public sealed record IdentifyResponse(BoardInfo Info) : BoardResponse
{
    public override Opcode Opcode => Opcode.Identify;

    public override int PayloadLength => Info.PayloadLength;

    public override void Write(ref PayloadWriter writer) => Info.Write(ref writer);
}

public sealed record ResetResponse : BoardResponse
{
    public override Opcode Opcode => Opcode.Reset;

    public override int PayloadLength => 0;

    public override void Write(ref PayloadWriter writer) { }
}

/// <summary>READ results in microsiemens, in the request's cell order.</summary>
public sealed record ReadResponse(IReadOnlyList<float> Conductances) : BoardResponse
{
    public override Opcode Opcode => Opcode.Read;

    public override int PayloadLength => 2 + 4 * Conductances.Count;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Conductances.Count);
        foreach (float g in Conductances)
        {
            writer.F32(g);
        }
    }

    public bool Equals(ReadResponse? other) => other is not null && Conductances.SequenceEqual(other.Conductances);

    public override int GetHashCode() => Conductances.Count;
}

public sealed record WritePulseResponse(ushort PulsesApplied) : BoardResponse
{
    public override Opcode Opcode => Opcode.WritePulse;

    public override int PayloadLength => 2;

    public override void Write(ref PayloadWriter writer) => writer.U16(PulsesApplied);
}

/// <summary>PROGRAM: one status per cell (OK, OUT_OF_RANGE, CELL_STUCK).</summary>
public sealed record ProgramResponse(IReadOnlyList<StatusCode> Cells) : BoardResponse
{
    public override Opcode Opcode => Opcode.Program;

    public override int PayloadLength => 2 + Cells.Count;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Cells.Count);
        foreach (StatusCode s in Cells)
        {
            writer.U8((byte)s);
        }
    }

    public bool Equals(ProgramResponse? other) => other is not null && Cells.SequenceEqual(other.Cells);

    public override int GetHashCode() => Cells.Count;
}

public sealed record ProgramVerifyResponse(IReadOnlyList<VerifyOutcome> Outcomes) : BoardResponse
{
    public override Opcode Opcode => Opcode.ProgramVerify;

    public override int PayloadLength => 2 + Outcomes.Count * VerifyOutcome.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Outcomes.Count);
        foreach (VerifyOutcome o in Outcomes)
        {
            writer.U8((byte)o.Status);
            writer.U16(o.Iterations);
            writer.U16(o.Pulses);
            writer.F32(o.FinalMicrosiemens);
        }
    }

    public bool Equals(ProgramVerifyResponse? other) => other is not null && Outcomes.SequenceEqual(other.Outcomes);

    public override int GetHashCode() => Outcomes.Count;
}

public sealed record StatusResponse(BoardStatus Status) : BoardResponse
{
    public override Opcode Opcode => Opcode.Status;

    public override int PayloadLength => BoardStatus.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        BoardStatus s = Status;
        writer.U8(s.State);
        writer.U64(s.UptimeMicroseconds);
        writer.U64(s.DeviceTimeNs);
        writer.U32(s.FramesReceived);
        writer.U32(s.CrcErrors);
        writer.U32(s.FramingErrors);
        writer.U32(s.Replays);
        writer.U32(s.Executed);
        writer.U64(s.Pulses);
        writer.U64(s.Reads);
        writer.U64(s.VerifyIterations);
        writer.U32(s.Resets);
    }
}

public sealed record CountersResponse(IReadOnlyList<CellCounters> Cells) : BoardResponse
{
    public override Opcode Opcode => Opcode.Counters;

    public override int PayloadLength => 2 + Cells.Count * CellCounters.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Cells.Count);
        foreach (CellCounters c in Cells)
        {
            writer.U32(c.Pulses);
            writer.U32(c.Reads);
            writer.U64(c.DeviceTimeNs);
        }
    }

    public bool Equals(CountersResponse? other) => other is not null && Cells.SequenceEqual(other.Cells);

    public override int GetHashCode() => Cells.Count;
}

/// <summary>One sub-request's answer inside a BATCH response: its status and, when OK, its response.</summary>
public sealed record SubResponse(Opcode Opcode, StatusCode Status, BoardResponse? Response)
{
    public int PayloadLength => 4 + (Response?.PayloadLength ?? 0);
}

public sealed record BatchResponse(IReadOnlyList<SubResponse> Responses) : BoardResponse
{
    public override Opcode Opcode => Opcode.Batch;

    public override int PayloadLength => 2 + Responses.Sum(r => r.PayloadLength);

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Responses.Count);
        foreach (SubResponse sub in Responses)
        {
            writer.U8((byte)sub.Opcode);
            writer.U8((byte)sub.Status);
            writer.U16((ushort)(sub.Response?.PayloadLength ?? 0));
            sub.Response?.Write(ref writer);
        }
    }

    internal static BatchResponse Read(ref PayloadReader r)
    {
        int count = r.U16();
        var responses = new SubResponse[count];
        for (int i = 0; i < count; i++)
        {
            var opcode = (Opcode)r.U8();
            var status = (StatusCode)r.U8();
            ReadOnlySpan<byte> payload = r.Bytes(r.U16());
            responses[i] = new SubResponse(opcode, status, status == StatusCode.Ok ? Decode(opcode, payload) : null);
        }
        return new BatchResponse(responses);
    }

    public bool Equals(BatchResponse? other) => other is not null && Responses.SequenceEqual(other.Responses);

    public override int GetHashCode() => Responses.Count;
}
