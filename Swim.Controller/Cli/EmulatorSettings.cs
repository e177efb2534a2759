using Swim.Emulator;
using Swim.Devices;

namespace Swim.Controller.Cli;

/// <summary>
/// How an in-process emulator (<c>--board emulator[:PRESET]</c>) is built: its geometry, the seed of its physics and,
/// when set, a stuck-cell rate in place of the preset's (0 gives a board whose only errors are programming variation).
/// </summary>
public sealed record EmulatorSettings(BoardGeometry Geometry, ulong Seed = 1, double? StuckRate = null)
{
    /// <summary>The default board, in-process or served by swim emulator: <see cref="BoardGeometry.Default"/>.</summary>
    public static readonly string DefaultGeometry = BoardGeometry.Default.ToString();

    public static EmulatorSettings Default { get; } = new(BoardGeometry.Default);

    public DevicePreset Apply(DevicePreset preset) => StuckRate is { } rate ? preset with { StuckRate = rate } : preset;

    /// <summary>Checks a stuck-cell rate given on the command line or in a script.</summary>
    public static double? CheckStuckRate(double? rate, string where) =>
        rate is null or (>= 0 and <= 1) ? rate : throw new SwimInputException($"{where} must be a fraction of cells in [0, 1] (got {rate}).");
}
