namespace Swim.Controller.Simulation;

/// <summary>One (method, ratio) of a study: accuracy over the sampled chips and what programming them cost.</summary>
/// <param name="Ratio">The verified fraction asked for (of weights; of cells for cell-level).</param>
/// <param name="MeanAccuracy">Mean top-1 test accuracy over the trials, a fraction.</param>
/// <param name="StdAccuracy">Sample standard deviation of the accuracy over the trials.</param>
/// <param name="Cost">Mean programming cost, in <paramref name="CostUnit"/>.</param>
/// <param name="RelativeCost">Cost as a fraction of full write-verify's on the same chips.</param>
/// <param name="Speedup">Full write-verify's cost over this one's.</param>
/// <param name="VerifiedFraction">Fraction of all units (devices or cells) verified.</param>
/// <param name="Accuracies">Each trial's accuracy, in trial order.</param>
public sealed record SimulationPoint(
    string Method,
    double Ratio,
    double MeanAccuracy,
    double StdAccuracy,
    int Trials,
    double Cost,
    string CostUnit,
    double RelativeCost,
    double Speedup,
    double VerifiedFraction,
    IReadOnlyList<double> Accuracies)
{
    /// <summary>Each trial's test samples classified right, in trial order: the exact form of <see cref="Accuracies"/>.</summary>
    public IReadOnlyList<int> Correct { get; init; } = [];

    /// <summary>Each trial's programming cost, in trial order.</summary>
    public IReadOnlyList<double> Costs { get; init; } = [];

    /// <summary>Mean device time with the array's row parallelism, seconds (the device model; 0 where not modelled).</summary>
    public double ParallelCost { get; init; }

    /// <summary>Full write-verify's row-parallel time over this one's (0 where not modelled).</summary>
    public double ParallelSpeedup { get; init; }

    /// <summary>Mean link time of the session's bytes on a 3 Mbaud line, seconds (the device model; 0 where not modelled).</summary>
    public double LinkSeconds { get; init; }

    /// <summary>Full write-verify's bench time (row-parallel device time plus link time) over this one's (0 where not modelled).</summary>
    public double BenchSpeedup { get; init; }
}

/// <summary>A whole study: its settings, every point, and how long it took.</summary>
/// <param name="Evaluations">Test-set evaluations run (none and full write-verify once per trial, shared by all methods).</param>
public sealed record SimulationReport(
    string Model,
    string NoiseModel,
    string? Device,
    int WeightBits,
    double? Sigma,
    double? SigmaVerified,
    int Trials,
    int Seed,
    int TestSamples,
    int CalibrationSamples,
    string Curvature,
    double FullWriteVerifyAccuracy,
    double NoWriteVerifyAccuracy,
    int Evaluations,
    double Seconds,
    IReadOnlyList<SimulationPoint> Results)
{
    /// <summary>Each trial's test samples right under full write-verify, in trial order: every comparison's reference.</summary>
    public IReadOnlyList<int> FullWriteVerifyCorrect { get; init; } = [];

    /// <summary>Each trial's test samples right with no write-verify.</summary>
    public IReadOnlyList<int> NoWriteVerifyCorrect { get; init; } = [];

    /// <summary>Each trial's cost of full write-verify.</summary>
    public IReadOnlyList<double> FullWriteVerifyCosts { get; init; } = [];

    /// <summary>When the programmed chips were read for evaluation (the device model): right after each cell was written, or this long after programming ended.</summary>
    public string? ReadAfter { get; init; }

    /// <summary>The device model's selection cost: "count" (each method's top cells), "parallel" (whole rows by the score they hold) or "bench" (by score per second of row passes and link bytes).</summary>
    public string? SelectionCost { get; init; }

    /// <summary>The device model's placement: "natural" or "sensitivity" (each layer's inputs and outputs by the score they hold).</summary>
    public string? Placement { get; init; }

    /// <summary>uswim-paper's s (middle-state std over outer-state std) when the study ran it.</summary>
    public double? StateSigmaRatio { get; init; }

    /// <summary>How uswim-paper's first-order term was formed, when the study ran it.</summary>
    public string? FirstOrderTerm { get; init; }

    /// <summary>Which Swim ran the study, from what command, where and when: set by whoever writes the results.</summary>
    public Provenance? Provenance { get; init; }
}
