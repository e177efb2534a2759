using System.Text;

namespace Swim.Protocol.Messages;

/// <summary>Optional commands a board implements.</summary>
[Flags]
public enum BoardCapabilities : uint
{
    None = 0,
    ProgramVerify = 1 << 0,
    Program = 1 << 1,
    Counters = 1 << 2,
    Batch = 1 << 3,
    ProgramLevels = 1 << 4,
    ReadCodes = 1 << 5,
    VerifyLevels = 1 << 6,
}

/// <summary>Pulse limits the board enforces: a WRITE_PULSE outside them is refused whole, before any pulse.</summary>
public sealed record SafeOperatingArea(float AmplitudeMinVolts, float AmplitudeMaxVolts, uint WidthMinNs, uint WidthMaxNs)
{
    public bool Allows(float amplitude, uint width) =>
        amplitude >= AmplitudeMinVolts && amplitude <= AmplitudeMaxVolts && width >= WidthMinNs && width <= WidthMaxNs;
}

/// <summary>What IDENTIFY reports (firmware-spec/protocol.md, "IDENTIFY").</summary>
public sealed record BoardInfo(
    byte ProtocolVersion,
    byte FirmwareMajor,
    byte FirmwareMinor,
    byte FirmwarePatch,
    string Serial,
    ushort Tiles,
    ushort Rows,
    ushort Columns,
    ushort LevelsPerCell,
    float ConductanceMinMicrosiemens,
    float ConductanceMaxMicrosiemens,
    float ReadResolutionMicrosiemens,
    SafeOperatingArea SafeOperatingArea,
    ushort MaxBatch,
    ushort MaxPayload,
    ushort ResponseCacheDepth,
    uint ReadNs,
    uint PulseNs,
    uint VerifyIterationNs,
    BoardCapabilities Capabilities,
    string DeviceModel)
{
    public const int SerialLength = 16;
    public const int MaxDeviceModelLength = 32;

    /// <summary>What version 2 appends after the device model: max_response u16, max_sessions u8, lease_ms u32, cells_per_pulse u16, cells_per_read u16.</summary>
    public const int Version2Length = 2 + 1 + 4 + 2 + 2;

    /// <summary>The longest IDENTIFY answer: 79 bytes of fixed fields, the model's length byte, the longest model and version 2's fields.</summary>
    public const int MaxWireLength = 1 + 3 + SerialLength + 3 * 2 + 2 + 3 * 4 + 2 * 4 + 2 * 4 + 3 * 2 + 3 * 4 + 4 + 1 + MaxDeviceModelLength + Version2Length;

    /// <summary>
    /// Version 2: the longest answer payload the board sends; a request whose answer could be longer is refused
    /// TOO_LARGE before it runs. Version 1 boards do not state it: the longest a version 1 frame carries.
    /// </summary>
    public ushort MaxResponse { get; init; } = (ushort)Framing.ProtocolConstants.MaxPayloadLengthOf(Framing.ProtocolConstants.Version1);

    /// <summary>Version 2: sessions the board holds at once (at least 2: a writer and a read-only monitor); 0 from a version 1 board.</summary>
    public byte MaxSessions { get; init; }

    /// <summary>Version 2: how long the write lease outlives its session's last request before another host may take it, ms.</summary>
    public uint LeaseMs { get; init; }

    /// <summary>
    /// Version 2: how many cells of one row a single pulse operation covers (1 on a board that pulses cell by cell; a
    /// row's width on one that pulses a masked row at once), so that pulse_ns is per operation of that many cells.
    /// </summary>
    public ushort CellsPerPulse { get; init; } = 1;

    /// <summary>Version 2: how many cells of one row a single read operation covers, read_ns being per operation.</summary>
    public ushort CellsPerRead { get; init; } = 1;

    public long CellCount => (long)Tiles * Rows * Columns;

    /// <summary>
    /// What makes this description unusable for programming: no cells, fewer than two levels, an empty or non-finite
    /// conductance window, an empty safe operating area, no room for one item per command. Empty when it is usable.
    /// Limits the spec sets higher (max_payload 1024, cache depth 32) but a host can live with are not listed.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (CellCount == 0)
        {
            problems.Add($"geometry {Tiles} x {Rows} x {Columns} holds no cells");
        }
        if (LevelsPerCell < 2)
        {
            problems.Add($"{LevelsPerCell} levels per cell (at least 2)");
        }
        if (!(float.IsFinite(ConductanceMinMicrosiemens) && float.IsFinite(ConductanceMaxMicrosiemens) && ConductanceMinMicrosiemens >= 0
            && ConductanceMinMicrosiemens < ConductanceMaxMicrosiemens))
        {
            problems.Add($"conductance window g_min {ConductanceMinMicrosiemens} to g_max {ConductanceMaxMicrosiemens} uS (needs 0 <= g_min < g_max)");
        }
        if (!(ReadResolutionMicrosiemens >= 0 && float.IsFinite(ReadResolutionMicrosiemens)))
        {
            problems.Add($"read resolution {ReadResolutionMicrosiemens} uS");
        }
        SafeOperatingArea soa = SafeOperatingArea;
        if (!(soa.AmplitudeMinVolts <= soa.AmplitudeMaxVolts && float.IsFinite(soa.AmplitudeMinVolts) && float.IsFinite(soa.AmplitudeMaxVolts)) || soa.WidthMinNs > soa.WidthMaxNs)
        {
            problems.Add($"safe operating area {soa.AmplitudeMinVolts}-{soa.AmplitudeMaxVolts} V, {soa.WidthMinNs}-{soa.WidthMaxNs} ns admits no pulse");
        }
        if (MaxBatch == 0)
        {
            problems.Add("max_batch 0 (no command can carry a cell)");
        }
        if (ProtocolVersion >= Framing.ProtocolConstants.Version2 && (CellsPerPulse == 0 || CellsPerRead == 0))
        {
            problems.Add($"cells_per_pulse {CellsPerPulse}, cells_per_read {CellsPerRead} (a pulse and a read cover at least one cell)");
        }
        if (ResponseCacheDepth == 0)
        {
            problems.Add("response cache depth 0 (a retransmission could execute twice)");
        }
        return problems;
    }

    internal int PayloadLength => 4 + SerialLength + 8 + 12 + 16 + 6 + 12 + 4 + 1 + Encoding.UTF8.GetByteCount(DeviceModel)
        + (ProtocolVersion >= Framing.ProtocolConstants.Version2 ? Version2Length : 0);

    internal void Write(ref PayloadWriter w)
    {
        w.U8(ProtocolVersion);
        w.U8(FirmwareMajor);
        w.U8(FirmwareMinor);
        w.U8(FirmwarePatch);
        Span<byte> serial = stackalloc byte[SerialLength];
        serial.Clear();
        Encoding.ASCII.GetBytes(Serial.AsSpan(0, Math.Min(Serial.Length, SerialLength)), serial);
        w.Bytes(serial);
        w.U16(Tiles);
        w.U16(Rows);
        w.U16(Columns);
        w.U16(LevelsPerCell);
        w.F32(ConductanceMinMicrosiemens);
        w.F32(ConductanceMaxMicrosiemens);
        w.F32(ReadResolutionMicrosiemens);
        w.F32(SafeOperatingArea.AmplitudeMinVolts);
        w.F32(SafeOperatingArea.AmplitudeMaxVolts);
        w.U32(SafeOperatingArea.WidthMinNs);
        w.U32(SafeOperatingArea.WidthMaxNs);
        w.U16(MaxBatch);
        w.U16(MaxPayload);
        w.U16(ResponseCacheDepth);
        w.U32(ReadNs);
        w.U32(PulseNs);
        w.U32(VerifyIterationNs);
        w.U32((uint)Capabilities);
        byte[] model = Encoding.UTF8.GetBytes(DeviceModel);
        if (model.Length > MaxDeviceModelLength)
        {
            throw new ArgumentException($"device model '{DeviceModel}' is longer than {MaxDeviceModelLength} bytes.");
        }
        w.U8((byte)model.Length);
        w.Bytes(model);
        if (ProtocolVersion >= Framing.ProtocolConstants.Version2)
        {
            w.U16(MaxResponse);
            w.U8(MaxSessions);
            w.U32(LeaseMs);
            w.U16(CellsPerPulse);
            w.U16(CellsPerRead);
        }
    }

    internal static BoardInfo Read(ref PayloadReader r)
    {
        byte version = r.U8(), major = r.U8(), minor = r.U8(), patch = r.U8();
        string serial = Encoding.ASCII.GetString(r.Bytes(SerialLength)).TrimEnd('\0');
        ushort tiles = r.U16(), rows = r.U16(), columns = r.U16(), levels = r.U16();
        float gMin = r.F32(), gMax = r.F32(), resolution = r.F32();
        var soa = new SafeOperatingArea(r.F32(), r.F32(), r.U32(), r.U32());
        ushort maxBatch = r.U16(), maxPayload = r.U16(), cache = r.U16();
        uint readNs = r.U32(), pulseNs = r.U32(), verifyNs = r.U32();
        var capabilities = (BoardCapabilities)r.U32();
        byte modelLength = r.U8();
        if (modelLength > MaxDeviceModelLength)
        {
            throw new MalformedPayloadException($"device model length {modelLength} exceeds {MaxDeviceModelLength}.");
        }
        string model = Encoding.UTF8.GetString(r.Bytes(modelLength));
        var info = new BoardInfo(version, major, minor, patch, serial, tiles, rows, columns, levels, gMin, gMax, resolution, soa,
            maxBatch, maxPayload, cache, readNs, pulseNs, verifyNs, capabilities, model);
        return version < Framing.ProtocolConstants.Version2 ? info : info with { MaxResponse = r.U16(), MaxSessions = r.U8(), LeaseMs = r.U32(), CellsPerPulse = r.U16(), CellsPerRead = r.U16() };
    }
}
