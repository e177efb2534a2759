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
    public void Batch_inside_batch_is_refused()
    {
        byte[] inner = new BatchRequest([new StatusRequest()]).ToPayload();
        byte[] outer = [1, 0, (byte)Opcode.Batch, (byte)inner.Length, 0, .. inner];

        Assert.Throws<NestedBatchException>(() => BoardRequest.Decode(Opcode.Batch, outer));
    }
}
