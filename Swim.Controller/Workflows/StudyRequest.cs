using Swim.Controller.Data;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;

namespace Swim.Controller.Workflows;

/// <summary>A Monte-Carlo study (what <c>swim simulate</c> takes): the model, its test data, the study's options, where the derivatives come from, and where results go.</summary>
public sealed record StudyRequest
{
    public required string ModelPath { get; init; }

    public required DataSet Test { get; init; }

    public SimulationOptions Options { get; init; } = new();

    /// <summary>Calibration samples for the sensitivity pass, when a method needs one and <see cref="SensitivityFile"/> is not given.</summary>
    public DataSet? Calibration { get; init; }

    public string? SensitivityFile { get; init; }

    public CurvatureKind Curvature { get; init; } = CurvatureKind.Obd;

    /// <summary>Only this slice of the study (a job array's task), written as shard-I-of-N.json; the whole study when null.</summary>
    public StudySlice? Slice { get; init; }

    /// <summary>Where results.json, results.csv, results.md and the plots go (or the slice's file).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>The command line that asked for the study, kept in results.json's provenance (null from a script or a program).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>Trials x methods x ratios: the units a slice takes its share of.</summary>
    public int Evaluations => Options.Trials * Options.Methods.Count * Options.Ratios.Count;

    public StudyRequest Validate()
    {
        Options.Validate();
        if (Calibration is not null && SensitivityFile is not null)
        {
            throw new SwimInputException("give either --calib (samples for a sensitivity pass) or --sensitivity (derivatives from an earlier pass), not both.");
        }
        Slice?.CheckFits(Evaluations);
        OutputPaths.Directory(OutputDirectory, "--out");
        return this;
    }
}

/// <summary>What a study run wrote: the whole study's report, or one slice of it.</summary>
public sealed record StudyOutcome(SimulationReport? Report, StudyPart? Part, string Written);
