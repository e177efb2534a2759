namespace Swim.Protocol.Messages;

/// <summary>
/// READ_CODES: a rectangle of one tile read row by row, answered as ADC codes of <see cref="CodeBits"/> bits (8 or 16)
/// with one scale for all of them, instead of a float a cell. Boards with capability bit 5 implement it.
/// </summary>
public sealed record ReadCodesRequest(CellAddress Origin, ushort Rows, ushort Columns, byte Samples, byte CodeBits) : BoardRequest
{
    public override bool Changes => false;


    public const int WireLength = CellAddress.WireLength + 2 + 2 + 1 + 1;

    public override Opcode Opcode => Opcode.ReadCodes;

    public override int ItemCount => (int)Math.Min(int.MaxValue, (long)Rows * Columns);

    public override int MaxResponseLength => (int)Math.Min(int.MaxValue, ReadCodesResponse.HeaderLength + (long)ItemCount * (CodeBits == 8 ? 1 : 2));

    public override int PayloadLength => WireLength;

    /// <summary>The cells in the order their codes come: the rectangle row by row.</summary>
    public IEnumerable<CellAddress> Addresses() => CellAddress.Rectangle(Origin, Rows, Columns);

    public override void Write(ref PayloadWriter writer)
    {
        writer.Cell(Origin);
        writer.U16(Rows);
        writer.U16(Columns);
        writer.U8(Samples);
        writer.U8(CodeBits);
    }

    internal static ReadCodesRequest Read(ref PayloadReader r)
    {
        var request = new ReadCodesRequest(r.Cell(), r.U16(), r.U16(), r.U8(), r.U8());
        return request.CodeBits is 8 or 16 ? request : throw new MalformedPayloadException($"{request.CodeBits}-bit codes: READ_CODES answers 8 or 16.");
    }
}

/// <summary>
/// READ_CODES's answer: conductance = <see cref="ZeroMicrosiemens"/> + code x <see cref="StepMicrosiemens"/>, one code
/// a cell (u8 or u16, as asked), row by row.
/// </summary>
public sealed record ReadCodesResponse(float ZeroMicrosiemens, float StepMicrosiemens, byte CodeBits, IReadOnlyList<ushort> Codes) : BoardResponse
{
    /// <summary>Zero, step, code bits and count before the codes.</summary>
    public const int HeaderLength = 4 + 4 + 1 + 2;

    public override Opcode Opcode => Opcode.ReadCodes;

    public override int PayloadLength => HeaderLength + Codes.Count * (CodeBits == 8 ? 1 : 2);

    /// <summary>The conductances the codes stand for, microsiemens.</summary>
    public float[] Conductances() => [.. Codes.Select(c => ZeroMicrosiemens + c * StepMicrosiemens)];

    public override void Write(ref PayloadWriter writer)
    {
        writer.F32(ZeroMicrosiemens);
        writer.F32(StepMicrosiemens);
        writer.U8(CodeBits);
        writer.U16((ushort)Codes.Count);
        foreach (ushort code in Codes)
        {
            if (CodeBits == 8)
            {
                writer.U8((byte)code);
            }
            else
            {
                writer.U16(code);
            }
        }
    }

    internal static ReadCodesResponse Read(ref PayloadReader r)
    {
        float zero = r.F32(), step = r.F32();
        byte bits = r.U8();
        if (bits is not (8 or 16))
        {
            throw new MalformedPayloadException($"{bits}-bit codes: READ_CODES answers 8 or 16.");
        }
        int count = r.U16();
        var codes = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            codes[i] = bits == 8 ? r.U8() : r.U16();
        }
        return new ReadCodesResponse(zero, step, bits, codes);
    }

    public bool Equals(ReadCodesResponse? other) => other is not null && ZeroMicrosiemens.Equals(other.ZeroMicrosiemens) && StepMicrosiemens.Equals(other.StepMicrosiemens)
        && CodeBits == other.CodeBits && Codes.SequenceEqual(other.Codes);

    public override int GetHashCode() => HashCode.Combine(ZeroMicrosiemens, StepMicrosiemens, CodeBits, Codes.Count);
}
