namespace Swim.Controller.Selection;

/// <summary>What a verified cell costs, which decides where a selection's cells are taken from.</summary>
public enum SelectionCost
{
    /// <summary>Every cell the same (and serially each cell's loop costs about the same): the method's top cells wherever they sit.</summary>
    Count,

    /// <summary>
    /// An array that verifies a row at a time: a row pass costs about the same for one cell as for the whole row, so
    /// whole rows are taken in order of the method's score they hold (<see cref="CellSelector.ByRows"/>).
    /// </summary>
    RowParallel,

    /// <summary>
    /// The bench's time, row-parallel device time plus link time (<see cref="BenchCost"/>): a row costs a pass once, and
    /// each cell its bytes on the link, so cells are taken greedily by score per marginal second
    /// (<see cref="CellSelector.ByBenchCost"/>).
    /// </summary>
    Bench,
}

/// <summary>Names on the command line and in reports.</summary>
public static class SelectionCosts
{
    public static IReadOnlyList<string> Names => ["count", "parallel", "bench"];

    public static SelectionCost Parse(string name) => name switch
    {
        "count" or "serial" => SelectionCost.Count,
        "parallel" => SelectionCost.RowParallel,
        "bench" => SelectionCost.Bench,
        _ => throw new SwimInputException($"selection cost '{name}' is not one of count (or serial), parallel, bench."),
    };

    public static string Name(SelectionCost cost) => cost switch
    {
        SelectionCost.RowParallel => "parallel",
        SelectionCost.Bench => "bench",
        _ => "count",
    };
}
