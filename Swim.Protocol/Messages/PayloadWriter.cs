using System.Buffers.Binary;

namespace Swim.Protocol.Messages;

/// <summary>Writes little-endian fields into a payload span.</summary>
public ref struct PayloadWriter
{
    private readonly Span<byte> _buffer;

    public PayloadWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        Position = 0;
    }

    public int Position { get; private set; }

    public void U8(byte value) => _buffer[Position++] = value;

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[Position..], value);
        Position += 2;
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[Position..], value);
        Position += 4;
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[Position..], value);
        Position += 8;
    }

    public void F32(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_buffer[Position..], value);
        Position += 4;
    }

    public void Cell(CellAddress cell)
    {
        U16(cell.Tile);
        U16(cell.Row);
        U16(cell.Column);
    }

    public void Bytes(scoped ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[Position..]);
        Position += bytes.Length;
    }
}
