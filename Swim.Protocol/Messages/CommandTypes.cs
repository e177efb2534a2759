namespace Swim.Protocol.Messages;

/// <summary>Which way a pulse moves the conductance.</summary>
public enum PulsePolarity : byte
{
    /// <summary>Potentiation (SET): conductance up.</summary>
    Set = 0,

    /// <summary>Depression (RESET): conductance down.</summary>
    Reset = 1,
}

/// <summary>How a PROGRAM target is given.</summary>
public enum TargetKind : byte
{
    /// <summary>A level index 0 .. levels-1, spaced evenly over the conductance window.</summary>
    Level = 0,

    /// <summary>A conductance in microsiemens.</summary>
    Conductance = 1,
}

/// <summary>One pulse of a WRITE_PULSE: 15 bytes.</summary>
public readonly record struct Pulse(CellAddress Cell, PulsePolarity Polarity, float AmplitudeVolts, uint WidthNs)
{
    public const int WireLength = CellAddress.WireLength + 1 + 4 + 4;
}

/// <summary>One cell of an open-loop PROGRAM: 11 bytes.</summary>
public readonly record struct ProgramTarget(CellAddress Cell, TargetKind Kind, float Value)
{
    public const int WireLength = CellAddress.WireLength + 1 + 4;
}

/// <summary>One cell of a PROGRAM_VERIFY: aim for Target +- Tolerance (microsiemens) in at most MaxIterations; 16 bytes.</summary>
public readonly record struct VerifyTarget(CellAddress Cell, float TargetMicrosiemens, float ToleranceMicrosiemens, ushort MaxIterations)
{
    public const int WireLength = CellAddress.WireLength + 4 + 4 + 2;
}

/// <summary>How one cell's write-verify ended: 9 bytes.</summary>
public readonly record struct VerifyOutcome(StatusCode Status, ushort Iterations, ushort Pulses, float FinalMicrosiemens)
{
    public const int WireLength = 1 + 2 + 2 + 4;
}

/// <summary>One cell's lifetime counters: 16 bytes.</summary>
public readonly record struct CellCounters(uint Pulses, uint Reads, ulong DeviceTimeNs)
{
    public const int WireLength = 4 + 4 + 8;
}

/// <summary>What STATUS reports: the board's state and its link and work counters since power-up.</summary>
public sealed record BoardStatus(
    byte State,
    ulong UptimeMicroseconds,
    ulong DeviceTimeNs,
    uint FramesReceived,
    uint CrcErrors,
    uint FramingErrors,
    uint Replays,
    uint Executed,
    ulong Pulses,
    ulong Reads,
    ulong VerifyIterations,
    uint Resets)
{
    public const int WireLength = 1 + 8 + 8 + 4 * 5 + 8 * 3 + 4;
}
