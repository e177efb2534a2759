namespace Swim.Protocol.Messages;

/// <summary>A command from host to board. Each knows its opcode and payload layout, both ways.</summary>
public abstract record BoardRequest
{
    public abstract Opcode Opcode { get; }

    public abstract int PayloadLength { get; }

    /// <summary>Cells (or sub-requests) the request carries, checked against the board's maximum batch.</summary>
    public virtual int ItemCount => 0;

    /// <summary>
    /// The longest answer payload this request can draw (with status OK): known before anything runs, so a board
    /// refuses a request whose answer could not be framed instead of running it and falling silent.
    /// </summary>
    public abstract int MaxResponseLength { get; }

    /// <summary>
    /// Whether the request can change the array or the board's state (version 2: only the write lease's session may
    /// send it). IDENTIFY, STATUS, READ, READ_CODES, COUNTERS and OPEN do not; a BATCH does when any part does.
    /// </summary>
    public virtual bool Changes => true;

    public abstract void Write(ref PayloadWriter writer);

    public byte[] ToPayload()
    {
        var payload = new byte[PayloadLength];
        var writer = new PayloadWriter(payload);
        Write(ref writer);
        return payload;
    }

    /// <summary>Parses a request payload (board side); throws <see cref="MalformedPayloadException"/> when it does not fit the layout.</summary>
    public static BoardRequest Decode(Opcode opcode, ReadOnlySpan<byte> payload, bool insideBatch = false)
    {
        var r = new PayloadReader(payload);
        BoardRequest request = opcode switch
        {
            Opcode.Identify => new IdentifyRequest(),
            Opcode.Reset => new ResetRequest((r.U8() & 1) != 0),
            Opcode.Read => ReadRequest.Read(ref r),
            Opcode.WritePulse => new WritePulseRequest(ReadList(ref r, (ref PayloadReader x) => new Pulse(x.Cell(), ReadPolarity(ref x), x.F32(), x.U32()))),
            Opcode.Program => new ProgramRequest(ReadList(ref r, (ref PayloadReader x) => new ProgramTarget(x.Cell(), ReadKind(ref x), x.F32()))),
            Opcode.ProgramVerify => new ProgramVerifyRequest(ReadList(ref r, (ref PayloadReader x) => new VerifyTarget(x.Cell(), x.F32(), x.F32(), x.U16()))),
            Opcode.Batch when insideBatch => throw new NestedBatchException(),
            Opcode.Batch => BatchRequest.Read(ref r),
            Opcode.Status => new StatusRequest(),
            Opcode.Counters => new CountersRequest(ReadList(ref r, (ref PayloadReader x) => x.Cell())),
            Opcode.ProgramLevels => ProgramLevelsRequest.Read(ref r),
            Opcode.ReadCodes => ReadCodesRequest.Read(ref r),
            Opcode.VerifyLevels => VerifyLevelsRequest.Read(ref r),
            Opcode.Open when insideBatch => throw new MalformedPayloadException("OPEN cannot go inside a BATCH: it is sent outside any session."),
            Opcode.Open => OpenRequest.Read(ref r),
            Opcode.Close when insideBatch => throw new MalformedPayloadException("CLOSE cannot go inside a BATCH: it ends the session the BATCH runs in."),
            Opcode.Close => new CloseRequest(),
            _ => throw new UnknownOpcodeException((byte)opcode),
        };
        r.End();
        return request;
    }

    internal delegate T ItemReader<out T>(ref PayloadReader reader);

    internal static T[] ReadList<T>(ref PayloadReader r, ItemReader<T> item)
    {
        int count = r.U16();
        var items = new T[count];
        for (int i = 0; i < count; i++)
        {
            items[i] = item(ref r);
        }
        return items;
    }

    private static PulsePolarity ReadPolarity(ref PayloadReader r) =>
        r.U8() is var p && p <= 1 ? (PulsePolarity)p : throw new MalformedPayloadException($"pulse polarity {p} is neither 0 (SET) nor 1 (RESET).");

    private static TargetKind ReadKind(ref PayloadReader r) =>
        r.U8() is var k && k <= 1 ? (TargetKind)k : throw new MalformedPayloadException($"target kind {k} is neither 0 (level) nor 1 (conductance).");
}

/// <summary>An opcode the receiver does not know.</summary>
public sealed class UnknownOpcodeException(byte opcode) : Exception($"opcode 0x{opcode:X2} is not a command of this protocol.")
{
    public byte Opcode { get; } = opcode;
}

/// <summary>A BATCH inside a BATCH.</summary>
public sealed class NestedBatchException() : Exception("a BATCH may not contain another BATCH.");

public sealed record IdentifyRequest : BoardRequest
{
    public override bool Changes => false;


    public override int MaxResponseLength => BoardInfo.MaxWireLength;

    public override Opcode Opcode => Opcode.Identify;

    public override int PayloadLength => 0;


    public override void Write(ref PayloadWriter writer) { }
}

