using System.Text.Json.Nodes;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Tests.Protocol;

/// <summary>Replays firmware-spec/conformance-vectors.json against the encoder and the decoder.</summary>
public sealed class ConformanceVectorTests
{
    private static readonly string s_path = Controller.BundledAssets.Require("firmware-spec/conformance-vectors.json");

    private static JsonArray FileVectors()
    {
        if (Environment.GetEnvironmentVariable("SWIM_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(s_path, ConformanceVectors.Document().ToJsonString(ConformanceVectors.Json) + "\n");
        }
        return JsonNode.Parse(File.ReadAllText(s_path))!["vectors"]!.AsArray();
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
