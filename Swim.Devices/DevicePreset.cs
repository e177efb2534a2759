namespace Swim.Devices;

/// <summary>
/// The physics of one device technology. Conductances in microsiemens; every sigma is a fraction of the
/// conductance window (G_max - G_min). Values and their sources: docs/device-presets.md.
/// </summary>
public sealed record DevicePreset
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

    /// <summary>Std of every read, redrawn on each read.</summary>
    public required double ReadSigma { get; init; }

    /// <summary>Fraction of cells stuck from the start, half at G_min and half at G_max.</summary>
    public required double StuckRate { get; init; }

    /// <summary>Drift exponent nu: G(t) = G(t_program) ((t - t_program + t0) / t0)^(-nu), per cell N(mean, std), t0 = 1 s. 0 for none.</summary>
    public required double DriftNuMean { get; init; }

    public required double DriftNuStd { get; init; }

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

    public static IReadOnlyList<string> Names => ["rram", "pcm", "fefet", "paper"];

    public static DevicePreset ByName(string name) => name switch
    {
        "rram" => Rram,
        "pcm" => Pcm,
        "fefet" => FeFet,
        "paper" => Paper,
        _ => throw new ArgumentException($"unknown device preset '{name}'; presets are {string.Join(", ", Names)}."),
    };

    /// <summary>U-SWIM's per-level std for 2-bit cells, middle levels s times the outer, renormalised by 1/sqrt(0.4 s^2 + 0.6).</summary>
    public static double[] TwoBitFactors(double s)
    {
        double norm = 1 / Math.Sqrt(0.4 * s * s + 0.6);
        return [norm, s * norm, s * norm, norm];
    }

    /// <summary>HfOx-style RRAM, 2-bit cells, middle states 4x noisier (U-SWIM's "RRAM s = 4").</summary>
    public static DevicePreset Rram { get; } = new()
    {
        Name = "rram",
        ConductanceMin = 2f,
        ConductanceMax = 100f,
        Levels = 4,
        ProgramSigma = 0.06,
        DeviceSigma = 0.02,
        LevelSigmaFactors = TwoBitFactors(4),
        ReadSigma = 0.005,
        StuckRate = 0.005,
        DriftNuMean = 0.005,
        DriftNuStd = 0.002,
        Endurance = 1_000_000,
        PulseGain = 0.15,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.2,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 0.6f,
        AmplitudeMinVolts = 0.3f,
        AmplitudeMaxVolts = 3.0f,
        WidthMinNs = 10,
        WidthMaxNs = 100_000,
        ReferenceWidthNs = 100,
        ReadNs = 1_000,
        PulseNs = 500,
        VerifyOverheadNs = 500,
    };

    /// <summary>GST phase-change memory, 2-bit cells, strong drift (nu ~ 0.05), slower SET pulses.</summary>
    public static DevicePreset Pcm { get; } = new()
    {
        Name = "pcm",
        ConductanceMin = 0.1f,
        ConductanceMax = 25f,
        Levels = 4,
        ProgramSigma = 0.05,
        DeviceSigma = 0.02,
        LevelSigmaFactors = TwoBitFactors(2),
        ReadSigma = 0.01,
        StuckRate = 0.002,
        DriftNuMean = 0.05,
        DriftNuStd = 0.02,
        Endurance = 10_000_000,
        PulseGain = 0.12,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.3,
        PulseAdditiveSigma = 0.004,
        ThresholdVolts = 0.8f,
        AmplitudeMinVolts = 0.5f,
        AmplitudeMaxVolts = 3.5f,
        WidthMinNs = 20,
        WidthMaxNs = 1_000_000,
        ReferenceWidthNs = 200,
        ReadNs = 1_000,
        PulseNs = 1_000,
        VerifyOverheadNs = 500,
    };

    /// <summary>HfZrO FeFET, 2-bit cells, middle states 3x noisier (U-SWIM's "FeFET s = 3"), little drift, lower endurance.</summary>
    public static DevicePreset FeFet { get; } = new()
    {
        Name = "fefet",
        ConductanceMin = 0.5f,
        ConductanceMax = 50f,
        Levels = 4,
        ProgramSigma = 0.06,
        DeviceSigma = 0.02,
        LevelSigmaFactors = TwoBitFactors(3),
        ReadSigma = 0.004,
        StuckRate = 0.003,
        DriftNuMean = 0.002,
        DriftNuStd = 0.001,
        Endurance = 100_000,
        PulseGain = 0.1,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.25,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 1.5f,
        AmplitudeMinVolts = 1.0f,
        AmplitudeMaxVolts = 4.5f,
        WidthMinNs = 50,
        WidthMaxNs = 1_000_000,
        ReferenceWidthNs = 500,
        ReadNs = 500,
        PulseNs = 500,
        VerifyOverheadNs = 500,
    };

    /// <summary>
    /// The SWIM authors' model: one-bit cells with additive Gaussian error of std 0.1 of the device's range,
    /// independent of state; nothing else (no read noise, drift, stuck cells or wear).
    /// </summary>
    public static DevicePreset Paper { get; } = new()
    {
        Name = "paper",
        ConductanceMin = 0f,
        ConductanceMax = 100f,
        Levels = 2,
        ProgramSigma = 0.1,
        DeviceSigma = 0,
        LevelSigmaFactors = [1, 1],
        ReadSigma = 0,
        StuckRate = 0,
        DriftNuMean = 0,
        DriftNuStd = 0,
        Endurance = 0,
        PulseGain = 0.15,
        SoftBoundExponent = 0,
        PulseRelativeSigma = 0.2,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 0.6f,
        AmplitudeMinVolts = 0.3f,
        AmplitudeMaxVolts = 3.0f,
        WidthMinNs = 10,
        WidthMaxNs = 100_000,
        ReferenceWidthNs = 100,
        ReadNs = 1_000,
        PulseNs = 500,
        VerifyOverheadNs = 500,
    };
}