/// <summary>RESET: the board drops volatile state and its response cache; conductances are kept.</summary>
public sealed record ResetRequest(bool ClearCounters) : BoardRequest
{
    public override int MaxResponseLength => 0;

    public override Opcode Opcode => Opcode.Reset;

    public override int PayloadLength => 1;

    public override void Write(ref PayloadWriter writer) => writer.U8(ClearCounters ? (byte)1 : (byte)0);
}

public sealed record StatusRequest : BoardRequest
{
    public override bool Changes => false;


    public override int MaxResponseLength => BoardStatus.WireLength;

    public override Opcode Opcode => Opcode.Status;

    public override int PayloadLength => 0;

    public override void Write(ref PayloadWriter writer) { }
}

/// <summary>READ of a list of cells or of a rectangle of one tile; each result averages <see cref="Samples"/> reads.</summary>
public sealed record ReadRequest : BoardRequest
{
    public override bool Changes => false;


    private ReadRequest(IReadOnlyList<CellAddress>? cells, CellAddress origin, ushort rows, ushort columns, byte samples)
    {
        CellList = cells;
        Origin = origin;
        RectangleRows = rows;
        RectangleColumns = columns;
        Samples = samples;
    }

    /// <summary>The cells, for a list read; null for a rectangle.</summary>
    public IReadOnlyList<CellAddress>? CellList { get; }

    public CellAddress Origin { get; }

    public ushort RectangleRows { get; }

    public ushort RectangleColumns { get; }

    public byte Samples { get; }

    public override Opcode Opcode => Opcode.Read;

    /// <remarks>A rectangle's rows times columns can pass int's range (65,535 squared): counted in long, capped.</remarks>
    public override int ItemCount => CellList?.Count ?? (int)Math.Min(int.MaxValue, (long)RectangleRows * RectangleColumns);

    public override int MaxResponseLength => (int)Math.Min(int.MaxValue, 2 + 4L * ItemCount);

    public override int PayloadLength => 2 + (CellList is null ? 10 : 2 + CellList.Count * CellAddress.WireLength);

    public static ReadRequest Cells(IReadOnlyList<CellAddress> cells, byte samples = 1) => new(cells, default, 0, 0, samples);

    public static ReadRequest Rectangle(CellAddress origin, ushort rows, ushort columns, byte samples = 1) => new(null, origin, rows, columns, samples);

    /// <summary>The cells in the order results come back: the list as given, or the rectangle row by row.</summary>
    public IEnumerable<CellAddress> Addresses()
    {
        if (CellList is not null)
        {
            return CellList;
        }
        return CellAddress.Rectangle(Origin, RectangleRows, RectangleColumns);
    }

    public override void Write(ref PayloadWriter writer)
    {
        writer.U8(CellList is null ? (byte)1 : (byte)0);
        writer.U8(Samples);
        if (CellList is null)
        {
            writer.Cell(Origin);
            writer.U16(RectangleRows);
            writer.U16(RectangleColumns);
            return;
        }
        writer.U16((ushort)CellList.Count);
        foreach (CellAddress cell in CellList)
        {
            writer.Cell(cell);
        }
    }

    internal static ReadRequest Read(ref PayloadReader r)
    {
        byte mode = r.U8();
        byte samples = r.U8();
        return mode switch
        {
            0 => Cells(ReadList(ref r, (ref PayloadReader x) => x.Cell()), samples),
            1 => Rectangle(r.Cell(), r.U16(), r.U16(), samples),
            _ => throw new MalformedPayloadException($"READ mode {mode} is neither 0 (list) nor 1 (rectangle)."),
        };
    }

    public bool Equals(ReadRequest? other) => other is not null && Samples == other.Samples && Origin == other.Origin
        && RectangleRows == other.RectangleRows && RectangleColumns == other.RectangleColumns
        && (CellList is null ? other.CellList is null : other.CellList is not null && CellList.SequenceEqual(other.CellList));

    public override int GetHashCode() => HashCode.Combine(Samples, Origin, RectangleRows, RectangleColumns, CellList?.Count);
}

public sealed record WritePulseRequest(IReadOnlyList<Pulse> Pulses) : BoardRequest
{
    public override Opcode Opcode => Opcode.WritePulse;

    public override int ItemCount => Pulses.Count;

    public override int MaxResponseLength => 2;

    public override int PayloadLength => 2 + Pulses.Count * Pulse.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Pulses.Count);
        foreach (Pulse p in Pulses)
        {
            writer.Cell(p.Cell);
            writer.U8((byte)p.Polarity);
            writer.F32(p.AmplitudeVolts);
            writer.U32(p.WidthNs);
        }
    }

    public bool Equals(WritePulseRequest? other) => other is not null && Pulses.SequenceEqual(other.Pulses);

    public override int GetHashCode() => Pulses.Count;
}

public sealed record ProgramRequest(IReadOnlyList<ProgramTarget> Targets) : BoardRequest
{
    public override Opcode Opcode => Opcode.Program;

    public override int ItemCount => Targets.Count;

    public override int MaxResponseLength => 2 + Targets.Count;

