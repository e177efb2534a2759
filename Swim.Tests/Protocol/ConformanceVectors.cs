using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Tests.Protocol;

/// <summary>
/// The frames of firmware-spec/conformance-vectors.json: one or more per command, request and response,
/// plus refusals, a replay and a payload long enough to split a COBS group. The file is the contract; this
/// list is how it was made; the file is edited by hand after a deliberate change, and ConformanceVectorTests checks it
/// against the spec's layouts with an encoder of its own, so the vectors are the spec's, not this codec's.
/// </summary>
internal static class ConformanceVectors
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper), new SpecBoardInfoConverter() },
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Fields are what the wire carries; derived sizes and the opcode (already in the header) are left out.
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    if (info.Type == typeof(BoardRequest) || info.Type == typeof(BoardResponse))
                    {
                        // Sub-messages of a BATCH: name each by its opcode so they serialize whole.
                        var polymorphism = new System.Text.Json.Serialization.Metadata.JsonPolymorphismOptions { TypeDiscriminatorPropertyName = "command" };
                        foreach (Type derived in info.Type.Assembly.GetTypes().Where(t => t.IsSealed && t.IsSubclassOf(info.Type)))
                        {
                            string opcode = ((Opcode)derived.GetProperty("Opcode")!.GetValue(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(derived))!).ToString();
                            polymorphism.DerivedTypes.Add(new System.Text.Json.Serialization.Metadata.JsonDerivedType(derived, JsonNamingPolicy.SnakeCaseUpper.ConvertName(opcode)));
                        }
                        info.PolymorphismOptions = polymorphism;
                    }
                    foreach (var property in info.Properties.Where(p => p.Name is "payload_length" or "item_count" or "opcode" or "cell_count" or "max_response_length" or "changes").ToList())
                    {
                        if (info.Type != typeof(SubResponse) || property.Name != "opcode")
                        {
                            info.Properties.Remove(property);
                        }
                    }
                },
            },
        },
    };

    public sealed record Vector(string Name, string Meaning, uint Sequence, FrameFlags Flags, Opcode Opcode, StatusCode Status, object? Message,
        byte Version = ProtocolConstants.Version1, ushort Session = 0);

    private static readonly CellAddress A = new(0, 1, 2);
    private static readonly CellAddress B = new(1, 255, 300);
    private static readonly CellAddress C = new(3, 0, 511);

    public static BoardInfo Board { get; } = new(1, 1, 0, 2, "SWIM-EMU-000042", 4, 256, 256, 16, 1f, 100f, 0.01f,
        new SafeOperatingArea(0.3f, 3.3f, 10, 1_000_000), 256, 4096, 64, 1_000, 100, 1_500,
        BoardCapabilities.ProgramVerify | BoardCapabilities.Program | BoardCapabilities.Batch | BoardCapabilities.Counters, "rram");

    /// <summary>The same board speaking version 2.</summary>
    public static BoardInfo Board2 { get; } = Board with { ProtocolVersion = ProtocolConstants.Version2, MaxResponse = 65_519, MaxSessions = 4, LeaseMs = 5_000, CellsPerPulse = 1, CellsPerRead = 256 };

    public static IReadOnlyList<Vector> All { get; } =
    [
        new("identify-request", "IDENTIFY, sequence 1", 1, FrameFlags.None, Opcode.Identify, StatusCode.Ok, new IdentifyRequest()),
        new("identify-response", "IDENTIFY answered: 4 tiles of 256 x 256 cells, 16 levels, 1-100 uS, SOA 0.3-3.3 V and 10 ns-1 ms, batch 256, payload 4096, cache 64",
            1, FrameFlags.Response, Opcode.Identify, StatusCode.Ok, new IdentifyResponse(Board)),
        new("reset-request", "RESET, clearing counters", 2, FrameFlags.None, Opcode.Reset, StatusCode.Ok, new ResetRequest(true)),
        new("reset-response", "RESET done", 2, FrameFlags.Response, Opcode.Reset, StatusCode.Ok, new ResetResponse()),
        new("read-list-request", "READ three cells, 4 samples each", 3, FrameFlags.None, Opcode.Read, StatusCode.Ok, ReadRequest.Cells([A, B, C], 4)),
        new("read-list-response", "READ results: 12.5, 99.25 and 1.0 uS", 3, FrameFlags.Response, Opcode.Read, StatusCode.Ok, new ReadResponse([12.5f, 99.25f, 1f])),
        new("read-rectangle-request", "READ a 2 x 3 rectangle of tile 1 from row 10, column 20, 1 sample", 4, FrameFlags.None, Opcode.Read, StatusCode.Ok,
            ReadRequest.Rectangle(new CellAddress(1, 10, 20), 2, 3)),
        new("write-pulse-request", "WRITE_PULSE: SET 1.2 V 500 ns on A, RESET 2.0 V 1 us on B", 5, FrameFlags.None, Opcode.WritePulse, StatusCode.Ok,
            new WritePulseRequest([new Pulse(A, PulsePolarity.Set, 1.2f, 500), new Pulse(B, PulsePolarity.Reset, 2f, 1000)])),
        new("write-pulse-response", "WRITE_PULSE applied 2 pulses", 5, FrameFlags.Response, Opcode.WritePulse, StatusCode.Ok, new WritePulseResponse(2)),
        new("write-pulse-refused", "WRITE_PULSE refused: outside the safe operating area, nothing pulsed", 6, FrameFlags.Response, Opcode.WritePulse,
            StatusCode.OutsideSafeOperatingArea, null),
        new("program-request", "PROGRAM A to level 7, B to 42.5 uS", 7, FrameFlags.None, Opcode.Program, StatusCode.Ok,
            new ProgramRequest([new ProgramTarget(A, TargetKind.Level, 7), new ProgramTarget(B, TargetKind.Conductance, 42.5f)])),
        new("program-response", "PROGRAM: A OK, B stuck", 7, FrameFlags.Response, Opcode.Program, StatusCode.Ok, new ProgramResponse([StatusCode.Ok, StatusCode.CellStuck])),
        new("program-verify-request", "PROGRAM_VERIFY A to 55.5 +- 1 uS and C to 20 +- 0.5 uS, at most 20 iterations each", 8, FrameFlags.None, Opcode.ProgramVerify,
            StatusCode.Ok, new ProgramVerifyRequest([new VerifyTarget(A, 55.5f, 1f, 20), new VerifyTarget(C, 20f, 0.5f, 20)])),
        new("program-verify-response", "PROGRAM_VERIFY: A converged in 3 iterations (3 pulses) at 55.125 uS; C did not converge in 20 (20 pulses), ends at 21.75 uS",
            8, FrameFlags.Response, Opcode.ProgramVerify, StatusCode.Ok,
            new ProgramVerifyResponse([new VerifyOutcome(StatusCode.Ok, 3, 3, 55.125f), new VerifyOutcome(StatusCode.DidNotConverge, 20, 20, 21.75f)])),
        new("batch-request", "BATCH of PROGRAM_VERIFY A and READ B", 9, FrameFlags.None, Opcode.Batch, StatusCode.Ok,
            new BatchRequest([new ProgramVerifyRequest([new VerifyTarget(A, 30f, 1f, 10)]), ReadRequest.Cells([B])])),
        new("batch-response", "BATCH: PROGRAM_VERIFY OK (1 iteration, 30.5 uS), READ out of range", 9, FrameFlags.Response, Opcode.Batch, StatusCode.Ok,
            new BatchResponse([new SubResponse(Opcode.ProgramVerify, StatusCode.Ok, new ProgramVerifyResponse([new VerifyOutcome(StatusCode.Ok, 1, 1, 30.5f)])),
                new SubResponse(Opcode.Read, StatusCode.OutOfRange, null)])),
        new("status-request", "STATUS", 10, FrameFlags.None, Opcode.Status, StatusCode.Ok, new StatusRequest()),
        new("status-response", "STATUS: idle, up 5 s, 2 ms of device time, 10 frames, 1 CRC error, 1 replay, 9 executed",
            10, FrameFlags.Response, Opcode.Status, StatusCode.Ok,
            new StatusResponse(new BoardStatus(0, 5_000_000, 2_000_000, 10, 1, 0, 1, 9, 40, 120, 35, 1))),
        new("counters-request", "COUNTERS of A and B", 11, FrameFlags.None, Opcode.Counters, StatusCode.Ok, new CountersRequest([A, B])),
        new("counters-response", "COUNTERS: A 4 pulses, 9 reads, 15 us; B none", 11, FrameFlags.Response, Opcode.Counters, StatusCode.Ok,
            new CountersResponse([new CellCounters(4, 9, 15_000), new CellCounters(0, 0, 0)])),
        new("replayed-response", "sequence 8 again: the cached PROGRAM_VERIFY answer, flagged REPLAYED, nothing executed", 8, FrameFlags.Response | FrameFlags.Replayed,
            Opcode.ProgramVerify, StatusCode.Ok,
            new ProgramVerifyResponse([new VerifyOutcome(StatusCode.Ok, 3, 3, 55.125f), new VerifyOutcome(StatusCode.DidNotConverge, 20, 20, 21.75f)])),
        new("bad-crc-refusal", "a request with sequence 12 arrived with a bad CRC: opcode 0, status BAD_CRC; the host resends", 12, FrameFlags.Response, 0,
            StatusCode.BadCrc, null),
        new("stale-refusal", "sequence 4000000000 is 100 behind the newest executed (cache 64): STALE_SEQUENCE, not executed", 4_000_000_000, FrameFlags.Response,
            Opcode.Program, StatusCode.StaleSequence, null),
        new("long-read-request", "READ of 60 cells: the body exceeds 254 bytes without a zero, so COBS splits a group", 0x01020304, FrameFlags.None, Opcode.Read,
            StatusCode.Ok, ReadRequest.Cells(Enumerable.Range(1, 60).Select(i => new CellAddress(1, (ushort)(i + 1), (ushort)(300 + i))).ToArray(), 1)),
        new("bad-length-refusal", "a request with sequence 13 whose payload exceeds max_payload: opcode 0, status BAD_LENGTH, not executed", 13, FrameFlags.Response, 0,
            StatusCode.BadLength, null),
        new("bad-version-refusal", "a request with sequence 14 of another protocol version: opcode 0, status BAD_VERSION, not executed", 14, FrameFlags.Response, 0,
            StatusCode.BadVersion, null),
        new("unknown-opcode-refusal", "opcode 0x55, which no version of the protocol assigns: UNKNOWN_OPCODE", 15, FrameFlags.Response, (Opcode)0x55,
            StatusCode.UnknownOpcode, null),
        new("malformed-refusal", "a PROGRAM whose list is shorter than its count: MALFORMED, nothing programmed", 16, FrameFlags.Response, Opcode.Program,
            StatusCode.Malformed, null),
        new("busy-refusal", "PROGRAM_VERIFY not taken now: BUSY, not executed and not cached; the host resends the same number after a backoff", 17,
            FrameFlags.Response, Opcode.ProgramVerify, StatusCode.Busy, null),
        new("out-of-range-refusal", "READ with 0 samples: OUT_OF_RANGE", 18, FrameFlags.Response, Opcode.Read, StatusCode.OutOfRange, null),
        new("oversized-answer-request", "BATCH of a WRITE_PULSE of no pulses and 64 READs of a 16 x 16 rectangle: 967 bytes that would draw 65,928 bytes of answer",
            19, FrameFlags.None, Opcode.Batch, StatusCode.Ok,
            new BatchRequest([new WritePulseRequest([]), .. Enumerable.Repeat<BoardRequest>(ReadRequest.Rectangle(new CellAddress(0, 16, 16), 16, 16), 64)])),
        new("oversized-answer-refusal", "its answer would not fit a frame (65,521 bytes at most): BATCH_TOO_LARGE before anything in it runs; split it", 19,
            FrameFlags.Response, Opcode.Batch, StatusCode.BatchTooLarge, null),
        new("batch-refusals-response", "BATCH whose parts are a BATCH and a READ one byte short: NESTED_BATCH and MALFORMED, each in its place", 20,
            FrameFlags.Response, Opcode.Batch, StatusCode.Ok,
            new BatchResponse([new SubResponse(Opcode.Batch, StatusCode.NestedBatch, null), new SubResponse(Opcode.Read, StatusCode.Malformed, null)])),
        new("program-levels-request", "PROGRAM_LEVELS of 2 x 3 cells of tile 1 from row 4, column 8, 4 bits a level: 0, 15, 7 / 8, 1, 3", 22, FrameFlags.None,
            Opcode.ProgramLevels, StatusCode.Ok, new ProgramLevelsRequest(new CellAddress(1, 4, 8), 2, 3, 4, [0, 15, 7, 8, 1, 3])),
        new("program-levels-response", "PROGRAM_LEVELS: every cell OK but the fifth (row 5, column 9), stuck", 22, FrameFlags.Response, Opcode.ProgramLevels, StatusCode.Ok,
            new ProgramLevelsResponse([new CellException(4, StatusCode.CellStuck)])),
        new("read-codes-request", "READ_CODES of 1 x 4 cells of tile 0 from row 16, column 0, 2 samples, 8-bit codes", 23, FrameFlags.None, Opcode.ReadCodes,
            StatusCode.Ok, new ReadCodesRequest(new CellAddress(0, 16, 0), 1, 4, 2, 8)),
        new("read-codes-response", "READ_CODES: 1 uS + code x 0.5 uS; codes 0, 17, 200, 255 are 1, 9.5, 101 and 128.5 uS", 23, FrameFlags.Response, Opcode.ReadCodes,
            StatusCode.Ok, new ReadCodesResponse(1f, 0.5f, 8, [0, 17, 200, 255])),
        new("verify-levels-request", "VERIFY_LEVELS of 2 x 5 cells of tile 2 from row 7, column 3, 2 bits a level, 0.5 uS, at most 20 iterations: cells 1, 4 and 8 to levels 3, 0 and 2",
            24, FrameFlags.None, Opcode.VerifyLevels, StatusCode.Ok,
            new VerifyLevelsRequest(new CellAddress(2, 7, 3), 2, 5, 2, 0.5f, 20, [false, true, false, false, true, false, false, false, true, false], [3, 0, 2])),
        new("verify-levels-response", "VERIFY_LEVELS: the first converged in 4 iterations, the second was in band at once, the third did not converge in 20",
            24, FrameFlags.Response, Opcode.VerifyLevels, StatusCode.Ok,
            new VerifyLevelsResponse([new VerifyLevelsOutcome(StatusCode.Ok, 4), new VerifyLevelsOutcome(StatusCode.Ok, 0), new VerifyLevelsOutcome(StatusCode.DidNotConverge, 20)])),
        new("identify-response-v2", "IDENTIFY answered by a version 2 board, outside any session: as identify-response, and answers of at most 65,519 bytes, 4 sessions, a 5 s lease, a pulse a cell, a read a 256-cell row",
            29, FrameFlags.Response, Opcode.Identify, StatusCode.Ok, new IdentifyResponse(Board2), ProtocolConstants.Version2),
        new("open-request", "OPEN outside any session, nonce 0x0123456789ABCDEF, for writing, a new session", 30, FrameFlags.None, Opcode.Open, StatusCode.Ok,
            new OpenRequest(0x0123456789ABCDEF, true, 0), ProtocolConstants.Version2),
        new("open-response", "OPEN answered: session 0x1234 with the write lease, lease 5,000 ms, window 64, new (newest 0)", 30, FrameFlags.Response, Opcode.Open, StatusCode.Ok,
            new OpenResponse(0x1234, true, 5_000, 64, false, 0), ProtocolConstants.Version2),
        new("session-status-request", "STATUS in session 0x1234, sequence 31", 31, FrameFlags.None, Opcode.Status, StatusCode.Ok, new StatusRequest(), ProtocolConstants.Version2, 0x1234),
        new("session-replayed-response", "a repeated PROGRAM in session 0x1234 answered from its cache: REPLAYED, every cell OK", 32, FrameFlags.Response | FrameFlags.Replayed,
            Opcode.Program, StatusCode.Ok, new ProgramResponse([StatusCode.Ok]), ProtocolConstants.Version2, 0x1234),
        new("session-stale-refusal", "a PROGRAM in session 0x1234 whose number is 64 or more behind the session's newest: STALE_SEQUENCE, not run, however far behind",
            1, FrameFlags.Response, Opcode.Program, StatusCode.StaleSequence, null, ProtocolConstants.Version2, 0x1234),
        new("no-session-refusal", "a PROGRAM naming session 0x0777, which the board does not hold: NO_SESSION, not run", 40, FrameFlags.Response, Opcode.Program,
            StatusCode.NoSession, null, ProtocolConstants.Version2, 0x0777),
        new("lease-held-refusal", "OPEN for writing while session 0x1234 holds the write lease: LEASE_HELD", 41, FrameFlags.Response, Opcode.Open, StatusCode.LeaseHeld, null,
            ProtocolConstants.Version2),
        new("not-leased-refusal", "a WRITE_PULSE from read-only session 0x1235: NOT_LEASED, nothing pulsed", 5, FrameFlags.Response, Opcode.WritePulse, StatusCode.NotLeased, null,
            ProtocolConstants.Version2, 0x1235),
        new("close-request", "CLOSE of session 0x1234, sequence 33", 33, FrameFlags.None, Opcode.Close, StatusCode.Ok, new CloseRequest(), ProtocolConstants.Version2, 0x1234),
        new("close-response", "CLOSE done: the session and its lease are gone", 33, FrameFlags.Response, Opcode.Close, StatusCode.Ok, new CloseResponse(), ProtocolConstants.Version2, 0x1234),
        new("internal-error-refusal", "WRITE_PULSE failed in the firmware: INTERNAL_ERROR; the host reads the cells back before going on", 21,
            FrameFlags.Response, Opcode.WritePulse, StatusCode.InternalError, null),
    ];

    public static byte[] Payload(Vector v) => v.Message switch
    {
        BoardRequest request => request.ToPayload(),
        BoardResponse response => response.ToPayload(),
        _ => [],
    };

    public static byte[] Wire(Vector v) => FrameEncoder.Encode(v.Flags, v.Sequence, (byte)v.Opcode, (byte)v.Status, Payload(v), v.Version, v.Session);

    public static JsonNode? Fields(object? message) => message is null ? null : JsonSerializer.SerializeToNode(message, message.GetType(), Json);
}

