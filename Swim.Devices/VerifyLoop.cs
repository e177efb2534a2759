using Swim.Protocol.Messages;

namespace Swim.Devices;

/// <summary>
/// Write-verify as board firmware runs it (firmware-spec 0x06): read; while outside the band and under the
/// iteration limit, one pulse toward the target with its amplitude sized from the error by inverting the
/// pulse model, then read again. Stops after 5 polarity reversals, and declares a cell stuck when three
/// pulses in a row move it by less than the read noise could explain.
/// </summary>
public static class VerifyLoop
{
    public const int MaxReversals = 5;
    public const int StuckAfter = 3;

    public static VerifyOutcome Run(CellArray cells, int cell, float target, float tolerance, ushort maxIterations)
    {
        ArgumentNullException.ThrowIfNull(cells);
        DevicePreset preset = cells.Preset;
        uint width = preset.ReferenceWidthNs;
        double noMoveBand = Math.Max(3 * preset.ReadSigma * preset.Window, 1e-4 * preset.Window);
        double g = cells.Read(cell);
        int iterations = 0, reversals = 0, still = 0;
        PulsePolarity? last = null;
        while (Math.Abs(g - target) > tolerance && iterations < maxIterations)
        {
            double error = target - g;
            PulsePolarity polarity = error > 0 ? PulsePolarity.Set : PulsePolarity.Reset;
            if (last is { } previous && previous != polarity && ++reversals > MaxReversals)
            {
                break;
            }
            last = polarity;
            float amplitude = SizeAmplitude(cells, g, error, polarity, width);
            double expected = Math.Abs(cells.ExpectedStep(g, polarity, amplitude, width));
            cells.Pulse(cell, polarity, amplitude, width);
            double next = cells.Read(cell);
            cells.CountVerifyIteration(cell);
            iterations++;
            // Only a pulse that should clearly have moved the cell, and did not, is evidence that it is stuck.
            bool expectedToMove = expected > 2 * noMoveBand;
            still = expectedToMove && Math.Abs(next - g) < noMoveBand ? still + 1 : expectedToMove ? 0 : still;
            g = next;
            if (still >= StuckAfter)
            {
                return new VerifyOutcome(StatusCode.CellStuck, (ushort)iterations, (ushort)iterations, (float)g);
            }
        }
        StatusCode status = Math.Abs(g - target) <= tolerance ? StatusCode.Ok : StatusCode.DidNotConverge;
        return new VerifyOutcome(status, (ushort)iterations, (ushort)iterations, (float)g);
    }

    /// <summary>The amplitude whose expected step equals the error, within the safe operating area.</summary>
    private static float SizeAmplitude(CellArray cells, double g, double error, PulsePolarity polarity, uint width)
    {
        DevicePreset p = cells.Preset;
        double fullStep = Math.Abs(cells.ExpectedStep(g, polarity, p.AmplitudeMaxVolts, width));
        double drive = fullStep <= 0 ? 1 : Math.Min(1, Math.Abs(error) / fullStep);
        double amplitude = p.ThresholdVolts + drive * (p.AmplitudeMaxVolts - p.ThresholdVolts);
        return (float)Math.Clamp(amplitude, Math.Max(p.AmplitudeMinVolts, p.ThresholdVolts), p.AmplitudeMaxVolts);
    }
}
