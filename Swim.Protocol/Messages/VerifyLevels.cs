namespace Swim.Protocol.Messages;

/// <summary>
/// VERIFY_LEVELS: the board's write-verify loop over the cells of a rectangle of one tile that a mask selects, each to
/// the conductance of a level index packed in <see cref="BitsPerLevel"/> bits, with one tolerance and one iteration
/// limit for all: the bulk form of PROGRAM_VERIFY, for verifying a selection spread over rows. A tenth of ten rows of
/// 256 cells (256 cells verified, 2-bit levels) is 401 bytes where PROGRAM_VERIFY takes 4,098. Boards with capability
/// bit 6 implement it.
/// </summary>
public sealed record VerifyLevelsRequest : BoardRequest
{
    /// <summary>Bytes before the mask: origin cell, rows, columns, bits a level, tolerance, iteration limit.</summary>
    public const int HeaderLength = CellAddress.WireLength + 2 + 2 + 1 + 4 + 2;

    public VerifyLevelsRequest(CellAddress origin, ushort rows, ushort columns, byte bitsPerLevel, float toleranceMicrosiemens, ushort maxIterations,
        IReadOnlyList<bool> mask, IReadOnlyList<ushort> levels)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(levels);
        if (bitsPerLevel is < 1 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(bitsPerLevel), bitsPerLevel, "a level takes 1 to 16 bits.");
        }
        if (mask.Count != rows * columns || levels.Count != mask.Count(m => m) || levels.Any(l => l >> bitsPerLevel != 0))
        {
            throw new ArgumentException($"a mask of {rows} x {columns} cells and a level, of {bitsPerLevel} bits, for each cell it selects.", nameof(levels));
        }
        Origin = origin;
        Rows = rows;
        Columns = columns;
        BitsPerLevel = bitsPerLevel;
        ToleranceMicrosiemens = toleranceMicrosiemens;
        MaxIterations = maxIterations;
        Mask = mask;
        Levels = levels;
    }

    public CellAddress Origin { get; }

    public ushort Rows { get; }

    public ushort Columns { get; }

    public byte BitsPerLevel { get; }

    public float ToleranceMicrosiemens { get; }

    public ushort MaxIterations { get; }

    /// <summary>Which cells of the rectangle, row by row, are verified.</summary>
    public IReadOnlyList<bool> Mask { get; }

    /// <summary>The level of each selected cell, in rectangle order.</summary>
    public IReadOnlyList<ushort> Levels { get; }

    public override Opcode Opcode => Opcode.VerifyLevels;

    /// <summary>The cells verified, held to max_batch; the rectangle itself is bounded only by the payload its mask takes.</summary>
    public override int ItemCount => Levels.Count;

    public override int MaxResponseLength => 2 + Levels.Count * VerifyLevelsOutcome.WireLength;

    public override int PayloadLength => HeaderLength + (Mask.Count + 7) / 8 + PackedLevels.Length(Levels.Count, BitsPerLevel);

    /// <summary>The selected cells, in the order they are verified and answered: the rectangle row by row.</summary>
    public IEnumerable<CellAddress> Selected() => Enumerable.Range(0, Mask.Count).Where(i => Mask[i])
        .Select(i => new CellAddress(Origin.Tile, (ushort)(Origin.Row + i / Columns), (ushort)(Origin.Column + i % Columns)));

    public override void Write(ref PayloadWriter writer)
    {
        writer.Cell(Origin);
        writer.U16(Rows);
        writer.U16(Columns);
        writer.U8(BitsPerLevel);
        writer.F32(ToleranceMicrosiemens);
        writer.U16(MaxIterations);
        Span<byte> mask = new byte[(Mask.Count + 7) / 8];
        for (int i = 0; i < Mask.Count; i++)
        {
            if (Mask[i])
            {
                mask[i >> 3] |= (byte)(1 << (i & 7));
            }
        }
        writer.Bytes(mask);
        writer.Bytes(PackedLevels.Pack(Levels, BitsPerLevel));
    }

    internal static VerifyLevelsRequest Read(ref PayloadReader r)
    {
        CellAddress origin = r.Cell();
        ushort rows = r.U16(), columns = r.U16();
        byte bits = r.U8();
        float tolerance = r.F32();
        ushort maxIterations = r.U16();
        if (bits is < 1 or > 16)
        {
            throw new MalformedPayloadException($"{bits} bits a level is not 1 to 16.");
        }
        long cells = (long)rows * columns;
        long maskBytes = (cells + 7) / 8;
        if (r.Remaining < maskBytes)
        {
            throw new MalformedPayloadException($"{r.Remaining} bytes left for the mask of {cells} cells.");
        }
        ReadOnlySpan<byte> maskBits = r.Bytes((int)maskBytes);
        var mask = new bool[cells];
        int selected = 0;
        for (int i = 0; i < cells; i++)
        {
            mask[i] = (maskBits[i >> 3] >> (i & 7) & 1) != 0;
            selected += mask[i] ? 1 : 0;
        }
        if (cells % 8 != 0 && maskBits[^1] >> (int)(cells % 8) != 0)
        {
            throw new MalformedPayloadException("the bits after the mask's last cell are not 0.");
        }
        if (r.Remaining != PackedLevels.Length(selected, bits))
        {
            throw new MalformedPayloadException($"{r.Remaining} bytes of levels for {selected} selected cells of {bits} bits.");
        }
        ushort[] levels = PackedLevels.Unpack(r.Bytes(r.Remaining), selected, bits);
        return new VerifyLevelsRequest(origin, rows, columns, bits, tolerance, maxIterations, mask, levels);
    }

    public bool Equals(VerifyLevelsRequest? other) => other is not null && Origin == other.Origin && Rows == other.Rows && Columns == other.Columns
        && BitsPerLevel == other.BitsPerLevel && ToleranceMicrosiemens.Equals(other.ToleranceMicrosiemens) && MaxIterations == other.MaxIterations
        && Mask.SequenceEqual(other.Mask) && Levels.SequenceEqual(other.Levels);

    public override int GetHashCode() => HashCode.Combine(Origin, Rows, Columns, BitsPerLevel, Levels.Count);
}

/// <summary>How one selected cell's write-verify ended: status and iterations. 3 bytes.</summary>
public readonly record struct VerifyLevelsOutcome(StatusCode Status, ushort Iterations)
{
    public const int WireLength = 1 + 2;
}

/// <summary>VERIFY_LEVELS's answer: an outcome for each selected cell, in rectangle order.</summary>
public sealed record VerifyLevelsResponse(IReadOnlyList<VerifyLevelsOutcome> Outcomes) : BoardResponse
{
    public override Opcode Opcode => Opcode.VerifyLevels;

    public override int PayloadLength => 2 + Outcomes.Count * VerifyLevelsOutcome.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Outcomes.Count);
        foreach (VerifyLevelsOutcome o in Outcomes)
        {
            writer.U8((byte)o.Status);
            writer.U16(o.Iterations);
        }
    }

    public bool Equals(VerifyLevelsResponse? other) => other is not null && Outcomes.SequenceEqual(other.Outcomes);

    public override int GetHashCode() => Outcomes.Count;
}
