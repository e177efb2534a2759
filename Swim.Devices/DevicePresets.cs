namespace Swim.Devices;

// The presets. Every number's source is in docs/device-presets.md, row by row; "chosen" there marks the few that no
// source gives. The comments here name the source in a word.
public sealed partial record DevicePreset
{
    public static IReadOnlyList<string> Names => ["rram", "hfox", "pcm", "fefet", "paper"];

    public static DevicePreset ByName(string name) => name switch
    {
        "rram" => Rram,
        "hfox" => HfOx,
        "pcm" => Pcm,
        "fefet" => FeFet,
        "paper" => Paper,
        _ => throw new ArgumentException($"unknown device preset '{name}'; presets are {string.Join(", ", Names)}."),
    };

    /// <summary>NeuRRAM's write-verify loop (its chip-test code): 0.1 V steps from 1.2 V up to 3.3 V, 1 us pulses, 5 averaged reads.</summary>
    private static VerifyScheme NeuRramLoop { get; } = new() { StartVolts = 1.2f, StepVolts = 0.1f, EndVolts = 3.3f, WidthNs = 1_000, ReadSamples = 5 };

    /// <summary>
    /// NeuRRAM-like RRAM (Wan et al., Nature 2022): 40 uS window, relaxation after programming as aihwkit fits the
    /// chip's data at 1 s and 1 day, white read noise of about 1 % of G_max, NeuRRAM's incremental-step loop; 2-bit
    /// cells with U-SWIM's RRAM spread (sigma 0.1, middle states s = 4 times the outer).
    /// </summary>
    public static DevicePreset Rram { get; } = new()
    {
        Name = "rram",
        ConductanceMin = 0f,
        ConductanceMax = 40f,
        Levels = 4,
        ProgramSigma = 0.1,
        DeviceSigma = 0,
        LevelSigmaFactors = TwoBitFactors(4),
        ReadSigma = 0.01,
        StuckRate = 0.005,
        StuckHighFraction = 0.9,
        Relaxation = new RelaxationLaw
        {
            ReferenceMax = 40,
            SigmaAt1Second = [0.348, 16.030, -43.853, 45.393, -16.815],
            SigmaAt1Day = [0.701, 22.086, -50.773, 47.095, -16.458],
        },
        Endurance = 1_000_000,
        PulseGain = 0.15,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.2,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 1.1f,
        ThresholdSigmaVolts = 0.1,
        AmplitudeMinVolts = 0.5f,
        AmplitudeMaxVolts = 3.3f,
        WidthMinNs = 10,
        WidthMaxNs = 100_000,
        ReferenceWidthNs = 1_000,
        ReadNs = 1_000,
        PulseNs = 1_000,
        VerifyOverheadNs = 0,
        Verify = NeuRramLoop,
    };

    /// <summary>
    /// Multi-level CMO/HfOx RRAM (IBM Zurich, as aihwkit's ReRamCMONoiseModel states it): 9-88 uS window, 1/f read
    /// noise, log-time decay and spread after programming; everything else (loop, pulses, cells) as rram.
    /// </summary>
    public static DevicePreset HfOx { get; } = Rram with
    {
        Name = "hfox",
        ConductanceMin = 9f,
        ConductanceMax = 88.19f,
        ReadSigma = 0,
        Flicker = new FlickerNoise { Coefficient = 6.1e-4, Exponent = 0.315, ReadTimeSeconds = 1e-6 },
        Relaxation = new RelaxationLaw
        {
            ReferenceMax = 88.19,
            SigmaAt1Second = [0.41183342],
            SigmaAt1Day = [0.41183342 + 0.04201137 * 11.366743],
            ShiftPerLnSecond = -0.08900206,
        },
    };

