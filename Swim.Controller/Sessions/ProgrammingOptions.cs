using Swim.Controller.Mapping;
using Swim.Controller.Selection;

namespace Swim.Controller.Sessions;

/// <summary>What a programming session does: which cells to verify, how tightly, and how weights map.</summary>
public sealed record ProgrammingOptions
{
    public SelectionMethod Method { get; init; } = SelectionMethod.Swim;

    /// <summary>Fraction of weights (of cells, for cell-level) to write-verify, 0..1.</summary>
    public double Fraction { get; init; } = 0.1;

    /// <summary>
    /// Instead of a fraction: device time the write-verify phase may spend. Weights are verified in rank order,
    /// a chunk at a time, until the board's STATUS shows the budget spent (so it overshoots by at most one chunk).
    /// </summary>
    public TimeSpan? VerifyBudget { get; init; }

    public MappingOptions Mapping { get; init; } = new();

    /// <summary>Write-verify band, as a fraction of the conductance window.</summary>
    public double ToleranceFraction { get; init; } = 0.01;

    public ushort MaxIterations { get; init; } = 50;

    /// <summary>
    /// Drive write-verify from the host (READ and WRITE_PULSE) even when the board has PROGRAM_VERIFY; boards
    /// without it always get the host's loop.
    /// </summary>
    public bool HostVerify { get; init; }

    /// <summary>
    /// uswim-paper's s: the board's device's middle-state programming std over its outer states' (the authors' one
    /// number for state dependence); 1 for a device whose variation does not depend on state.
    /// </summary>
    public double StateSigmaRatio { get; init; } = 1;

    /// <summary>Seeds random selection.</summary>
    public int Seed { get; init; }

    /// <summary>Cells per round of commands: the unit of progress reports.</summary>
    public int ChunkCells { get; init; } = 16_384;
}
