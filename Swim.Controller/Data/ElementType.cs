using System.Buffers.Binary;

namespace Swim.Controller.Data;

/// <summary>The numeric element types Swim reads from .npy and IDX files.</summary>
public enum ElementType
{
    UInt8,
    Int8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float16,
    Float32,
    Float64,
}

/// <summary>Size, kind and conversion of each <see cref="ElementType"/>.</summary>
public static class ElementTypes
{
    public static int SizeOf(ElementType type) => type switch
    {
        ElementType.UInt8 or ElementType.Int8 => 1,
        ElementType.Int16 or ElementType.UInt16 or ElementType.Float16 => 2,
        ElementType.Int32 or ElementType.UInt32 or ElementType.Float32 => 4,
        _ => 8,
    };

    public static bool IsInteger(ElementType type) => type is not (ElementType.Float16 or ElementType.Float32 or ElementType.Float64);

    /// <summary>
    /// Converts elements to float features, as many as <paramref name="destination"/> holds. uint8 images are scaled by 1/255, the
    /// convention of every MNIST-style export; float data (16, 32 or 64 bits) is taken as it is.
    /// </summary>
    public static void ToFeatures(ReadOnlySpan<byte> source, ElementType type, bool bigEndian, Span<float> destination)
    {
        switch (type)
        {
            case ElementType.UInt8:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = source[i] / 255f;
                }
                break;
            case ElementType.Float16:
                for (int i = 0; i < destination.Length; i++)
                {
                    ReadOnlySpan<byte> s = source.Slice(i * 2, 2);
                    destination[i] = (float)(bigEndian ? BinaryPrimitives.ReadHalfBigEndian(s) : BinaryPrimitives.ReadHalfLittleEndian(s));
                }
                break;
            case ElementType.Float32:
                for (int i = 0; i < destination.Length; i++)
                {
                    ReadOnlySpan<byte> s = source.Slice(i * 4, 4);
                    destination[i] = bigEndian ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s);
                }
                break;
            case ElementType.Float64:
                for (int i = 0; i < destination.Length; i++)
                {
                    ReadOnlySpan<byte> s = source.Slice(i * 8, 8);
                    destination[i] = (float)(bigEndian ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s));
                }
                break;
            default:
                throw new ArgumentException($"{type} is not a feature type.", nameof(type));
        }
    }

    /// <summary>Reads one integer element as a label.</summary>
    public static long ToLabel(ReadOnlySpan<byte> s, ElementType type, bool bigEndian) => type switch
    {
        ElementType.UInt8 => s[0],
        ElementType.Int8 => (sbyte)s[0],
        ElementType.Int16 => bigEndian ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
        ElementType.UInt16 => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
        ElementType.Int32 => bigEndian ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
        ElementType.UInt32 => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
        ElementType.Int64 => bigEndian ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s),
        ElementType.UInt64 => checked((long)(bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s))),
        _ => throw new ArgumentException($"{type} is not an integer type.", nameof(type)),
    };
}
