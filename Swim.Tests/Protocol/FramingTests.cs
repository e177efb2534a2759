using FsCheck.Xunit;
using Swim.Protocol.Framing;

namespace Swim.Tests.Protocol;

public sealed class FramingTests
{
    [Fact]
    public void Crc_is_crc32_iso_hdlc_with_its_published_check_value()
    {
        Assert.Equal(0xCBF43926u, FrameCrc.Compute("123456789"u8));
    }

    // Examples from the COBS paper and its common references.
    [Theory]
    [InlineData("00", "0101")]
    [InlineData("0000", "010101")]
    [InlineData("11220033", "0311220233")]
    [InlineData("11223344", "0511223344")]
    [InlineData("11000000", "0211010101")]
    public void Cobs_encodes_the_reference_examples(string input, string expected)
    {
        byte[] source = Convert.FromHexString(input);
        var buffer = new byte[source.Length + 4];
        int length = Cobs.Encode(source, buffer);
        Assert.Equal(expected, Convert.ToHexString(buffer, 0, length));
        var decoded = new byte[source.Length + 4];
        Assert.True(Cobs.TryDecode(buffer.AsSpan(0, length), decoded, out int written));
        Assert.Equal(input, Convert.ToHexString(decoded, 0, written));
    }

    [Fact]
    public void Cobs_splits_runs_of_254_and_more_non_zero_bytes()
    {
        // Canonical form, as the reference encoder: a full group ending the block takes no empty group after it.
        byte[] run254 = Enumerable.Range(1, 254).Select(i => (byte)i).ToArray();
        byte[] run255 = Enumerable.Range(1, 255).Select(i => (byte)i).ToArray();
        var buffer = new byte[300];

        int length = Cobs.Encode(run254, buffer);
        Assert.Equal([0xFF, .. run254], buffer[..length]);
        length = Cobs.Encode(run255, buffer);
        Assert.Equal([0xFF, .. run254, 0x02, 0xFF], buffer[..length]);
        byte[] zeroThen254 = [0, .. run254];
        length = Cobs.Encode(zeroThen254, buffer);
        Assert.Equal([0x01, 0xFF, .. run254], buffer[..length]);
        var decoded = new byte[300];
        Assert.True(Cobs.TryDecode(buffer.AsSpan(0, length), decoded, out int written));
        Assert.Equal(zeroThen254, decoded[..written]);
    }