    /// <summary>
    /// IBM's PCM as aihwkit's PCMLikeNoiseModel states it (Nandakumar et al. 2019, Joshi et al. 2020): 25 uS window,
    /// state-dependent drift exponents with t0 = 20 s, 1/f read noise with t_read = 250 ns; 2-bit cells.
    /// </summary>
    public static DevicePreset Pcm { get; } = new()
    {
        Name = "pcm",
        ConductanceMin = 0f,
        ConductanceMax = 25f,
        Levels = 4,
        ProgramSigma = 0.1,
        DeviceSigma = 0,
        LevelSigmaFactors = TwoBitFactors(2),
        ReadSigma = 0,
        Flicker = new FlickerNoise { Coefficient = 0.0088, Exponent = 0.35, MaxRelative = 0.2, ReadTimeSeconds = 250e-9 },
        StuckRate = 0.002,
        StuckHighFraction = 0.9,
        Drift = new DriftLaw
        {
            MeanSlope = -0.0155, MeanIntercept = 0.0244, MeanMin = 0.049, MeanMax = 0.1,
            StdSlope = -0.0125, StdIntercept = -0.0059, StdMin = 0.008, StdMax = 0.045,
            T0Seconds = 20,
        },
        Endurance = 10_000_000,
        PulseGain = 0.15,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.3,
        PulseAdditiveSigma = 0.004,
        ThresholdVolts = 0.8f,
        ThresholdSigmaVolts = 0.1,
        AmplitudeMinVolts = 0.5f,
        AmplitudeMaxVolts = 3.0f,
        WidthMinNs = 20,
        WidthMaxNs = 1_000_000,
        ReferenceWidthNs = 1_000,
        ReadNs = 250,
        PulseNs = 1_000,
        VerifyOverheadNs = 0,
        Verify = new VerifyScheme { StartVolts = 0.9f, StepVolts = 0.1f, EndVolts = 3.0f, WidthNs = 1_000, ReadSamples = 5 },
    };

    /// <summary>
    /// 28 nm HKMG FeFET, 2 bits a cell (De et al., IEEE J-EDS 2022: 500 ns write pulses of at most 4.5 V); U-SWIM's
    /// FeFET spread with middle states s = 3 times the outer.
    /// </summary>
    public static DevicePreset FeFet { get; } = new()
    {
        Name = "fefet",
        ConductanceMin = 0.5f,
        ConductanceMax = 50f,
        Levels = 4,
        ProgramSigma = 0.1,
        DeviceSigma = 0,
        LevelSigmaFactors = TwoBitFactors(3),
        ReadSigma = 0.004,
        StuckRate = 0.003,
        StuckHighFraction = 0.5,
        Endurance = 100_000,
        PulseGain = 0.15,
        SoftBoundExponent = 1,
        PulseRelativeSigma = 0.25,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 2.0f,
        ThresholdSigmaVolts = 0.1,
        AmplitudeMinVolts = 1.0f,
        AmplitudeMaxVolts = 4.5f,
        WidthMinNs = 50,
        WidthMaxNs = 1_000_000,
        ReferenceWidthNs = 500,
        ReadNs = 500,
        PulseNs = 500,
        VerifyOverheadNs = 0,
        Verify = new VerifyScheme { StartVolts = 2.1f, StepVolts = 0.1f, EndVolts = 4.5f, WidthNs = 500, ReadSamples = 5 },
    };

    /// <summary>
    /// The SWIM authors' model: one-bit cells with additive Gaussian error of std 0.1 of the device's range,
    /// independent of state; nothing else (no read noise, drift, stuck cells or wear). Its loop is NeuRRAM's.
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
        Endurance = 0,
        PulseGain = 0.15,
        SoftBoundExponent = 0,
        PulseRelativeSigma = 0.2,
        PulseAdditiveSigma = 0.003,
        ThresholdVolts = 1.1f,
        AmplitudeMinVolts = 0.5f,
        AmplitudeMaxVolts = 3.3f,
        WidthMinNs = 10,
        WidthMaxNs = 100_000,
        ReferenceWidthNs = 1_000,
        ReadNs = 1_000,
        PulseNs = 1_000,
        VerifyOverheadNs = 0,
        Verify = NeuRramLoop,
    };
}
