using System.Diagnostics;
using Swim.Devices;
using Swim.Protocol.Board;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Emulator;

/// <summary>
/// A crossbar test board in software: validates every command as firmware-spec requires (the whole command
/// before any cell is touched), then runs it on the <see cref="CellArray"/> physics.
/// </summary>
public sealed class EmulatedBoard : IBoardDevice
{
    public const ushort MaxBatch = 256;
    /// <summary>Room for a command of <see cref="MaxBatch"/> items of the widest kind, PROGRAM_VERIFY's 16 bytes, as the spec requires.</summary>
    public const ushort MaxPayload = 2 + MaxBatch * VerifyTarget.WireLength;
    public const ushort CacheDepth = 64;

    /// <summary>Version 2: a programming host, a monitor and two more (a second monitor, a resumed host) at once.</summary>
    public const byte MaxSessions = 4;

    /// <summary>The most boards one seed's set is cut into (their serials fit IDENTIFY's 16 bytes).</summary>
    public const int MaxSetSize = 256;

    /// <summary>
    /// Version 2: how long a writer may fall silent before another host may take the lease. A lapsed lease is taken
    /// only by another writer's OPEN (a long sensitivity pass between IDENTIFY and the first pulse loses nothing), so
    /// it can be short: a crashed controller's board is free for the next within seconds.
    /// </summary>
    public const uint LeaseMs = 5_000;

    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private long _deviceTimeClearedAtNs;

    /// <summary>Everything an emulated board can do; leave PROGRAM_VERIFY out to stand in for firmware without its own loop.</summary>
    public const BoardCapabilities AllCapabilities = BoardCapabilities.ProgramVerify | BoardCapabilities.Program | BoardCapabilities.Counters | BoardCapabilities.Batch
        | BoardCapabilities.ProgramLevels | BoardCapabilities.ReadCodes | BoardCapabilities.VerifyLevels;

    /// <param name="protocolVersion">The protocol the board speaks: 2, or 1 to stand in for firmware of that version.</param>
    public EmulatedBoard(DevicePreset preset, BoardGeometry geometry, ulong seed, BoardCapabilities capabilities = AllCapabilities,
        byte protocolVersion = ProtocolConstants.Version)
        : this(preset, geometry, seed, 0, 1, capabilities, protocolVersion)
    {
    }

    /// <summary>
    /// Board <paramref name="index"/> of a set of <paramref name="setSize"/> boards of <paramref name="geometry"/> each, made
    /// from one seed: it holds tiles index, index + setSize, ... of the one board of all their tiles that the seed describes,
    /// so a session spread over the set meets the very cells it would on that board.
    /// </summary>
    public EmulatedBoard(DevicePreset preset, BoardGeometry geometry, ulong seed, int index, int setSize, BoardCapabilities capabilities = AllCapabilities,
        byte protocolVersion = ProtocolConstants.Version)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentOutOfRangeException.ThrowIfLessThan(setSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, setSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(setSize, MaxSetSize);
        Geometry = geometry;
        Seed = seed;
        Cells = new CellArray(preset, geometry.CellCount, seed, new CellNumbering(geometry.Rows * geometry.Columns, setSize, index));
        Info = Describe(preset, geometry, seed, index, setSize, capabilities, protocolVersion);
    }

