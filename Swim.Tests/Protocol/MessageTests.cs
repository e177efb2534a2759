using FsCheck.Xunit;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Protocol;

public sealed class MessageTests
{
    [Property(MaxTest = 400)]
    public bool Any_request_round_trips(int seed)
    {
        BoardRequest request = RandomMessages.Request(new Random(seed));
        byte[] payload = request.ToPayload();
        BoardRequest decoded = BoardRequest.Decode(request.Opcode, payload);
        return decoded.Equals(request) && decoded.ToPayload().AsSpan().SequenceEqual(payload);
    }

    [Property(MaxTest = 400)]
    public bool Any_response_round_trips(int seed)
    {
        BoardResponse response = RandomMessages.Response(new Random(seed));
        byte[] payload = response.ToPayload();
        BoardResponse decoded = BoardResponse.Decode(response.Opcode, payload);
        return decoded.Equals(response) && decoded.ToPayload().AsSpan().SequenceEqual(payload);
    }

    [Property(MaxTest = 400)]
    public bool Random_payload_bytes_parse_or_are_refused_as_malformed(byte opcode, byte[] payload)
    {
        try
        {
            BoardRequest.Decode((Opcode)opcode, payload ?? []);
            return true;
        }
        catch (Exception ex) when (ex is MalformedPayloadException or UnknownOpcodeException or NestedBatchException)
        {
            return true;
        }
    }

    [Fact]
    public void Truncated_and_overlong_payloads_are_malformed()
    {
        byte[] payload = new ProgramVerifyRequest([new VerifyTarget(new CellAddress(0, 1, 2), 50f, 1f, 20)]).ToPayload();

        Assert.Throws<MalformedPayloadException>(() => BoardRequest.Decode(Opcode.ProgramVerify, payload[..^1]));
        Assert.Throws<MalformedPayloadException>(() => BoardRequest.Decode(Opcode.ProgramVerify, [.. payload, 0]));
    }

    [Fact]
    public void Sub_requests_that_do_not_decode_are_refused_each_on_its_own_and_the_rest_decode()
    {
        byte[] inner = new BatchRequest([new StatusRequest()]).ToPayload();
        byte[] shortRead = [0, 1];
        byte[] reset = new ResetRequest(false).ToPayload();
        byte[] outer = [4, 0, (byte)Opcode.Batch, (byte)inner.Length, 0, .. inner, 0x55, 1, 0, 9, (byte)Opcode.Read, 2, 0, .. shortRead, (byte)Opcode.Reset, 1, 0, .. reset];

        var batch = Assert.IsType<BatchRequest>(BoardRequest.Decode(Opcode.Batch, outer));

        Assert.Equal(new UndecodableRequest(Opcode.Batch, StatusCode.NestedBatch, inner), batch.Requests[0]);
        Assert.Equal(new UndecodableRequest((Opcode)0x55, StatusCode.UnknownOpcode, [9]), batch.Requests[1]);
        Assert.Equal(new UndecodableRequest(Opcode.Read, StatusCode.Malformed, shortRead), batch.Requests[2]);
        Assert.Equal(new ResetRequest(false), batch.Requests[3]);
        // Written back, the BATCH is the bytes it came as.
        Assert.Equal(outer, batch.ToPayload());
    }

    [Fact]
    public void A_batch_whose_own_layout_is_broken_is_malformed_whole()
    {
        byte[] cut = [2, 0, (byte)Opcode.Status, 0, 0, (byte)Opcode.Read, 40, 0, 1];

        Assert.Throws<MalformedPayloadException>(() => BoardRequest.Decode(Opcode.Batch, cut));
    }

    [Fact]
    public void Every_requests_longest_answer_is_known_before_it_runs()
    {
        CellAddress cell = new(0, 0, 0);
        Assert.Equal(2 + 4 * 256, ReadRequest.Rectangle(cell, 16, 16, 1).MaxResponseLength);
        Assert.Equal(2 + 9 * 3, new ProgramVerifyRequest([.. Enumerable.Repeat(new VerifyTarget(cell, 1, 1, 1), 3)]).MaxResponseLength);
        Assert.Equal(2 + 16 * 5, new CountersRequest([.. Enumerable.Repeat(cell, 5)]).MaxResponseLength);
        // The case: a WRITE_PULSE and 64 READs of 16 x 16 ask for more than a frame carries.
        var batch = new BatchRequest([new WritePulseRequest([]), .. Enumerable.Repeat<BoardRequest>(ReadRequest.Rectangle(cell, 16, 16, 1), 64)]);
        Assert.Equal(2 + (4 + 2) + 64 * (4 + 2 + 1024), batch.MaxResponseLength);
        Assert.True(batch.MaxResponseLength > Swim.Protocol.Framing.ProtocolConstants.MaxPayloadLength);
        // The longest IDENTIFY is what a board with a 32-byte model name sends.
        var info = RandomMessages.InfoVersion2(new Random(2)) with { DeviceModel = new string('m', BoardInfo.MaxDeviceModelLength) };
        Assert.Equal(BoardInfo.MaxWireLength, new IdentifyResponse(info).ToPayload().Length);
    }
}
