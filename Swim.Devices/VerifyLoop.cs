using Swim.Protocol.Messages;

namespace Swim.Devices;

/// <summary>
/// Write-verify as board firmware runs it (firmware-spec 0x06), in the incremental-step form of published chip-test
/// code: read (n samples averaged); while outside the band and under the iteration limit, pulse toward the target
/// and read again. The amplitude starts at the scheme's start voltage and grows by one step per pulse in the same
/// direction, up to its end voltage; a change of direction starts it again. The loop knows nothing of a cell's
/// response but what it reads. Stops after 5 changes of direction, and declares a cell stuck when three pulses in a
/// row at the end voltage move it by less than the read noise could explain.
/// </summary>
public static class VerifyLoop
{
    public const int MaxReversals = 5;
    public const int StuckAfter = 3;

    public static VerifyOutcome Run(CellArray cells, int cell, float target, float tolerance, ushort maxIterations)
    {
        ArgumentNullException.ThrowIfNull(cells);
        DevicePreset preset = cells.Preset;
        VerifyScheme scheme = preset.Verify;
        double noMoveBand = NoMoveBand(preset);
        double g = cells.Read(cell, scheme.ReadSamples);
        int iterations = 0, reversals = 0, still = 0;
        PulsePolarity? last = null;
        float amplitude = scheme.StartVolts;
        while (Math.Abs(g - target) > tolerance && iterations < maxIterations)
        {
            PulsePolarity polarity = g < target ? PulsePolarity.Set : PulsePolarity.Reset;
            if (last is { } previous && previous != polarity)
            {
                if (++reversals > MaxReversals)
                {
                    break;
                }
                amplitude = scheme.StartVolts;
            }
            else if (last is not null)
            {
                amplitude = Math.Min(amplitude + scheme.StepVolts, scheme.EndVolts);
            }
            last = polarity;
            cells.Pulse(cell, polarity, amplitude, scheme.WidthNs);
            double next = cells.Read(cell, scheme.ReadSamples);
            cells.CountVerifyIteration(cell);
            iterations++;
            // Only pulses at full amplitude that leave the cell where it was are evidence that it is stuck.
            still = amplitude >= scheme.EndVolts && Math.Abs(next - g) < noMoveBand ? still + 1 : 0;
            g = next;
            if (still >= StuckAfter)
            {
                return new VerifyOutcome(StatusCode.CellStuck, (ushort)iterations, (ushort)iterations, (float)g);
            }
        }
        StatusCode status = Math.Abs(g - target) <= tolerance ? StatusCode.Ok : StatusCode.DidNotConverge;
        return new VerifyOutcome(status, (ushort)iterations, (ushort)iterations, (float)g);
    }

    /// <summary>How little a verify read may move and still be read noise: three of its standard deviations, at least 0.1 % of the window.</summary>
    private static double NoMoveBand(DevicePreset preset)
    {
        double white = preset.ReadSigma * preset.Window / Math.Sqrt(preset.Verify.ReadSamples);
        double flicker = preset.Flicker.Sigma(preset.ConductanceMax, preset.ConductanceMax, 100e-6);
        return Math.Max(3 * Math.Sqrt(white * white + flicker * flicker), 1e-3 * preset.Window);
    }
}
