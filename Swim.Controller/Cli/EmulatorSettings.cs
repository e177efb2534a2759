using Swim.Emulator;
using Swim.Emulator.Physics;

namespace Swim.Controller.Cli;

/// <summary>
/// How an in-process emulator (<c>--board emulator[:PRESET]</c>) is built: its geometry, the seed of its physics and,
/// when set, a stuck-cell rate in place of the preset's (0 gives a board whose only errors are programming variation).
/// </summary>
public sealed record EmulatorSettings(BoardGeometry Geometry, ulong Seed = 1, double? StuckRate = null)
{
    /// <summary>The default in-process board: 16 tiles of 256 x 256, room for LeNet-5 at 8 bits on 2-bit cells.</summary>
    public const string DefaultGeometry = "16x256x256";

    public static EmulatorSettings Default { get; } = new(BoardGeometry.Parse(DefaultGeometry));

    public DevicePreset Apply(DevicePreset preset) => StuckRate is { } rate ? preset with { StuckRate = rate } : preset;

    /// <summary>Checks a stuck-cell rate given on the command line or in a script.</summary>
    public static double? CheckStuckRate(double? rate, string where) =>
        rate is null or (>= 0 and <= 1) ? rate : throw new SwimInputException($"{where} must be a fraction of cells in [0, 1] (got {rate}).");
}
