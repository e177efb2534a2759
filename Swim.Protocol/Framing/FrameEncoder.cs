using System.Buffers;
using System.Buffers.Binary;

namespace Swim.Protocol.Framing;

/// <summary>Builds wire frames: header, payload, CRC, COBS, delimiter.</summary>
public static class FrameEncoder
{
    /// <summary>
    /// Encodes a frame into <paramref name="destination"/>, which needs
    /// <see cref="ProtocolConstants.MaxWireLength"/> bytes; returns the bytes written. Version 1 has no session field.
    /// </summary>
    public static int Encode(Span<byte> destination, FrameFlags flags, uint sequence, byte opcode, byte status, ReadOnlySpan<byte> payload,
        byte version = ProtocolConstants.Version1, ushort session = ProtocolConstants.NoSession)
    {
        if (!ProtocolConstants.IsKnown(version))
        {
            throw new ArgumentOutOfRangeException(nameof(version), $"protocol version {version} is not one this code speaks (1 or 2).");
        }
        if (version == ProtocolConstants.Version1 && session != ProtocolConstants.NoSession)
        {
            throw new ArgumentException("version 1 frames carry no session.", nameof(session));
        }
        int header = ProtocolConstants.HeaderLength(version);
        if (payload.Length > ProtocolConstants.MaxPayloadLengthOf(version))
        {
            throw new ArgumentException($"a payload of {payload.Length} bytes exceeds the protocol's {ProtocolConstants.MaxPayloadLengthOf(version)}.", nameof(payload));
        }
        int bodyLength = header + payload.Length + ProtocolConstants.CrcLength;
        byte[]? rented = null;
        Span<byte> body = bodyLength <= 512 ? stackalloc byte[bodyLength] : (rented = ArrayPool<byte>.Shared.Rent(bodyLength)).AsSpan(0, bodyLength);
        try
        {
            body[ProtocolConstants.VersionOffset] = version;
            body[ProtocolConstants.FlagsOffset] = (byte)flags;
            if (version != ProtocolConstants.Version1)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(body[ProtocolConstants.SessionOffset..], session);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(body[ProtocolConstants.SequenceOffset(version)..], sequence);
            body[ProtocolConstants.OpcodeOffset(version)] = opcode;
            body[ProtocolConstants.StatusOffset(version)] = status;
            BinaryPrimitives.WriteUInt16LittleEndian(body[ProtocolConstants.LengthOffset(version)..], (ushort)payload.Length);
            payload.CopyTo(body[header..]);
            int crcAt = header + payload.Length;
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
    public static byte[] Encode(FrameFlags flags, uint sequence, byte opcode, byte status, ReadOnlySpan<byte> payload,
        byte version = ProtocolConstants.Version1, ushort session = ProtocolConstants.NoSession)
    {
        var buffer = new byte[ProtocolConstants.MaxWireLength(payload.Length)];
        int length = Encode(buffer, flags, sequence, opcode, status, payload, version, session);
        return buffer[..length];
    }

    /// <summary>Encodes a response to <paramref name="request"/>: its version, session, sequence number and opcode.</summary>
    public static byte[] Answer(in Frame request, FrameFlags flags, byte opcode, byte status, ReadOnlySpan<byte> payload) =>
        Encode(FrameFlags.Response | flags, request.Sequence, opcode, status, payload, request.Version, request.Session);
}
