using Swim.Controller.Mapping;
using Swim.Controller.Selection;

namespace Swim.Controller.Sessions;

/// <summary>What a programming session does: which cells to verify, how tightly, and how weights map.</summary>
public sealed record ProgrammingOptions
{
    public SelectionMethod Method { get; init; } = SelectionMethod.Swim;

    /// <summary>Fraction of weights (of cells, for cell-level) to write-verify, 0..1.</summary>
    public double Fraction { get; init; } = 0.1;

    /// <summary>What a verified cell costs: the method's top cells wherever they sit, whole rows for a row-parallel array, or by bench time (a row's pass and each cell's link bytes).</summary>
    public SelectionCost SelectionCost { get; init; } = SelectionCost.Count;

    /// <summary>The link's rate (UART bits a second), what <see cref="SelectionCost.Bench"/> prices a verified cell's bytes at.</summary>
    public int LineBaud { get; init; } = Boards.LineRate.ProtocolDefaultBaud;

    /// <summary>Where each layer's inputs and outputs go on the crossbar; sensitivity placement needs the sensitivity pass.</summary>
    public Placement Placement { get; init; } = Placement.Natural;

    /// <summary>
    /// Instead of a fraction: device time the write-verify phase may spend. Weights are verified in rank order,
    /// a chunk at a time, until the board's STATUS shows the budget spent (so it overshoots by at most one chunk).
    /// </summary>
    public TimeSpan? VerifyBudget { get; init; }

    public MappingOptions Mapping { get; init; } = new();

    /// <summary>Write-verify band, as a fraction of the conductance window.</summary>
    public double ToleranceFraction { get; init; } = 0.01;

    public ushort MaxIterations { get; init; } = 50;

    /// <summary>Read back (and evaluate) this long after write-verify ends, so relaxation and drift show; null reads back at once.</summary>
    public TimeSpan? ReadAfter { get; init; }

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

    /// <summary>
    /// On resume, go on although cells read back show the board no longer holds what the journal says was programmed
    /// (a restarted emulator, another chip): for exercising a journal, never for a model that is to be used.
    /// </summary>
    public bool AcceptLostCells { get; init; }

    /// <summary>Seeds random selection.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Cells per round of commands: the unit of progress reports.</summary>
    public int ChunkCells { get; init; } = 16_384;

    /// <summary>Refuses options a session cannot run with, naming the option (as the command line and scripts spell it) and the range.</summary>
    public ProgrammingOptions Validate()
    {
        if (!(Fraction is >= 0 and <= 1))
        {
            throw new SwimInputException($"--ratio must lie in [0, 1] (got {Fraction}).");
        }
        if (VerifyBudget is { } budget && budget <= TimeSpan.Zero)
        {
            throw new SwimInputException($"--budget must be a positive number of seconds (got {budget.TotalSeconds}).");
        }
        if (!(ToleranceFraction is > 0 and < 1))
        {
            throw new SwimInputException($"--tolerance must lie between 0 and 1 (a fraction of the window; got {ToleranceFraction}).");
        }
        if (MaxIterations < 1)
        {
            throw new SwimInputException("--max-iterations must be 1 to 65535.");
        }
        if (ChunkCells < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkCells), ChunkCells, "a chunk holds at least one cell.");
        }
        MappingOptions.CheckMagnitudeBits(Mapping.MagnitudeBits);
        return this;
    }

    /// <summary>An iteration limit given as a number, refused outside 1 to 65535.</summary>
    public static ushort IterationLimit(int iterations) =>
        iterations is >= 1 and <= ushort.MaxValue ? (ushort)iterations : throw new SwimInputException($"--max-iterations must be 1 to 65535 (got {iterations}).");
}
