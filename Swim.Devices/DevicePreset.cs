namespace Swim.Devices;

/// <summary>
/// The physics of one device technology. Conductances in microsiemens; every sigma is a fraction of the
/// conductance window (G_max - G_min). Values and their sources: docs/device-presets.md.
/// </summary>
public sealed partial record DevicePreset
{
    public required string Name { get; init; }

    public required float ConductanceMin { get; init; }

    public required float ConductanceMax { get; init; }

    /// <summary>Levels per cell, spaced evenly over the window.</summary>
    public required int Levels { get; init; }

    /// <summary>Cycle-to-cycle std of an open-loop PROGRAM, before the per-level factor.</summary>
    public required double ProgramSigma { get; init; }

    /// <summary>Device-to-device std: a fixed offset per cell, drawn once, added to every open-loop PROGRAM.</summary>
    public required double DeviceSigma { get; init; }

    /// <summary>
    /// Per-level multipliers of <see cref="ProgramSigma"/> (length <see cref="Levels"/>): middle states of
    /// multi-level cells are noisier. Between levels the factor is interpolated.
    /// </summary>
    public required IReadOnlyList<double> LevelSigmaFactors { get; init; }

    /// <summary>Std of the white part of every read sample, redrawn per sample (averaging over n samples divides it by sqrt n).</summary>
    public required double ReadSigma { get; init; }

    /// <summary>The 1/f part of read noise, one draw per READ however many samples it averages.</summary>
    public FlickerNoise Flicker { get; init; } = FlickerNoise.None;

    /// <summary>Fraction of cells stuck from the start.</summary>
    public required double StuckRate { get; init; }

    /// <summary>Of the stuck cells, the fraction stuck at G_max (the rest at G_min).</summary>
    public double StuckHighFraction { get; init; } = 0.5;

    /// <summary>Conductance drift after programming (PCM); <see cref="DriftLaw.None"/> for none.</summary>
    public DriftLaw Drift { get; init; } = DriftLaw.None;

    /// <summary>Conductance relaxation after programming (RRAM); <see cref="RelaxationLaw.None"/> for none.</summary>
    public RelaxationLaw Relaxation { get; init; } = RelaxationLaw.None;

    /// <summary>Pulses a cell endures before it wears out and sticks where it is; 0 for unlimited.</summary>
    public required long Endurance { get; init; }

    /// <summary>Pulse response: a pulse at full strength moves the conductance by this fraction of the window (before soft bounds).</summary>
    public required double PulseGain { get; init; }

    /// <summary>Soft-bound exponent: the step shrinks as ((distance to the bound) / window)^gamma.</summary>
    public required double SoftBoundExponent { get; init; }

    /// <summary>
    /// The least fraction of a full step a pulse still makes next to a bound; the conductance then saturates
    /// at the bound. Without it the window's edges could only be approached, never reached.
    /// </summary>
    public double SoftBoundFloor { get; init; } = 0.1;

    /// <summary>Cycle noise of a pulse: relative std of its step, plus an additive std (fraction of window).</summary>
    public required double PulseRelativeSigma { get; init; }

    public required double PulseAdditiveSigma { get; init; }

    /// <summary>Pulse amplitude below which nothing moves (volts), and the safe operating area.</summary>
    public required float ThresholdVolts { get; init; }

    public required float AmplitudeMinVolts { get; init; }

    public required float AmplitudeMaxVolts { get; init; }

    public required uint WidthMinNs { get; init; }

    public required uint WidthMaxNs { get; init; }

    /// <summary>Width at which <see cref="PulseGain"/> applies; the step grows with sqrt(width / reference).</summary>
    public required uint ReferenceWidthNs { get; init; }

    /// <summary>Device time of one read, one pulse, and the fixed overhead of one verify iteration, ns.</summary>
    public required uint ReadNs { get; init; }

    public required uint PulseNs { get; init; }

    public required uint VerifyOverheadNs { get; init; }

    /// <summary>Device-to-device std of the switching threshold, volts: some cells need a higher pulse to move at all.</summary>
    public double ThresholdSigmaVolts { get; init; }

    /// <summary>The board's write-verify loop: incremental-step pulses and averaged verify reads.</summary>
    public required VerifyScheme Verify { get; init; }

    /// <summary>Device time of one iteration of the verify loop: a pulse, a verify read of n samples, the overhead.</summary>
    public uint VerifyIterationNs => PulseNs + (uint)Verify.ReadSamples * ReadNs + VerifyOverheadNs;

    /// <summary>The same preset with nothing that changes a cell after programming: no drift, no relaxation.</summary>
    public DevicePreset WithoutTimeEffects() => this with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };

    public double Window => ConductanceMax - ConductanceMin;

    public float LevelConductance(int level) => (float)(ConductanceMin + level * Window / (Levels - 1));

    /// <summary>The state-dependent factor at conductance <paramref name="g"/>, interpolated between levels.</summary>
    public double SigmaFactorAt(double g)
    {
        double position = Math.Clamp((g - ConductanceMin) / Window, 0, 1) * (Levels - 1);
        int below = Math.Min((int)position, Levels - 2);
        double t = position - below;
        return LevelSigmaFactors[below] * (1 - t) + LevelSigmaFactors[below + 1] * t;
    }

    /// <summary>
    /// U-SWIM's s for this device: the middle levels' programming std over the outer levels' (the authors' 2-bit cells
    /// have one s for the two middle states). 1 for a device with two levels, which has no middle state.
    /// </summary>
    public double StateSigmaRatio => LevelSigmaFactors.Count < 3
        ? 1
        : LevelSigmaFactors.Skip(1).Take(LevelSigmaFactors.Count - 2).Average() / ((LevelSigmaFactors[0] + LevelSigmaFactors[^1]) / 2);

    /// <summary>
    /// The variance of one open-loop write at a point <paramref name="windowFraction"/> (0..1) of the window, as a
    /// fraction of the window squared: cycle-to-cycle sigma times the state-dependent factor there, plus
    /// device-to-device sigma. What U-SWIM and cell-level selection weigh a cell's sensitivity by.
    /// </summary>
    public double ProgrammingVariance(double windowFraction)
    {
        double sigma = ProgramSigma * SigmaFactorAt(ConductanceMin + windowFraction * Window);
        return sigma * sigma + DeviceSigma * DeviceSigma;
    }

    /// <summary>U-SWIM's per-level std for 2-bit cells, middle levels s times the outer, renormalised by 1/sqrt(0.4 s^2 + 0.6).</summary>
    public static double[] TwoBitFactors(double s)
    {
        double norm = 1 / Math.Sqrt(0.4 * s * s + 0.6);
        return [norm, s * norm, s * norm, norm];
    }
}