    public override int PayloadLength => 2 + Targets.Count * ProgramTarget.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Targets.Count);
        foreach (ProgramTarget t in Targets)
        {
            writer.Cell(t.Cell);
            writer.U8((byte)t.Kind);
            writer.F32(t.Value);
        }
    }

    public bool Equals(ProgramRequest? other) => other is not null && Targets.SequenceEqual(other.Targets);

    public override int GetHashCode() => Targets.Count;
}

public sealed record ProgramVerifyRequest(IReadOnlyList<VerifyTarget> Targets) : BoardRequest
{
    public override Opcode Opcode => Opcode.ProgramVerify;

    public override int ItemCount => Targets.Count;

    public override int MaxResponseLength => 2 + Targets.Count * VerifyOutcome.WireLength;

    public override int PayloadLength => 2 + Targets.Count * VerifyTarget.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Targets.Count);
        foreach (VerifyTarget t in Targets)
        {
            writer.Cell(t.Cell);
            writer.F32(t.TargetMicrosiemens);
            writer.F32(t.ToleranceMicrosiemens);
            writer.U16(t.MaxIterations);
        }
    }

    public bool Equals(ProgramVerifyRequest? other) => other is not null && Targets.SequenceEqual(other.Targets);

    public override int GetHashCode() => Targets.Count;
}

public sealed record CountersRequest(IReadOnlyList<CellAddress> Cells) : BoardRequest
{
    public override bool Changes => false;


    public override Opcode Opcode => Opcode.Counters;

    public override int ItemCount => Cells.Count;

    public override int MaxResponseLength => 2 + Cells.Count * CellCounters.WireLength;

    public override int PayloadLength => 2 + Cells.Count * CellAddress.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Cells.Count);
        foreach (CellAddress cell in Cells)
        {
            writer.Cell(cell);
        }
    }

    public bool Equals(CountersRequest? other) => other is not null && Cells.SequenceEqual(other.Cells);

    public override int GetHashCode() => Cells.Count;
}

/// <summary>Several requests in one frame; the board executes them in order and answers each with its own status.</summary>
public sealed record BatchRequest(IReadOnlyList<BoardRequest> Requests) : BoardRequest
{
    public override bool Changes => Requests.Any(r => r.Changes);


    public override Opcode Opcode => Opcode.Batch;

    public override int ItemCount => Requests.Count;

    /// <summary>Each sub-response is opcode, status and length (4 bytes) before its payload.</summary>
    public override int MaxResponseLength => 2 + Requests.Sum(r => 4 + r.MaxResponseLength);

    public override int PayloadLength => 2 + Requests.Sum(r => 3 + r.PayloadLength);

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Requests.Count);
        foreach (BoardRequest request in Requests)
        {
            if (request is BatchRequest)
            {
                throw new NestedBatchException();
            }
            writer.U8((byte)request.Opcode);
            writer.U16((ushort)request.PayloadLength);
            request.Write(ref writer);
        }
    }

    internal static BatchRequest Read(ref PayloadReader r)
    {
        int count = r.U16();
        var requests = new BoardRequest[count];
        for (int i = 0; i < count; i++)
        {
            var opcode = (Opcode)r.U8();
            int length = r.U16();
            requests[i] = DecodePart(opcode, r.Bytes(length));
        }
        return new BatchRequest(requests);
    }

    /// <summary>A sub-request that does not decode is refused on its own (its status in its sub-response); the rest still run.</summary>
    private static BoardRequest DecodePart(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        try
        {
            return Decode(opcode, payload, insideBatch: true);
        }
        catch (UnknownOpcodeException)
        {
            return new UndecodableRequest(opcode, StatusCode.UnknownOpcode, payload.ToArray());
        }
        catch (MalformedPayloadException)
        {
            return new UndecodableRequest(opcode, StatusCode.Malformed, payload.ToArray());
        }
        catch (NestedBatchException)
        {
            return new UndecodableRequest(opcode, StatusCode.NestedBatch, payload.ToArray());
        }
    }

    public bool Equals(BatchRequest? other) => other is not null && Requests.SequenceEqual(other.Requests);

    public override int GetHashCode() => Requests.Count;
}

/// <summary>
/// A BATCH's sub-request the board could not decode, kept with the refusal it draws (UNKNOWN_OPCODE, MALFORMED or
/// NESTED_BATCH) and its bytes as they came, so that the BATCH answers it in its place and runs the others.
/// </summary>
public sealed record UndecodableRequest(Opcode RawOpcode, StatusCode Refusal, byte[] Payload) : BoardRequest
{
    public override bool Changes => false;


    public override Opcode Opcode => RawOpcode;

    public override int MaxResponseLength => 0;

    public override int PayloadLength => Payload.Length;

    public override void Write(ref PayloadWriter writer) => writer.Bytes(Payload);

    public bool Equals(UndecodableRequest? other) => other is not null && RawOpcode == other.RawOpcode && Refusal == other.Refusal && Payload.AsSpan().SequenceEqual(other.Payload);

    public override int GetHashCode() => HashCode.Combine(RawOpcode, Refusal, Payload.Length);
}
