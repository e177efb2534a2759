using System.Text.Json.Serialization;

namespace Swim.Controller.Simulation;

/// <summary>
/// What one slice of a study found: every (chip, method, fraction) of its range, the chips it sampled, and the
/// study's identity, so a merge can check that its slices belong together and cover the study exactly once.
/// </summary>
public sealed record StudyPart
{
    public required StudySlice Slice { get; init; }

    /// <summary>
    /// Everything that makes two runs the same study, by name: hashes of the model, the test samples and the
    /// derivatives, and every option that changes a number. Slices of one study agree on all of it.
    /// </summary>
    public required IReadOnlyDictionary<string, string> Study { get; init; }

    public required string Model { get; init; }

    public required string NoiseModel { get; init; }

    public string? Device { get; init; }

    public required int WeightBits { get; init; }

    public double? Sigma { get; init; }

    public double? SigmaVerified { get; init; }

    public required int Trials { get; init; }

    public required int Seed { get; init; }

    public required int TestSamples { get; init; }

    public required int CalibrationSamples { get; init; }

    public required string Curvature { get; init; }

    public double? StateSigmaRatio { get; init; }

    public string? FirstOrderTerm { get; init; }

    public required IReadOnlyList<string> Methods { get; init; }

    public required IReadOnlyList<double> Ratios { get; init; }

    /// <summary>Units verified per (method, fraction), method-major: the same on every chip.</summary>
    public required IReadOnlyList<int> Verified { get; init; }

    public required long UnitCount { get; init; }

    public required string CostUnit { get; init; }

    /// <summary>The device model's read time: "right after each write" or how long after programming ended.</summary>
    public string? ReadAfter { get; init; }

    /// <summary>The device model's selection cost: "count", "parallel" (whole rows) or "bench".</summary>
    public string? SelectionCost { get; init; }

    /// <summary>The device model's placement: "natural" or "sensitivity" (each layer's inputs and outputs by the score they hold).</summary>
    public string? Placement { get; init; }

    /// <summary>The chips this slice sampled, with what every method shares on them.</summary>
    public required IReadOnlyList<ChipOutcome> Chips { get; init; }

    /// <summary>This slice's units of work.</summary>
    public required IReadOnlyList<UnitOutcome> Units { get; init; }

    public required double Seconds { get; init; }

    /// <summary>The file this part was read from, for messages; not stored.</summary>
    [JsonIgnore]
    public string? Source { get; init; }
}

/// <summary>One sampled chip: test samples right with no write-verify and with full write-verify, and full write-verify's cost (serial, and row-parallel and link time where modelled; 0 where not).</summary>
public sealed record ChipOutcome(int Trial, int NoneCorrect, int FullCorrect, double FullCost, double FullParallelCost = 0, double FullLinkSeconds = 0);

/// <summary>One unit of a study's work: a method at a fraction on a chip.</summary>
public sealed record UnitOutcome(int Trial, int Method, int Ratio, int Correct, double Cost, double ParallelCost = 0, double LinkSeconds = 0);
