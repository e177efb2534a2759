using System.Buffers.Binary;

namespace Swim.Protocol.Framing;

/// <summary>
/// Turns a byte stream into frames. Bytes accumulate until a delimiter; the block is COBS-decoded and
/// checked (length, CRC, version). Anything wrong drops that block only, so after garbage the decoder is
/// back in step at the next delimiter. Buffers are allocated once; decoding allocates nothing per frame.
/// </summary>
public sealed class FrameDecoder
{
    private readonly byte[] _raw;
    private readonly byte[] _body;
    private int _rawLength;
    private bool _overflowed;

    /// <param name="onlyVersion">A board's decoder: frames of any other version are refused BAD_VERSION. Null (a host's): either version.</param>
    public FrameDecoder(int maxPayloadLength = ProtocolConstants.MaxPayloadLength, byte? onlyVersion = null)
    {
        if (onlyVersion is { } only && !ProtocolConstants.IsKnown(only))
        {
            throw new ArgumentOutOfRangeException(nameof(onlyVersion));
        }
        OnlyVersion = onlyVersion;
        if (maxPayloadLength is < 0 or > ProtocolConstants.MaxPayloadLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxPayloadLength));
        }
        MaxPayloadLength = maxPayloadLength;
        // Room for any frame the header can describe, not just the largest accepted: a request over the limit is
        // still checked whole and refused BAD_LENGTH to its sender, instead of vanishing as noise would.
        _raw = new byte[ProtocolConstants.MaxWireLength(ProtocolConstants.MaxPayloadLength)];
        _body = new byte[_raw.Length];
    }

    public int MaxPayloadLength { get; }

    public byte? OnlyVersion { get; }

    /// <summary>
    /// Consumes <paramref name="input"/> up to and including the next delimiter. Returns true when a block
    /// ended: then either <paramref name="error"/> is <see cref="FrameError.None"/> and <paramref name="frame"/>
    /// is valid (until the next call), or the block was dropped for <paramref name="error"/>. Returns false when
    /// the input ran out inside a block, which is kept for the next call.
    /// </summary>
    /// <param name="sequenceHint">
    /// For a bad CRC, version or length, the sequence number as received (it may itself be damaged); then
    /// <paramref name="frame"/> holds the header as received (version, session, sequence), with no opcode or payload,
    /// so that a refusal can be framed in a version its sender reads.
    /// </param>
    public bool TryDecode(ref ReadOnlySpan<byte> input, out Frame frame, out FrameError error, out uint? sequenceHint)
    {
        frame = default;
        error = FrameError.None;
        sequenceHint = null;
        while (true)
        {
            int delimiter = input.IndexOf(ProtocolConstants.Delimiter);
            ReadOnlySpan<byte> chunk = delimiter < 0 ? input : input[..delimiter];
            if (!_overflowed)
            {
                if (_rawLength + chunk.Length > _raw.Length)
                {
                    _overflowed = true;
                }
                else
                {
                    chunk.CopyTo(_raw.AsSpan(_rawLength));
                    _rawLength += chunk.Length;
                }
            }
            if (delimiter < 0)
            {
                input = default;
                return false;
            }
            input = input[(delimiter + 1)..];
            if (_overflowed)
            {
                _overflowed = false;
                _rawLength = 0;
                error = FrameError.TooLong;
                return true;
            }
            if (_rawLength == 0)
            {
                // Back-to-back delimiters: idle filler (SPI) or the leading delimiter a sender may add.
                continue;
            }
            error = Check(out frame, out sequenceHint);
            _rawLength = 0;
            return true;
        }
    }

    /// <summary>Drops any partial block, e.g. after the link was reopened.</summary>
    public void Reset()
    {
        _rawLength = 0;
        _overflowed = false;
    }

    private FrameError Check(out Frame frame, out uint? sequenceHint)
    {
        frame = default;
        sequenceHint = null;
        if (!Cobs.TryDecode(_raw.AsSpan(0, _rawLength), _body, out int length))
        {
            return FrameError.Cobs;
        }
        byte version = length > 0 ? _body[ProtocolConstants.VersionOffset] : (byte)0;
        // A version 1 board knows no other header, so it reads every frame as version 1 (and answers BAD_VERSION in it); others
        // read a known version's header as that version's, so the refusal goes back in framing its sender reads.
        byte layout = OnlyVersion == ProtocolConstants.Version1 ? ProtocolConstants.Version1
            : ProtocolConstants.IsKnown(version) ? version : OnlyVersion ?? ProtocolConstants.Version;
        int header = ProtocolConstants.HeaderLength(layout);
        if (length < header + ProtocolConstants.CrcLength)
        {
            return FrameError.TooShort;
        }
        ReadOnlySpan<byte> body = _body.AsSpan(0, length);
        ushort session = layout == ProtocolConstants.Version1 ? ProtocolConstants.NoSession : BinaryPrimitives.ReadUInt16LittleEndian(body[ProtocolConstants.SessionOffset..]);
        uint sequence = BinaryPrimitives.ReadUInt32LittleEndian(body[ProtocolConstants.SequenceOffset(layout)..]);
        var received = new Frame(layout, (FrameFlags)body[ProtocolConstants.FlagsOffset], sequence, 0, 0, ReadOnlyMemory<byte>.Empty, session);
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(body[^ProtocolConstants.CrcLength..]);
        if (FrameCrc.Compute(body[..^ProtocolConstants.CrcLength]) != expected)
        {
            (frame, sequenceHint) = (received, sequence);
            return FrameError.BadCrc;
        }
        if (!ProtocolConstants.IsKnown(version) || (OnlyVersion is { } only && version != only))
        {
            (frame, sequenceHint) = (received, sequence);
            return FrameError.BadVersion;
        }
        int payloadLength = BinaryPrimitives.ReadUInt16LittleEndian(body[ProtocolConstants.LengthOffset(version)..]);
        if (payloadLength != length - header - ProtocolConstants.CrcLength || payloadLength > Math.Min(MaxPayloadLength, ProtocolConstants.MaxPayloadLengthOf(version)))
        {
            (frame, sequenceHint) = (received, sequence);
            return FrameError.BadLength;
        }
        frame = received with
        {
            Opcode = body[ProtocolConstants.OpcodeOffset(version)],
            Status = body[ProtocolConstants.StatusOffset(version)],
            Payload = _body.AsMemory(header, payloadLength),
        };
        return FrameError.None;
    }
}
