namespace Swim.Protocol.Messages;

/// <summary>
/// PROGRAM_LEVELS: open-loop programming of a rectangle of one tile, row by row, each cell to a level index packed in
/// <see cref="BitsPerLevel"/> bits (the bits a cell needs, not an address and a float): a 16-level row of 256 cells is
/// 143 bytes of payload where PROGRAM takes 2,818. Boards with capability bit 4 implement it.
/// </summary>
public sealed record ProgramLevelsRequest : BoardRequest
{
    /// <summary>Bytes before the packed levels: origin cell, rows, columns, bits a level.</summary>
    public const int HeaderLength = CellAddress.WireLength + 2 + 2 + 1;

    public ProgramLevelsRequest(CellAddress origin, ushort rows, ushort columns, byte bitsPerLevel, IReadOnlyList<ushort> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (bitsPerLevel is < 1 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(bitsPerLevel), bitsPerLevel, "a level takes 1 to 16 bits.");
        }
        if (levels.Count != rows * columns)
        {
            throw new ArgumentException($"{levels.Count} levels for a rectangle of {rows} x {columns} cells.", nameof(levels));
        }
        if (levels.Any(l => l >> bitsPerLevel != 0))
        {
            throw new ArgumentException($"a level does not fit {bitsPerLevel} bits.", nameof(levels));
        }
        Origin = origin;
        Rows = rows;
        Columns = columns;
        BitsPerLevel = bitsPerLevel;
        Levels = levels;
    }

    public CellAddress Origin { get; }

    public ushort Rows { get; }

    public ushort Columns { get; }

    public byte BitsPerLevel { get; }

    /// <summary>Each cell's level index, row by row.</summary>
    public IReadOnlyList<ushort> Levels { get; }

    public override Opcode Opcode => Opcode.ProgramLevels;

    public override int ItemCount => Rows * Columns;  // the constructor holds a level for each: within int

    public override int MaxResponseLength => 2 + ItemCount * CellException.WireLength;

    public override int PayloadLength => HeaderLength + PackedLevels.Length(ItemCount, BitsPerLevel);

    /// <summary>The cells in the order their levels come: the rectangle row by row.</summary>
    public IEnumerable<CellAddress> Addresses() => CellAddress.Rectangle(Origin, Rows, Columns);

    public override void Write(ref PayloadWriter writer)
    {
        writer.Cell(Origin);
        writer.U16(Rows);
        writer.U16(Columns);
        writer.U8(BitsPerLevel);
        writer.Bytes(PackedLevels.Pack(Levels, BitsPerLevel));
    }

    internal static ProgramLevelsRequest Read(ref PayloadReader r)
    {
        CellAddress origin = r.Cell();
        ushort rows = r.U16(), columns = r.U16();
        byte bits = r.U8();
        if (bits is < 1 or > 16)
        {
            throw new MalformedPayloadException($"{bits} bits a level is not 1 to 16.");
        }
        long cells = (long)rows * columns;
        long want = (cells * bits + 7) / 8;
        if (r.Remaining != want)
        {
            throw new MalformedPayloadException($"{r.Remaining} bytes of levels for {cells} cells of {bits} bits (want {want}).");
        }
        int count = (int)cells;
        ushort[] levels = PackedLevels.Unpack(r.Bytes(r.Remaining), count, bits);
        return new ProgramLevelsRequest(origin, rows, columns, bits, levels);
    }

    public bool Equals(ProgramLevelsRequest? other) => other is not null && Origin == other.Origin && Rows == other.Rows && Columns == other.Columns
        && BitsPerLevel == other.BitsPerLevel && Levels.SequenceEqual(other.Levels);

    public override int GetHashCode() => HashCode.Combine(Origin, Rows, Columns, BitsPerLevel);
}

/// <summary>A cell of a PROGRAM_LEVELS rectangle that did not end OK: its place in the rectangle, row by row, and why. 3 bytes.</summary>
public readonly record struct CellException(ushort Index, StatusCode Status)
{
    public const int WireLength = 2 + 1;
}

/// <summary>PROGRAM_LEVELS's answer: only the cells that did not end OK (OUT_OF_RANGE, CELL_STUCK), in rectangle order; every other cell is OK.</summary>
public sealed record ProgramLevelsResponse(IReadOnlyList<CellException> Exceptions) : BoardResponse
{
    public override Opcode Opcode => Opcode.ProgramLevels;

    public override int PayloadLength => 2 + Exceptions.Count * CellException.WireLength;

    public override void Write(ref PayloadWriter writer)
    {
        writer.U16((ushort)Exceptions.Count);
        foreach (CellException e in Exceptions)
        {
            writer.U16(e.Index);
            writer.U8((byte)e.Status);
        }
    }

    /// <summary>Each cell's status, in rectangle order, for a rectangle of <paramref name="count"/> cells.</summary>
    public StatusCode[] Statuses(int count)
    {
        var statuses = new StatusCode[count];
        foreach (CellException e in Exceptions)
        {
            if (e.Index >= count)
            {
                throw new IOException($"PROGRAM_LEVELS answered for cell {e.Index} of a rectangle of {count}.");
            }
            statuses[e.Index] = e.Status;
        }
        return statuses;
    }

    public bool Equals(ProgramLevelsResponse? other) => other is not null && Exceptions.SequenceEqual(other.Exceptions);

    public override int GetHashCode() => Exceptions.Count;
}