/// <summary>IDENTIFY's board description under section 5's field names, in its order (the record's own names are C#'s).</summary>
internal sealed class SpecBoardInfoConverter : JsonConverter<BoardInfo>
{
    public override BoardInfo Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("vectors are written from BoardInfo, never read into it");

    public override void Write(Utf8JsonWriter writer, BoardInfo value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("protocol_version", value.ProtocolVersion);
        writer.WriteNumber("firmware_major", value.FirmwareMajor);
        writer.WriteNumber("firmware_minor", value.FirmwareMinor);
        writer.WriteNumber("firmware_patch", value.FirmwarePatch);
        writer.WriteString("serial", value.Serial);
        writer.WriteNumber("tiles", value.Tiles);
        writer.WriteNumber("rows", value.Rows);
        writer.WriteNumber("columns", value.Columns);
        writer.WriteNumber("levels", value.LevelsPerCell);
        writer.WriteNumber("g_min", value.ConductanceMinMicrosiemens);
        writer.WriteNumber("g_max", value.ConductanceMaxMicrosiemens);
        writer.WriteNumber("read_resolution", value.ReadResolutionMicrosiemens);
        writer.WriteNumber("amplitude_min", value.SafeOperatingArea.AmplitudeMinVolts);
        writer.WriteNumber("amplitude_max", value.SafeOperatingArea.AmplitudeMaxVolts);
        writer.WriteNumber("width_min", value.SafeOperatingArea.WidthMinNs);
        writer.WriteNumber("width_max", value.SafeOperatingArea.WidthMaxNs);
        writer.WriteNumber("max_batch", value.MaxBatch);
        writer.WriteNumber("max_payload", value.MaxPayload);
        writer.WriteNumber("cache_depth", value.ResponseCacheDepth);
        writer.WriteNumber("read_ns", value.ReadNs);
        writer.WriteNumber("pulse_ns", value.PulseNs);
        writer.WriteNumber("verify_iteration_ns", value.VerifyIterationNs);
        writer.WritePropertyName("capabilities");
        JsonSerializer.Serialize(writer, value.Capabilities, options);
        writer.WriteString("device_model", value.DeviceModel);
        if (value.ProtocolVersion >= ProtocolConstants.Version2)
        {
            writer.WriteNumber("max_response", value.MaxResponse);
            writer.WriteNumber("max_sessions", value.MaxSessions);
            writer.WriteNumber("lease_ms", value.LeaseMs);
            writer.WriteNumber("cells_per_pulse", value.CellsPerPulse);
            writer.WriteNumber("cells_per_read", value.CellsPerRead);
        }
        writer.WriteEndObject();
    }
}
