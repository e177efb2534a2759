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
}

/// <summary>Names on the command line and in reports.</summary>
public static class SelectionCosts
{
    public static IReadOnlyList<string> Names => ["count", "parallel"];

    public static SelectionCost Parse(string name) => name switch
    {
        "count" or "serial" => SelectionCost.Count,
        "parallel" => SelectionCost.RowParallel,
        _ => throw new SwimInputException($"selection cost '{name}' is not one of count (or serial), parallel."),
    };

    public static string Name(SelectionCost cost) => cost == SelectionCost.RowParallel ? "parallel" : "count";
}
