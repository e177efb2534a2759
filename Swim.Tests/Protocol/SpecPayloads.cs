using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace Swim.Tests.Protocol;

/// <summary>
/// Payloads laid out from firmware-spec/protocol.md's section 5 tables, field by field, from a conformance vector's
/// "fields": a second encoder that shares nothing with Swim.Protocol's, so the vector file is checked against the
/// spec's text rather than against the codec that once wrote it.
/// </summary>
internal static class SpecPayloads
{
    /// <summary>Section 5's opcodes by name.</summary>
    public static readonly IReadOnlyDictionary<string, byte> Opcodes = new Dictionary<string, byte>
    {
        ["IDENTIFY"] = 1, ["RESET"] = 2, ["READ"] = 3, ["WRITE_PULSE"] = 4, ["PROGRAM"] = 5, ["PROGRAM_VERIFY"] = 6,
        ["BATCH"] = 7, ["STATUS"] = 8, ["COUNTERS"] = 9, ["PROGRAM_LEVELS"] = 10, ["READ_CODES"] = 11, ["VERIFY_LEVELS"] = 12,
    };

    /// <summary>Section 6's status codes by name.</summary>
    public static readonly IReadOnlyDictionary<string, byte> Statuses = new Dictionary<string, byte>
    {
        ["OK"] = 0, ["BAD_CRC"] = 1, ["BAD_LENGTH"] = 2, ["UNKNOWN_OPCODE"] = 3, ["BAD_VERSION"] = 4, ["OUT_OF_RANGE"] = 5,
        ["OUTSIDE_SAFE_OPERATING_AREA"] = 6, ["BUSY"] = 7, ["DID_NOT_CONVERGE"] = 8, ["CELL_STUCK"] = 9, ["BATCH_TOO_LARGE"] = 10,
        ["MALFORMED"] = 11, ["NESTED_BATCH"] = 12, ["INTERNAL_ERROR"] = 13, ["STALE_SEQUENCE"] = 14,
        ["NO_SESSION"] = 15, ["LEASE_HELD"] = 16, ["NOT_LEASED"] = 17,
    };

