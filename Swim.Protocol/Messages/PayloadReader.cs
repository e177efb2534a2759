using System.Buffers.Binary;

namespace Swim.Protocol.Messages;

/// <summary>Reads little-endian fields from a payload; running short throws <see cref="MalformedPayloadException"/>.</summary>
public ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _buffer;

    public PayloadReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public float F32() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public CellAddress Cell() => new(U16(), U16(), U16());

    public ReadOnlySpan<byte> Bytes(int count) => Take(count);

    /// <summary>Throws unless every byte was read: trailing bytes mean the sender and reader disagree on the layout.</summary>
    public readonly void End()
    {
        if (Remaining != 0)
        {
            throw new MalformedPayloadException($"{Remaining} bytes follow the end of the payload's layout.");
        }
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (Remaining < count)
        {
            throw new MalformedPayloadException($"the payload ends {count - Remaining} bytes early.");
        }
        ReadOnlySpan<byte> span = _buffer.Slice(Position, count);
        Position += count;
        return span;
    }
}

/// <summary>A payload that does not match its opcode's layout.</summary>
public sealed class MalformedPayloadException(string message) : Exception(message);
