using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;

namespace Swim.Controller.Scripting;

/// <summary>A scripted mapping session (docs/session-yaml.md): where things are, how weights map, and the steps in order.</summary>
/// <param name="Board">The board the steps run on; null when no step needs one.</param>
/// <param name="Output">The directory every step writes into.</param>
public sealed record SessionScript(
    string Source,
    BoardAddress? Board,
    EmulatorSettings Emulator,
    LinkSettings Link,
    string Model,
    DataReference? Calibration,
    DataReference? Test,
    ProgrammingSettings Programming,
    string Output,
    IReadOnlyList<ScriptStep> Steps)
{
    /// <summary>Further boards every program step spreads the model over with <see cref="Board"/> (<c>board:</c> given as a list).</summary>
    public IReadOnlyList<BoardAddress> MoreBoards { get; init; } = [];

    /// <summary><see cref="Board"/> and <see cref="MoreBoards"/> in order; none when the script names no board.</summary>
    public IReadOnlyList<BoardAddress> Boards => Board is null ? [] : [Board, .. MoreBoards];
}

/// <summary>A data file and how many of its first samples to use (all when null).</summary>
public sealed record DataReference(string Path, int? Samples);

/// <summary>The script's mapping section: how every program step maps and verifies.</summary>
public sealed record ProgrammingSettings(MappingOptions Mapping, double ToleranceFraction, ushort MaxIterations);

/// <summary>One step of a script, with the line it was written on (for messages).</summary>
public abstract record ScriptStep(int Line)
{
    public abstract string Describe();

    /// <summary>The selection methods the step ranks weights by (none for steps that select nothing).</summary>
    public virtual IEnumerable<SelectionMethod> RankingMethods => [];
}

/// <summary>IDENTIFY the board and print what it reports.</summary>
public sealed record IdentifyStep(int Line) : ScriptStep(Line)
{
    public override string Describe() => "identify";
}

/// <summary>The sensitivity pass over the calibration data, saved as sensitivity.npz; or, with <paramref name="From"/>, a file from an earlier pass.</summary>
public sealed record SensitivityStep(int Line, CurvatureKind Curvature, string? From = null) : ScriptStep(Line)
{
    public override string Describe() => From is null ? $"sensitivity ({Curvature.ToString().ToLowerInvariant()})" : $"sensitivity (read from {Path.GetFileName(From)})";
}

/// <summary>A programming session: every cell open loop, write-verify of the selection (a fraction or a device-time budget), read-back.</summary>
/// <param name="Cost">Where the selection's cells are taken from (<see cref="SelectionCost"/>).</param>
/// <param name="Placement">Where each layer's inputs and outputs go; sensitivity placement ranks them by SWIM's score.</param>
public sealed record ProgramStep(int Line, SelectionMethod Method, double Ratio, TimeSpan? Budget, int Seed,
    SelectionCost Cost = SelectionCost.Count, Mapping.Placement Placement = Mapping.Placement.Natural) : ScriptStep(Line)
{
    public string Label => (Budget is { } b
        ? $"{SelectionMethods.Name(Method)}-budget-{b.TotalSeconds.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}s"
        : $"{SelectionMethods.Name(Method)}-{(100 * Ratio).ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}pct")
        + (Cost == SelectionCost.Count ? "" : "-" + SelectionCosts.Name(Cost)) + (Placement == Mapping.Placement.Sensitivity ? "-placed" : "");

    public override string Describe() => $"program ({Label})";

    public override IEnumerable<SelectionMethod> RankingMethods => Placement == Mapping.Placement.Sensitivity ? [Method, SelectionMethod.Swim] : [Method];
}

/// <summary>Evaluate the last programmed model (or, before any program step, the model as trained) on the test data.</summary>
public sealed record EvalStep(int Line) : ScriptStep(Line)
{
    public override string Describe() => "eval";
}

/// <summary>A program step and an eval for every method and ratio.</summary>
public sealed record SweepStep(int Line, IReadOnlyList<SelectionMethod> Methods, IReadOnlyList<double> Ratios, int Seed) : ScriptStep(Line)
{
    public override string Describe() => $"sweep ({Methods.Count} methods x {Ratios.Count} ratios)";

    public override IEnumerable<SelectionMethod> RankingMethods => Methods;
}

/// <summary>A Monte-Carlo study (as <c>swim simulate</c>) into simulate-N/.</summary>
public sealed record SimulateStep(int Line, SimulationOptions Options) : ScriptStep(Line)
{
    public override string Describe() => $"simulate ({Options.NoiseModel.ToString().ToLowerInvariant()}, {Options.Trials} trials)";

    public override IEnumerable<SelectionMethod> RankingMethods => Options.Placement == Mapping.Placement.Sensitivity ? [.. Options.Methods, SelectionMethod.Swim] : Options.Methods;
}

/// <summary>report.json, report.md and accuracy-vs-device-time.png over every programmed run so far.</summary>
public sealed record ReportStep(int Line) : ScriptStep(Line)
{
    public override string Describe() => "report";
}
