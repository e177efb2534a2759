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
}
