using System.Text.Json.Nodes;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Tests.Protocol;

/// <summary>Replays firmware-spec/conformance-vectors.json against the encoder and the decoder.</summary>
public sealed class ConformanceVectorTests
{
    private static readonly string s_path = Controller.BundledAssets.Require("firmware-spec/conformance-vectors.json");

    // The file is edited by hand and checked against the spec below; it is never rewritten from the codec's output.
    private static JsonArray FileVectors() => JsonNode.Parse(File.ReadAllText(s_path))!["vectors"]!.AsArray();

    /// <summary>
    /// Every vector against the spec's text, with nothing of Swim.Protocol: its payload laid out field by field from
    /// section 5 (<see cref="SpecPayloads"/>), refusals empty (section 5: no payload unless OK), and its wire bytes
    /// the section 2 frame (header, CRC-32, COBS, delimiter) of that payload.
    /// </summary>
    [Fact]
    public void Every_vector_is_what_the_spec_lays_out_for_its_fields()
    {
        foreach (JsonNode? node in FileVectors())
        {
            string name = (string)node!["name"]!;
            byte opcode = (byte)(int)node["opcode"]!, status = (byte)(int)node["status"]!, flags = (byte)(int)node["flags"]!;
            bool response = (string)node["direction"]! == "board-to-host";
            Assert.Equal(response, (flags & 1) == 1);
            byte[] payload = node["fields"] is { } fields
                ? response ? SpecPayloads.Response(opcode, fields) : SpecPayloads.Request(opcode, fields)
                : [];
            Assert.True(node["fields"] is not null || status != 0, $"{name}: an OK vector without fields");
            Assert.True((string)node["payload_hex"]! == Convert.ToHexString(payload).ToLowerInvariant(), $"{name}: the payload is not the spec's layout of its fields");
            byte[] wire = (int)node["version"]! == 1
                ? SpecRuleTests.Wire((uint)node["sequence"]!, opcode, payload, flags: flags, status: status)
                : SessionRuleTests.Wire((ushort)(int)node["session"]!, (uint)node["sequence"]!, opcode, payload, flags, status);
            Assert.True((string)node["wire_hex"]! == Convert.ToHexString(wire).ToLowerInvariant(),
                $"{name}: the wire bytes are not the spec's frame of its payload");
        }
    }

    [Fact]
    public void The_encoder_produces_every_vectors_wire_bytes()
    {
        JsonArray vectors = FileVectors();
        Assert.Equal(ConformanceVectors.All.Count, vectors.Count);
        foreach ((ConformanceVectors.Vector expected, JsonNode? node) in ConformanceVectors.All.Zip(vectors))
        {
            Assert.Equal(expected.Name, (string)node!["name"]!);
            Assert.Equal((string)node["wire_hex"]!, Convert.ToHexString(ConformanceVectors.Wire(expected)).ToLowerInvariant());
        }
    }

    [Fact]
    public void The_decoder_recovers_every_vectors_header_payload_and_fields()
    {
        foreach (JsonNode? node in FileVectors())
        {
            string name = (string)node!["name"]!;
            byte[] wire = Convert.FromHexString((string)node["wire_hex"]!);
            var decoder = new FrameDecoder();
            ReadOnlySpan<byte> input = wire;
            Assert.True(decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _), name);
            Assert.Equal(FrameError.None, error);
            Assert.Equal((uint)node["sequence"]!, frame.Sequence);
            Assert.Equal((int)node["version"]!, frame.Version);
            Assert.Equal((int)(node["session"] ?? 0), frame.Session);
            Assert.Equal((int)node["flags"]!, (int)frame.Flags);
            Assert.Equal((int)node["opcode"]!, frame.Opcode);
            Assert.Equal((int)node["status"]!, frame.Status);
            Assert.Equal((string)node["payload_hex"]!, Convert.ToHexString(frame.Payload.Span).ToLowerInvariant());
            if (node["fields"] is { } fields)
            {
                object message = frame.IsResponse
                    ? BoardResponse.Decode((Opcode)frame.Opcode, frame.Payload.Span)
                    : BoardRequest.Decode((Opcode)frame.Opcode, frame.Payload.Span);
                Assert.True(JsonNode.DeepEquals(fields, ConformanceVectors.Fields(message)), $"{name}: decoded fields differ from the file");
            }
        }
    }
}
