using System.Buffers;
using System.Buffers.Binary;

namespace Swim.Protocol.Framing;

/// <summary>Builds wire frames: header, payload, CRC, COBS, delimiter.</summary>
public static class FrameEncoder
{
    /// <summary>
    /// Encodes a frame into <paramref name="destination"/>, which needs
    /// <see cref="ProtocolConstants.MaxWireLength"/> bytes; returns the bytes written.
    /// </summary>
    public static int Encode(Span<byte> destination, FrameFlags flags, uint sequence, byte opcode, byte status, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > ProtocolConstants.MaxPayloadLength)
        {
            throw new ArgumentException($"a payload of {payload.Length} bytes exceeds the protocol's {ProtocolConstants.MaxPayloadLength}.", nameof(payload));
        }
        int bodyLength = ProtocolConstants.HeaderLength + payload.Length + ProtocolConstants.CrcLength;
        byte[]? rented = null;
        Span<byte> body = bodyLength <= 512 ? stackalloc byte[bodyLength] : (rented = ArrayPool<byte>.Shared.Rent(bodyLength)).AsSpan(0, bodyLength);
        try
        {
            body[ProtocolConstants.VersionOffset] = ProtocolConstants.Version;
            body[ProtocolConstants.FlagsOffset] = (byte)flags;
            BinaryPrimitives.WriteUInt32LittleEndian(body[ProtocolConstants.SequenceOffset..], sequence);
            body[ProtocolConstants.OpcodeOffset] = opcode;
            body[ProtocolConstants.StatusOffset] = status;
            BinaryPrimitives.WriteUInt16LittleEndian(body[ProtocolConstants.LengthOffset..], (ushort)payload.Length);
            payload.CopyTo(body[ProtocolConstants.HeaderLength..]);
            int crcAt = ProtocolConstants.HeaderLength + payload.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(body[crcAt..], FrameCrc.Compute(body[..crcAt]));
            int written = Cobs.Encode(body, destination);
            destination[written++] = ProtocolConstants.Delimiter;
            return written;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Encodes a frame into a new array (for tests, vectors and rare messages).</summary>
    public static byte[] Encode(FrameFlags flags, uint sequence, byte opcode, byte status, ReadOnlySpan<byte> payload)
    {
        var buffer = new byte[ProtocolConstants.MaxWireLength(payload.Length)];
        int length = Encode(buffer, flags, sequence, opcode, status, payload);
        return buffer[..length];
    }
}