    /// <summary>What IDENTIFY reports for board <paramref name="index"/> of a set of <paramref name="setSize"/>, without building its cells.</summary>
    public static BoardInfo Describe(DevicePreset preset, BoardGeometry geometry, ulong seed, int index, int setSize, BoardCapabilities capabilities = AllCapabilities,
        byte protocolVersion = ProtocolConstants.Version)
    {
        BoardInfo info = Describe(preset, geometry, seed, capabilities, protocolVersion);
        // Each board of a set its own serial (16 ASCII bytes on the wire), so a journal tells them apart.
        return setSize == 1 ? info : info with { Serial = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"EMU{seed % 10_000:D4}-{index + 1}of{setSize}") };
    }

    /// <summary>What IDENTIFY reports for a board of this preset and geometry, without building its cells.</summary>
    public static BoardInfo Describe(DevicePreset preset, BoardGeometry geometry, ulong seed, BoardCapabilities capabilities = AllCapabilities,
        byte protocolVersion = ProtocolConstants.Version)
    {
        ArgumentNullException.ThrowIfNull(preset);
        if (!ProtocolConstants.IsKnown(protocolVersion))
        {
            throw new ArgumentOutOfRangeException(nameof(protocolVersion), $"protocol version {protocolVersion}: the emulator speaks 1 and 2.");
        }
        return new BoardInfo(protocolVersion, 1, 0, 0, $"SWIM-EMU-{seed % 1_000_000:D6}", geometry.Tiles, geometry.Rows, geometry.Columns,
            (ushort)preset.Levels, preset.ConductanceMin, preset.ConductanceMax, (float)Math.Max(preset.ReadSigma * preset.Window / 4, 1e-3),
            new SafeOperatingArea(preset.AmplitudeMinVolts, preset.AmplitudeMaxVolts, preset.WidthMinNs, preset.WidthMaxNs),
            MaxBatch, MaxPayload, CacheDepth, preset.ReadNs, preset.PulseNs, preset.VerifyIterationNs,
            capabilities, preset.Name)
        {
            MaxResponse = (ushort)ProtocolConstants.MaxPayloadLengthOf(protocolVersion),
            MaxSessions = protocolVersion >= ProtocolConstants.Version2 ? MaxSessions : (byte)0,
            LeaseMs = protocolVersion >= ProtocolConstants.Version2 ? LeaseMs : 0,
            // A crossbar's parallelism, for the host's row-parallel time model: a read senses a whole row, a pulse drives a
            // row's masked columns at once. The emulator's own clock (STATUS) stays serial, one cell per operation.
            CellsPerPulse = geometry.Columns,
            CellsPerRead = geometry.Columns,
        };
    }

    public BoardGeometry Geometry { get; }

    public ulong Seed { get; }

    public CellArray Cells { get; }

    public BoardInfo Info { get; }

    public DeviceCounters Counters =>
        new(0, (ulong)_uptime.Elapsed.TotalMicroseconds, (ulong)(Cells.BusyNs - _deviceTimeClearedAtNs), Cells.TotalPulses, Cells.TotalReads, Cells.TotalVerifyIterations);

    public int IndexOf(CellAddress cell) => (cell.Tile * Geometry.Rows + cell.Row) * Geometry.Columns + cell.Column;

    public BoardResponse Execute(BoardRequest request) => request switch
    {
        IdentifyRequest => new IdentifyResponse(Info),
        ReadRequest read => Read(read),
        WritePulseRequest pulses => WritePulses(pulses),
        ProgramRequest program => Program(program),
        ProgramVerifyRequest verify => (Info.Capabilities & BoardCapabilities.ProgramVerify) != 0 ? ProgramVerify(verify)
            : throw new BoardStatusException(StatusCode.UnknownOpcode, "this board does not run write-verify itself (no PROGRAM_VERIFY capability); drive it with READ and WRITE_PULSE."),
        VerifyLevelsRequest verifyLevels => (Info.Capabilities & BoardCapabilities.VerifyLevels) != 0 ? VerifyLevels(verifyLevels)
            : throw new BoardStatusException(StatusCode.UnknownOpcode, "this board verifies cells one PROGRAM_VERIFY target at a time (no VERIFY_LEVELS capability)."),
        ReadCodesRequest codes => (Info.Capabilities & BoardCapabilities.ReadCodes) != 0 ? ReadCodes(codes)
            : throw new BoardStatusException(StatusCode.UnknownOpcode, "this board answers READ with conductances only (no READ_CODES capability)."),
        ProgramLevelsRequest levels => (Info.Capabilities & BoardCapabilities.ProgramLevels) != 0 ? ProgramLevels(levels)
            : throw new BoardStatusException(StatusCode.UnknownOpcode, "this board takes levels only one PROGRAM target at a time (no PROGRAM_LEVELS capability)."),
        CountersRequest counters => new CountersResponse(Indices(counters.Cells).Select(Cells.CountersOf).ToArray()),
        _ => throw new BoardStatusException(StatusCode.UnknownOpcode, $"{request.Opcode} is not executed by the device."),
    };

    public void Reset(bool clearCounters)
    {
        if (clearCounters)
        {
            ClearCounters();
        }
    }

    public void PowerCycle()
    {
        ClearCounters();
        _uptime.Restart();
    }

    /// <summary>The array's clock runs on (drift and relaxation follow it); STATUS's device time counts its busy time from here.</summary>
    private void ClearCounters()
    {
        Cells.ClearCounters();
        _deviceTimeClearedAtNs = Cells.BusyNs;
    }

    private ReadResponse Read(ReadRequest read)
    {
        if (read.Samples == 0)
        {
            throw new BoardStatusException(StatusCode.OutOfRange, "READ with 0 samples.");
        }
        if (read.CellList is null)
        {
            CheckRectangle("READ", read.Origin, read.RectangleRows, read.RectangleColumns);
        }
        int[] cells = Indices(read.Addresses().ToList());
        return new ReadResponse(cells.Select(c => Cells.Read(c, read.Samples)).ToArray());
    }

    /// <summary>
    /// A rectangle read as READ would read it, each conductance then coded over the window: code 0 at g_min, the top code
    /// at g_max, codes clamped; the step is the window over the codes, so a code is as good as the read it codes.
    /// </summary>
    private ReadCodesResponse ReadCodes(ReadCodesRequest request)
    {
        float[] read = Read(ReadRequest.Rectangle(request.Origin, request.Rows, request.Columns, request.Samples)).Conductances.ToArray();
        int top = (1 << request.CodeBits) - 1;
        float zero = Info.ConductanceMinMicrosiemens;
        float step = (Info.ConductanceMaxMicrosiemens - zero) / top;
        return new ReadCodesResponse(zero, step, request.CodeBits, [.. read.Select(g => (ushort)Math.Clamp((int)MathF.Round((g - zero) / step), 0, top))]);
    }

    /// <summary>Refuses a rectangle that runs past its tile's rows or columns (its cells' tile is checked where they are indexed).</summary>
    private void CheckRectangle(string command, CellAddress origin, int rows, int columns)
    {
        if ((long)origin.Row + rows > Geometry.Rows || (long)origin.Column + columns > Geometry.Columns)
        {
            throw new BoardStatusException(StatusCode.OutOfRange, $"{command} rectangle outside the tile.");
        }
    }

    private WritePulseResponse WritePulses(WritePulseRequest request)
    {
        int[] cells = Indices(request.Pulses.Select(p => p.Cell).ToList());
        if (request.Pulses.Any(p => !Info.SafeOperatingArea.Allows(p.AmplitudeVolts, p.WidthNs)))
        {
            throw new BoardStatusException(StatusCode.OutsideSafeOperatingArea, "a pulse outside the safe operating area.");
        }
        for (int i = 0; i < cells.Length; i++)
        {
            Pulse p = request.Pulses[i];
            Cells.Pulse(cells[i], p.Polarity, p.AmplitudeVolts, p.WidthNs);
        }
        return new WritePulseResponse((ushort)cells.Length);
    }

    private ProgramResponse Program(ProgramRequest request)
    {
        int[] cells = Indices(request.Targets.Select(t => t.Cell).ToList());
        var statuses = new StatusCode[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            ProgramTarget t = request.Targets[i];
            double? target = t.Kind == TargetKind.Level
                ? t.Value >= 0 && t.Value <= Info.LevelsPerCell - 1 && t.Value == MathF.Round(t.Value) ? Cells.Preset.LevelConductance((int)t.Value) : null
                : t.Value >= Info.ConductanceMinMicrosiemens && t.Value <= Info.ConductanceMaxMicrosiemens ? t.Value : null;
            if (target is null)
            {
                statuses[i] = StatusCode.OutOfRange;
                continue;
            }
            // Open loop: the board cannot tell a stuck cell without reading it, so it reports OK.
            Cells.Program(cells[i], target.Value);
            statuses[i] = StatusCode.Ok;
        }
        return new ProgramResponse(statuses);
    }

    /// <summary>A rectangle of level indices, as PROGRAM would take them one by one; only the cells that did not end OK are answered.</summary>
    private ProgramLevelsResponse ProgramLevels(ProgramLevelsRequest request)
    {
        CheckRectangle("PROGRAM_LEVELS", request.Origin, request.Rows, request.Columns);
        ProgramTarget[] targets = [.. request.Addresses().Zip(request.Levels, (cell, level) => new ProgramTarget(cell, TargetKind.Level, level))];
        IReadOnlyList<StatusCode> statuses = Program(new ProgramRequest(targets)).Cells;
        return new ProgramLevelsResponse([.. statuses.Select((s, i) => new CellException((ushort)i, s)).Where(e => e.Status != StatusCode.Ok)]);
    }

    /// <summary>The write-verify loop of PROGRAM_VERIFY over the cells the mask selects, each to its level's conductance.</summary>
    private VerifyLevelsResponse VerifyLevels(VerifyLevelsRequest request)
    {
        CheckRectangle("VERIFY_LEVELS", request.Origin, request.Rows, request.Columns);
        if (!(request.ToleranceMicrosiemens > 0) || request.MaxIterations == 0)
        {
            throw new BoardStatusException(StatusCode.OutOfRange, "VERIFY_LEVELS needs a positive tolerance and at least one iteration.");
        }
        int[] cells = Indices(request.Selected().ToList());
        var outcomes = new VerifyLevelsOutcome[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            int level = request.Levels[i];
            if (level >= Info.LevelsPerCell)
            {
                outcomes[i] = new VerifyLevelsOutcome(StatusCode.OutOfRange, 0);
                continue;
            }
            VerifyOutcome done = VerifyLoop.Run(Cells, cells[i], Cells.Preset.LevelConductance(level), request.ToleranceMicrosiemens, request.MaxIterations);
            outcomes[i] = new VerifyLevelsOutcome(done.Status, done.Iterations);
        }
        return new VerifyLevelsResponse(outcomes);
    }

    private ProgramVerifyResponse ProgramVerify(ProgramVerifyRequest request)
    {
        int[] cells = Indices(request.Targets.Select(t => t.Cell).ToList());
        if (request.Targets.Any(t => !(t.ToleranceMicrosiemens > 0) || t.MaxIterations == 0))
        {
            throw new BoardStatusException(StatusCode.OutOfRange, "PROGRAM_VERIFY needs a positive tolerance and at least one iteration.");
        }
        var outcomes = new VerifyOutcome[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            VerifyTarget t = request.Targets[i];
            // Written so that a NaN target is outside the window too: every comparison with NaN is false.
            outcomes[i] = !(t.TargetMicrosiemens >= Info.ConductanceMinMicrosiemens && t.TargetMicrosiemens <= Info.ConductanceMaxMicrosiemens)
                ? new VerifyOutcome(StatusCode.OutOfRange, 0, 0, 0)
                : VerifyLoop.Run(Cells, cells[i], t.TargetMicrosiemens, t.ToleranceMicrosiemens, t.MaxIterations);
        }
        return new ProgramVerifyResponse(outcomes);
    }

    private int[] Indices(IReadOnlyList<CellAddress> cells)
    {
        var indices = new int[cells.Count];
        for (int i = 0; i < cells.Count; i++)
        {
            CellAddress c = cells[i];
            if (c.Tile >= Geometry.Tiles || c.Row >= Geometry.Rows || c.Column >= Geometry.Columns)
            {
                throw new BoardStatusException(StatusCode.OutOfRange, $"cell {c} is outside the {Geometry} board.");
            }
            indices[i] = IndexOf(c);
        }
        return indices;
    }
}
