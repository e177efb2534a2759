namespace Swim.Devices;

/// <summary>
/// How the board's write-verify loop pulses: incremental-step pulses (ISPP) that start at <see cref="StartVolts"/>
/// in each direction and grow by <see cref="StepVolts"/> while the cell stays on the same side of its band, up to
/// <see cref="EndVolts"/>; the amplitude starts again when the direction changes. Each verify read averages
/// <see cref="ReadSamples"/> samples.
/// </summary>
public sealed record VerifyScheme
{
    public required float StartVolts { get; init; }

    public required float StepVolts { get; init; }

    public required float EndVolts { get; init; }

    public required uint WidthNs { get; init; }

    public required int ReadSamples { get; init; }
}