    [Property(MaxTest = 300)]
    public bool Any_frame_round_trips(uint sequence, byte opcode, byte status, byte[] payload, bool response)
    {
        payload ??= [];
        FrameFlags flags = response ? FrameFlags.Response : FrameFlags.None;
        byte[] wire = FrameEncoder.Encode(flags, sequence, opcode, status, payload);
        var decoder = new FrameDecoder();
        ReadOnlySpan<byte> input = wire;
        return wire.Count(b => b == 0) == 1 && wire[^1] == 0
            && decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _)
            && error == FrameError.None && frame.Sequence == sequence && frame.Opcode == opcode && frame.Status == status
            && frame.Flags == flags && frame.Payload.Span.SequenceEqual(payload) && input.IsEmpty;
    }

    [Property(MaxTest = 500)]
    public bool Garbage_never_throws_and_the_next_frame_after_a_delimiter_decodes(byte[] garbage, uint sequence, byte[] payload)
    {
        garbage ??= [];
        payload ??= [];
        byte[] wire = FrameEncoder.Encode(FrameFlags.Response, sequence, 6, 0, payload);
        byte[] stream = [.. garbage, 0x00, .. wire];
        var decoder = new FrameDecoder();
        ReadOnlySpan<byte> input = stream;
        Frame last = default;
        bool any = false;
        while (decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
        {
            if (error == FrameError.None)
            {
                last = frame;
                any = true;
            }
        }
        return any && last.Sequence == sequence && last.Payload.Span.SequenceEqual(payload);
    }

    [Fact]
    public void Frames_split_at_any_byte_boundary_decode_the_same()
    {
        byte[] wire = FrameEncoder.Encode(FrameFlags.None, 77, 3, 0, [1, 0, 2, 0, 0, 3]);
        for (int split = 0; split < wire.Length; split++)
        {
            var decoder = new FrameDecoder();
            ReadOnlySpan<byte> first = wire.AsSpan(0, split);
            Assert.False(decoder.TryDecode(ref first, out _, out _, out _));
            ReadOnlySpan<byte> second = wire.AsSpan(split);
            Assert.True(decoder.TryDecode(ref second, out Frame frame, out FrameError error, out _));
            Assert.Equal(FrameError.None, error);
            Assert.Equal(77u, frame.Sequence);
            Assert.Equal([1, 0, 2, 0, 0, 3], frame.Payload.ToArray());
        }
    }

    [Theory]
    [InlineData(3, FrameError.BadCrc)]
    [InlineData(0, FrameError.BadCrc)]
    public void A_flipped_bit_is_caught_by_the_crc_with_the_sequence_as_a_hint(int byteIndex, FrameError expected)
    {
        byte[] body = [1, 0, 42, 0, 0, 0, 6, 0, 2, 0, 0xAB, 0xCD];
        var withCrc = new byte[body.Length + 4];
        body.CopyTo(withCrc, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(withCrc.AsSpan(body.Length), FrameCrc.Compute(body));
        withCrc[10 + (byteIndex % 2)] ^= 0x10;
        var cobs = new byte[withCrc.Length + 2];
        int length = Cobs.Encode(withCrc, cobs);
        byte[] wire = [.. cobs[..length], 0];
        var decoder = new FrameDecoder();
        ReadOnlySpan<byte> input = wire;

        Assert.True(decoder.TryDecode(ref input, out _, out FrameError error, out uint? hint));
        Assert.Equal(expected, error);
        Assert.Equal(42u, hint);
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    [InlineData(300)]
    [InlineData(4_099)]
    [InlineData(ProtocolConstants.MaxPayloadLength)]
    public void A_whole_frame_over_the_payload_limit_is_a_bad_length_with_its_sequence_not_noise(int payload)
    {
        var decoder = new FrameDecoder(maxPayloadLength: 16);
        byte[] wire = FrameEncoder.Encode(FrameFlags.None, 77, 1, 0, new byte[payload]);
        ReadOnlySpan<byte> input = wire;

        Assert.True(decoder.TryDecode(ref input, out _, out FrameError error, out uint? hint));
        Assert.Equal(FrameError.BadLength, error);
        Assert.Equal(77u, hint);
    }

    [Fact]
    public void Oversized_blocks_are_dropped_and_the_decoder_recovers()
    {
        // Longer than any frame the 16-bit length can describe: nothing in it can be trusted.
        var decoder = new FrameDecoder(maxPayloadLength: 16);
        byte[] good = FrameEncoder.Encode(FrameFlags.None, 5, 1, 0, [9]);
        byte[] stream = [.. Enumerable.Repeat((byte)0x55, ProtocolConstants.MaxWireLength(ProtocolConstants.MaxPayloadLength) + 1), 0x00, .. good];
        ReadOnlySpan<byte> input = stream;

        Assert.True(decoder.TryDecode(ref input, out _, out FrameError first, out _));
        Assert.Equal(FrameError.TooLong, first);
        Assert.True(decoder.TryDecode(ref input, out Frame frame, out FrameError second, out _));
        Assert.Equal(FrameError.None, second);
        Assert.Equal(5u, frame.Sequence);
    }

    [Fact]
    public void A_decoder_is_made_only_for_a_payload_limit_the_header_can_state_and_a_known_version()
    {
        Assert.Equal(0, new FrameDecoder(maxPayloadLength: 0).MaxPayloadLength);
        Assert.Equal(ProtocolConstants.MaxPayloadLength, new FrameDecoder(ProtocolConstants.MaxPayloadLength).MaxPayloadLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameDecoder(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameDecoder(ProtocolConstants.MaxPayloadLength + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameDecoder(onlyVersion: 3));
    }

    [Fact]
    public void A_payload_of_exactly_the_limit_is_taken()
    {
        var decoder = new FrameDecoder(maxPayloadLength: 16);
        ReadOnlySpan<byte> input = FrameEncoder.Encode(FrameFlags.None, 9, 1, 0, new byte[16]);

        Assert.True(decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _));
        Assert.Equal(FrameError.None, error);
        Assert.Equal(16, frame.Payload.Length);
    }

    /// <summary>Section 2.2: a block shorter than a header and its CRC is no frame, however its bytes read.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(13)]
    public void A_block_shorter_than_header_and_crc_is_too_short(int length)
    {
        byte[] body = new byte[length];
        body[0] = ProtocolConstants.Version1;
        for (int i = 1; i < length; i++)
        {
            body[i] = (byte)(0x30 + i);
        }
        var cobs = new byte[length + 2];
        int written = Cobs.Encode(body, cobs);
        ReadOnlySpan<byte> input = (byte[])[.. cobs[..written], 0];

        Assert.True(new FrameDecoder().TryDecode(ref input, out _, out FrameError error, out _));
        Assert.Equal(FrameError.TooShort, error);
    }

    [Fact]
    public void Reset_drops_a_partial_block_so_the_next_frame_decodes_whole()
    {
        var decoder = new FrameDecoder();
        byte[] wire = FrameEncoder.Encode(FrameFlags.None, 31, 3, 0, [7, 7]);
        ReadOnlySpan<byte> half = wire.AsSpan(0, wire.Length / 2);
        Assert.False(decoder.TryDecode(ref half, out _, out _, out _));

        decoder.Reset();
        ReadOnlySpan<byte> whole = wire;

        Assert.True(decoder.TryDecode(ref whole, out Frame frame, out FrameError error, out _));
        Assert.Equal(FrameError.None, error);
        Assert.Equal(31u, frame.Sequence);
    }

    /// <summary>Section 2.2: a frame's body (header, payload, CRC) fits a u16 length, so the largest payload is 65,521 bytes in version 1 and 65,519 in version 2.</summary>
    [Theory]
    [InlineData(ProtocolConstants.Version1, 65_521)]
    [InlineData(ProtocolConstants.Version2, 65_519)]
    public void The_largest_payload_is_what_fits_a_body_of_65535_bytes(byte version, int largest)
    {
        byte[] wire = FrameEncoder.Encode(FrameFlags.None, 1, 1, 0, new byte[largest], version);
        ReadOnlySpan<byte> input = wire;
        Assert.True(new FrameDecoder().TryDecode(ref input, out Frame frame, out FrameError error, out _));
        Assert.Equal(FrameError.None, error);
        Assert.Equal(largest, frame.Payload.Length);

        Assert.Equal("payload", Assert.Throws<ArgumentException>(() => FrameEncoder.Encode(FrameFlags.None, 1, 1, 0, new byte[largest + 1], version)).ParamName);
    }

    /// <summary>A version 2 frame stating a payload of 65,520 bytes (a body of 65,536), built by hand: no board could count it, so it is BAD_LENGTH.</summary>
    [Fact]
    public void A_version_2_frame_longer_than_its_version_allows_is_a_bad_length()
    {
        ReadOnlySpan<byte> input = SessionRuleTests.Wire(1, 44, 1, new byte[65_520]);

        Assert.True(new FrameDecoder().TryDecode(ref input, out _, out FrameError error, out uint? hint));
        Assert.Equal(FrameError.BadLength, error);
        Assert.Equal(44u, hint);
    }

    [Fact]
    public void The_encoder_refuses_an_unknown_version_and_a_session_in_version_1()
    {
        Assert.Equal("version", Assert.Throws<ArgumentOutOfRangeException>(() => FrameEncoder.Encode(FrameFlags.None, 1, 1, 0, [], version: 3)).ParamName);
        Assert.Equal("session", Assert.Throws<ArgumentException>(() => FrameEncoder.Encode(FrameFlags.None, 1, 1, 0, [], ProtocolConstants.Version1, session: 5)).ParamName);
    }

    /// <summary>Section 2.1: a code byte of 0, a group running past the block, or a zero inside a group is no COBS.</summary>
    [Theory]
    [InlineData(new byte[] { 0x00, 0x01 })]
    [InlineData(new byte[] { 0x05, 0x11 })]
    [InlineData(new byte[] { 0x03, 0x00, 0x01 })]
    public void A_block_that_is_not_COBS_is_refused(byte[] block)
    {
        Assert.False(Cobs.TryDecode(block, new byte[16], out _));
    }

    /// <summary>Section 2: delimiters with nothing between them are idle filler, not frames or errors.</summary>
    [Fact]
    public void Back_to_back_delimiters_are_filler_and_the_frame_after_them_decodes()
    {
        ReadOnlySpan<byte> input = (byte[])[0, 0, 0, .. FrameEncoder.Encode(FrameFlags.None, 12, 3, 0, [1])];

        Assert.True(new FrameDecoder().TryDecode(ref input, out Frame frame, out FrameError error, out _));
        Assert.Equal(FrameError.None, error);
        Assert.Equal(12u, frame.Sequence);
    }
}
