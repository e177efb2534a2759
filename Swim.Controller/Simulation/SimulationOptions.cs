using Swim.Controller.Mapping;
using Swim.Controller.Selection;
using Swim.Devices;

namespace Swim.Controller.Simulation;

/// <summary>Which variation a Monte-Carlo trial samples.</summary>
public enum NoiseModelKind
{
    /// <summary>The SWIM authors' model: quantized weights plus the additive error of eight one-bit devices, sigma or sigma_wv.</summary>
    Paper,

    /// <summary>The emulator's device physics: open-loop programming, the board's write-verify loop, read-back.</summary>
    Device,
}

/// <summary>What a Monte-Carlo study sweeps and how it samples device instances.</summary>
public sealed record SimulationOptions
{
    public IReadOnlyList<SelectionMethod> Methods { get; init; } = [SelectionMethod.Swim, SelectionMethod.Magnitude, SelectionMethod.Random];

    /// <summary>Verified fractions of weights (of cells, for cell-level), each in [0, 1].</summary>
    public IReadOnlyList<double> Ratios { get; init; } = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1];

    public NoiseModelKind NoiseModel { get; init; } = NoiseModelKind.Paper;

    /// <summary>Device model: what a verified cell costs, which decides where each method's cells are taken from.</summary>
    public SelectionCost SelectionCost { get; init; } = SelectionCost.Count;

    /// <summary>Device model: where each layer's inputs and outputs go on the crossbar.</summary>
    public Placement Placement { get; init; } = Placement.Natural;

    /// <summary>The device profile of <see cref="NoiseModelKind.Device"/>.</summary>
    public DevicePreset Device { get; init; } = DevicePreset.Rram;

    /// <summary>N: magnitude bits of a weight (step max|W_layer| / 2^N).</summary>
    public int WeightBits { get; init; } = MappingOptions.DefaultMagnitudeBits;

    /// <summary>Paper model: each device's std as a fraction of its range, unverified.</summary>
    public double Sigma { get; init; } = 0.1;

    /// <summary>Paper model: the same for verified devices.</summary>
    public double SigmaVerified { get; init; } = 0.01;

    /// <summary>Device model: the band of the board's write-verify loop, as a fraction of the conductance window.</summary>
    public double ToleranceFraction { get; init; } = 0.01;

    public ushort MaxIterations { get; init; } = 50;

    /// <summary>
    /// Device model: evaluate the chips this long after programming ended (relaxation, drift and read noise at that
    /// age); null reads each cell right after it was written, before anything could move.
    /// </summary>
    public TimeSpan? ReadAfter { get; init; }

    /// <summary>How a study's results say when the chips were read.</summary>
    public static string DescribeReadAfter(TimeSpan? readAfter) => readAfter is { } t ? $"{ReadAfterParser.Format(t)} after programming" : "right after each write";

    /// <summary>Device model: how signs are held (the programming session's default: differential pairs).</summary>
    public SignEncoding Signs { get; init; } = SignEncoding.Differential;

    /// <summary>Device instances sampled per (method, ratio); every method sees the same instances.</summary>
    public int Trials { get; init; } = 30;

    public int Seed { get; init; } = 1;

    /// <summary>Trials run at once, one core each.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// The noise model's settings as a user gives them (<c>swim simulate</c> or a script's simulate step), with the rules
    /// between them: sigma defaults to 0.1 (paper) or the preset's programming sigma (device), which it overrides;
    /// sigma-wv belongs to the paper model and defaults to sigma / 10; a stuck-cell rate belongs to the device model.
    /// </summary>
    public SimulationOptions WithNoise(NoiseModelKind noise, string device, double? sigma = null, double? sigmaVerified = null, double? stuckRate = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        bool paper = noise == NoiseModelKind.Paper;
        if (!paper && sigmaVerified is not null)
        {
            throw new SwimInputException("--sigma-wv (sigma_wv) belongs to the paper noise model; under the device model write-verify is the board's loop: set its band with the tolerance.");
        }
        if (paper && stuckRate is not null)
        {
            throw new SwimInputException("--stuck-rate (stuck_rate) belongs to the device noise model; the paper model has no stuck cells.");
        }
        if (stuckRate is not (null or (>= 0 and <= 1)))
        {
            throw new SwimInputException($"the stuck-cell rate must be a fraction in [0, 1] (got {stuckRate}).");
        }
        DevicePreset preset = DevicePreset.Names.Contains(device) ? DevicePreset.ByName(device)
            : throw new SwimInputException($"--device '{device}' is not a device preset; presets are {string.Join(", ", DevicePreset.Names)}.");
        preset = stuckRate is { } rate ? preset with { StuckRate = rate } : preset;
        double s = sigma ?? (paper ? 0.1 : preset.ProgramSigma);
        return this with
        {
            NoiseModel = noise,
            Device = !paper && sigma is { } programSigma ? preset with { ProgramSigma = programSigma } : preset,
            Sigma = s,
            SigmaVerified = sigmaVerified ?? s / 10,
        };
    }

    public void Validate()
    {
        if (Methods.Count == 0)
        {
            throw new SwimInputException($"--methods is empty; give one or more of {string.Join(", ", SelectionMethods.Names)}.");
        }
        if (Ratios.Count == 0 || Ratios.Any(r => r is < 0 or > 1 || double.IsNaN(r)))
        {
            throw new SwimInputException($"--ratios must be fractions in [0, 1], e.g. 0,0.05,0.1,1 (got {string.Join(",", Ratios)}).");
        }
        if (Trials < 1)
        {
            throw new SwimInputException($"--trials must be at least 1 (got {Trials}).");
        }
        MappingOptions.CheckMagnitudeBits(WeightBits);
        if (!(Sigma >= 0) || !(SigmaVerified >= 0) || double.IsInfinity(Sigma) || double.IsInfinity(SigmaVerified))
        {
            throw new SwimInputException($"--sigma and --sigma-wv must be finite and non-negative (got {Sigma} and {SigmaVerified}).");
        }
        if (!(ToleranceFraction > 0 && ToleranceFraction < 1))
        {
            throw new SwimInputException($"--tolerance must lie between 0 and 1 of the conductance window (got {ToleranceFraction}).");
        }
        if (Placement != Placement.Natural && NoiseModel == NoiseModelKind.Paper)
        {
            throw new SwimInputException("--placement sensitivity belongs to the device noise model: the paper model has no crossbar.");
        }
        if (SelectionCost != SelectionCost.Count && NoiseModel == NoiseModelKind.Paper)
        {
            throw new SwimInputException($"--selection-cost {SelectionCosts.Name(SelectionCost)} belongs to the device noise model: the paper model has no crossbar rows.");
        }
        if (ReadAfter is { } wait && (wait < TimeSpan.Zero || NoiseModel == NoiseModelKind.Paper))
        {
            throw new SwimInputException(wait < TimeSpan.Zero ? "--read-after must not be negative." : "--read-after belongs to the device noise model: the paper model has no time after programming.");
        }
        if (Parallelism < 1)
        {
            throw new SwimInputException($"--threads must be at least 1 (got {Parallelism}).");
        }
    }
}