    public static byte[] Request(byte opcode, JsonNode fields)
    {
        var w = new Writer();
        switch (opcode)
        {
            case 1 or 8:
                break;
            case 2:
                w.U8((bool)fields["clear_counters"]! ? (byte)1 : (byte)0);
                break;
            case 3:
                ReadRequest(w, fields);
                break;
            case 4:
                WritePulseRequest(w, fields);
                break;
            case 5:
                w.List(fields["targets"]!.AsArray(), t =>
                {
                    w.Cell(t["cell"]!);
                    w.U8((string)t["kind"]! == "LEVEL" ? (byte)0 : (byte)1);
                    w.F32((float)t["value"]!);
                });
                break;
            case 6:
                w.List(fields["targets"]!.AsArray(), t =>
                {
                    w.Cell(t["cell"]!);
                    w.F32((float)t["target_microsiemens"]!);
                    w.F32((float)t["tolerance_microsiemens"]!);
                    w.U16((int)t["max_iterations"]!);
                });
                break;
            case 7:
                BatchRequest(w, fields);
                break;
            case 9:
                w.List(fields["cells"]!.AsArray(), w.Cell);
                break;
            case 10:
                ProgramLevelsRequest(w, fields);
                break;
            case 11:
                ReadCodesRequest(w, fields);
                break;
            case 12:
                VerifyLevelsRequest(w, fields);
                break;
            case 13:
                OpenRequest(w, fields);
                break;
            case 14:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "no request layout in section 5");
        }
        return w.ToArray();
    }

    /// <summary>PROGRAM_LEVELS: origin, rows, columns, bits a level, then the levels row by row, bit k of the stream being bit k % 8 of byte k / 8.</summary>
    private static void ProgramLevelsRequest(Writer w, JsonNode fields)
    {
        w.Cell(fields["origin"]!);
        w.U16((int)fields["rows"]!);
        w.U16((int)fields["columns"]!);
        int bits = (int)fields["bits_per_level"]!;
        w.U8((byte)bits);
        w.Bytes(Packed(fields["levels"]!.AsArray(), bits));
    }

    /// <summary>VERIFY_LEVELS: origin, size, bits, tolerance, iteration limit, the mask a bit a cell, then the selected cells' levels packed.</summary>
    private static void VerifyLevelsRequest(Writer w, JsonNode fields)
    {
        w.Cell(fields["origin"]!);
        w.U16((int)fields["rows"]!);
        w.U16((int)fields["columns"]!);
        int bits = (int)fields["bits_per_level"]!;
        w.U8((byte)bits);
        w.F32((float)fields["tolerance_microsiemens"]!);
        w.U16((int)fields["max_iterations"]!);
        JsonArray mask = fields["mask"]!.AsArray();
        var maskBytes = new byte[(mask.Count + 7) / 8];
        for (int i = 0; i < mask.Count; i++)
        {
            maskBytes[i / 8] |= (bool)mask[i]! ? (byte)(1 << (i % 8)) : (byte)0;
        }
        w.Bytes(maskBytes);
        w.Bytes(Packed(fields["levels"]!.AsArray(), bits));
    }

    /// <summary>Levels of <paramref name="bits"/> bits, level i at bits i x b onward, bit k of the stream bit k % 8 of byte k / 8.</summary>
    private static byte[] Packed(JsonArray levels, int bits)
    {
        var packed = new byte[(levels.Count * bits + 7) / 8];
        for (int i = 0; i < levels.Count; i++)
        {
            for (int b = 0; b < bits; b++)
            {
                if (((int)levels[i]! >> b & 1) == 1)
                {
                    packed[(i * bits + b) / 8] |= (byte)(1 << ((i * bits + b) % 8));
                }
            }
        }
        return packed;
    }

    /// <summary>WRITE_PULSE: a list of pulses, each cell, polarity, amplitude and width.</summary>
    private static void WritePulseRequest(Writer w, JsonNode fields) => w.List(fields["pulses"]!.AsArray(), p =>
    {
        w.Cell(p["cell"]!);
        w.U8((string)p["polarity"]! == "SET" ? (byte)0 : (byte)1);
        w.F32((float)p["amplitude_volts"]!);
        w.U32((uint)p["width_ns"]!);
    });

    /// <summary>READ_CODES: origin, rows, columns, samples, code bits.</summary>
    private static void ReadCodesRequest(Writer w, JsonNode fields)
    {
        w.Cell(fields["origin"]!);
        w.U16((int)fields["rows"]!);
        w.U16((int)fields["columns"]!);
        w.U8((byte)(int)fields["samples"]!);
        w.U8((byte)(int)fields["code_bits"]!);
    }

    /// <summary>READ: a list of cells, or a rectangle from an origin.</summary>
    private static void ReadRequest(Writer w, JsonNode fields)
    {
        bool list = fields["cell_list"] is JsonArray;
        w.U8(list ? (byte)0 : (byte)1);
        w.U8((byte)(int)fields["samples"]!);
        if (list)
        {
            w.List(fields["cell_list"]!.AsArray(), w.Cell);
        }
        else
        {
            w.Cell(fields["origin"]!);
            w.U16((int)fields["rectangle_rows"]!);
            w.U16((int)fields["rectangle_columns"]!);
        }
    }

    /// <summary>BATCH: each sub-request's opcode, length and payload.</summary>
    private static void BatchRequest(Writer w, JsonNode fields)
    {
        JsonArray requests = fields["requests"]!.AsArray();
        w.U16(requests.Count);
        foreach (JsonNode? sub in requests)
        {
            byte code = Opcodes[(string)sub!["command"]!];
            byte[] payload = Request(code, sub);
            w.U8(code);
            w.U16(payload.Length);
            w.Bytes(payload);
        }
    }

    public static byte[] Response(byte opcode, JsonNode fields)
    {
        var w = new Writer();
        switch (opcode)
        {
            case 1:
                IdentifyResponse(w, fields["info"]!);
                break;
            case 2:
                break;
            case 3:
                w.List(fields["conductances"]!.AsArray(), c => w.F32((float)c));
                break;
            case 4:
                w.U16((int)fields["pulses_applied"]!);
                break;
            case 5:
                w.List(fields["cells"]!.AsArray(), s => w.U8(Statuses[(string)s!]));
                break;
            case 6:
                ProgramVerifyResponse(w, fields);
                break;
            case 7:
                BatchResponse(w, fields);
                break;
            case 8:
                StatusResponse(w, fields["status"]!);
                break;
            case 9:
                CountersResponse(w, fields);
                break;
            case 10:
                w.List(fields["exceptions"]!.AsArray(), e =>
                {
                    w.U16((int)e["index"]!);
                    w.U8(Statuses[(string)e["status"]!]);
                });
                break;
            case 11:
                ReadCodesResponse(w, fields);
                break;
            case 12:
                w.List(fields["outcomes"]!.AsArray(), o =>
                {
                    w.U8(Statuses[(string)o["status"]!]);
                    w.U16((int)o["iterations"]!);
                });
                break;
            case 13:
                OpenResponse(w, fields);
                break;
            case 14:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(opcode), opcode, "no response layout in section 5");
        }
        return w.ToArray();
    }

    /// <summary>PROGRAM_VERIFY: a list of outcomes, each status, iterations, pulses and final conductance.</summary>
    private static void ProgramVerifyResponse(Writer w, JsonNode fields) => w.List(fields["outcomes"]!.AsArray(), o =>
    {
        w.U8(Statuses[(string)o["status"]!]);
        w.U16((int)o["iterations"]!);
        w.U16((int)o["pulses"]!);
        w.F32((float)o["final_microsiemens"]!);
    });

    /// <summary>COUNTERS: a list of per-cell pulses, reads and device time.</summary>
    private static void CountersResponse(Writer w, JsonNode fields) => w.List(fields["cells"]!.AsArray(), c =>
    {
        w.U32((uint)c["pulses"]!);
        w.U32((uint)c["reads"]!);
        w.U64((ulong)c["device_time_ns"]!);
    });

    /// <summary>READ_CODES: zero and step, the code width, then the list of codes of that width.</summary>
    private static void ReadCodesResponse(Writer w, JsonNode fields)
    {
        w.F32((float)fields["zero_microsiemens"]!);
        w.F32((float)fields["step_microsiemens"]!);
        int codeBits = (int)fields["code_bits"]!;
        w.U8((byte)codeBits);
        w.List(fields["codes"]!.AsArray(), c =>
        {
            if (codeBits == 8)
            {
                w.U8((byte)(int)c);
            }
            else
            {
                w.U16((int)c);
            }
        });
    }

    /// <summary>OPEN: nonce u64, flags u8 (bit 0 write), resume u16.</summary>
    private static void OpenRequest(Writer w, JsonNode fields)
    {
        w.U64((ulong)fields["nonce"]!);
        w.U8((bool)fields["for_writing"]! ? (byte)1 : (byte)0);
        w.U16((int)fields["resume_session"]!);
    }

    /// <summary>OPEN's answer: session u16, holds_lease u8, lease_ms u32, window u16, resumed u8, newest u32.</summary>
    private static void OpenResponse(Writer w, JsonNode fields)
    {
        w.U16((int)fields["session"]!);
        w.U8((bool)fields["holds_lease"]! ? (byte)1 : (byte)0);
        w.U32((uint)fields["lease_ms"]!);
        w.U16((int)fields["window"]!);
        w.U8((bool)fields["resumed"]! ? (byte)1 : (byte)0);
        w.U32((uint)fields["newest"]!);
    }

    /// <summary>IDENTIFY's board description, field by field in section 5's order.</summary>
    private static void IdentifyResponse(Writer w, JsonNode info)
    {
        w.U8((byte)(int)info["protocol_version"]!);
        w.U8((byte)(int)info["firmware_major"]!);
        w.U8((byte)(int)info["firmware_minor"]!);
        w.U8((byte)(int)info["firmware_patch"]!);
        var serial = new byte[16];
        Encoding.ASCII.GetBytes((string)info["serial"]!).CopyTo(serial, 0);
        w.Bytes(serial);
        w.U16((int)info["tiles"]!);
        w.U16((int)info["rows"]!);
        w.U16((int)info["columns"]!);
        w.U16((int)info["levels"]!);
        w.F32((float)info["g_min"]!);
        w.F32((float)info["g_max"]!);
        w.F32((float)info["read_resolution"]!);
        w.F32((float)info["amplitude_min"]!);
        w.F32((float)info["amplitude_max"]!);
        w.U32((uint)info["width_min"]!);
        w.U32((uint)info["width_max"]!);
        w.U16((int)info["max_batch"]!);
        w.U16((int)info["max_payload"]!);
        w.U16((int)info["cache_depth"]!);
        w.U32((uint)info["read_ns"]!);
        w.U32((uint)info["pulse_ns"]!);
        w.U32((uint)info["verify_iteration_ns"]!);
        string[] capabilities = ((string)info["capabilities"]!).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        w.U32((uint)((capabilities.Contains("PROGRAM_VERIFY") ? 1 : 0) | (capabilities.Contains("PROGRAM") ? 2 : 0)
            | (capabilities.Contains("COUNTERS") ? 4 : 0) | (capabilities.Contains("BATCH") ? 8 : 0)));
        byte[] model = Encoding.UTF8.GetBytes((string)info["device_model"]!);
        w.U8((byte)model.Length);
        w.Bytes(model);
        if ((int)info["protocol_version"]! >= 2)
        {
            w.U16((int)info["max_response"]!);
            w.U8((byte)(int)info["max_sessions"]!);
            w.U32((uint)info["lease_ms"]!);
            w.U16((int)info["cells_per_pulse"]!);
            w.U16((int)info["cells_per_read"]!);
        }
    }

    /// <summary>BATCH: each sub-response's opcode, status, length and (when OK) payload.</summary>
    private static void BatchResponse(Writer w, JsonNode fields)
    {
        JsonArray responses = fields["responses"]!.AsArray();
        w.U16(responses.Count);
        foreach (JsonNode? sub in responses)
        {
            byte code = Opcodes[(string)sub!["opcode"]!];
            byte status = Statuses[(string)sub["status"]!];
            // Section 5: a sub-response's payload is empty unless its status is OK.
            byte[] payload = status == 0 ? Response(code, sub["response"]!) : [];
            w.U8(code);
            w.U8(status);
            w.U16(payload.Length);
            w.Bytes(payload);
        }
    }

    /// <summary>STATUS: the board's state and counters.</summary>
    private static void StatusResponse(Writer w, JsonNode s)
    {
        w.U8((byte)(int)s["state"]!);
        w.U64((ulong)s["uptime_microseconds"]!);
        w.U64((ulong)s["device_time_ns"]!);
        w.U32((uint)s["frames_received"]!);
        w.U32((uint)s["crc_errors"]!);
        w.U32((uint)s["framing_errors"]!);
        w.U32((uint)s["replays"]!);
        w.U32((uint)s["executed"]!);
        w.U64((ulong)s["pulses"]!);
        w.U64((ulong)s["reads"]!);
        w.U64((ulong)s["verify_iterations"]!);
        w.U32((uint)s["resets"]!);
    }

    /// <summary>Section 4's data types, little-endian.</summary>
    private sealed class Writer
    {
        private readonly List<byte> _bytes = [];

        public void U8(byte v) => _bytes.Add(v);

        public void U16(int v) => Put(2, b => BinaryPrimitives.WriteUInt16LittleEndian(b, checked((ushort)v)));

        public void U32(uint v) => Put(4, b => BinaryPrimitives.WriteUInt32LittleEndian(b, v));

        public void U64(ulong v) => Put(8, b => BinaryPrimitives.WriteUInt64LittleEndian(b, v));

        public void F32(float v) => Put(4, b => BinaryPrimitives.WriteSingleLittleEndian(b, v));

        public void Bytes(byte[] v) => _bytes.AddRange(v);

        /// <summary>cell: tile u16, row u16, column u16.</summary>
        public void Cell(JsonNode? c)
        {
            U16((int)c!["tile"]!);
            U16((int)c["row"]!);
            U16((int)c["column"]!);
        }

        /// <summary>list of T: count u16, then the items.</summary>
        public void List(JsonArray items, Action<JsonNode> item)
        {
            U16(items.Count);
            foreach (JsonNode? i in items)
            {
                item(i!);
            }
        }

        public byte[] ToArray() => [.. _bytes];

        private void Put(int size, SpanAction write)
        {
            var buffer = new byte[size];
            write(buffer);
            _bytes.AddRange(buffer);
        }

        private delegate void SpanAction(Span<byte> buffer);
    }
}
