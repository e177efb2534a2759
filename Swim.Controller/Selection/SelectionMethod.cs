namespace Swim.Controller.Selection;

/// <summary>Which weights (or cells) get write-verify.</summary>
public enum SelectionMethod
{
    /// <summary>SWIM: the second derivative in units of the layer's full scale, h max|W|^2, largest first; ties by |w|.</summary>
    Swim,

    /// <summary>U-SWIM: SWIM's score times the weight's own expected error variance from the device's state-dependent table.</summary>
    USwim,

    /// <summary>Largest |w| first.</summary>
    Magnitude,

    /// <summary>A seeded random choice.</summary>
    Random,

    /// <summary>Largest |dL/dw| max|W| first.</summary>
    Gradient,

    /// <summary>
    /// After open-loop programming and one read of every cell: the weights whose measured error d predicts the largest
    /// loss change, 1/2 h d^2 + |g d| (the first-order term counted as risk in either direction: selecting on its
    /// sign leaves errors that all point along -g, which together overshoot).
    /// </summary>
    Posterior,

    /// <summary>Individual cells rather than whole weights: h times the cell's share of the weight (its significance squared) times its variance.</summary>
    CellLevel,

    /// <summary>
    /// U-SWIM as its authors compute it (their HSM): the summed second derivative plus twice the summed batch-mean
    /// gradients, times s for weights in a middle state, selected above a quantile threshold (<see cref="UswimPaperScore"/>).
    /// </summary>
    USwimPaper,
}

/// <summary>Names on the command line and in reports.</summary>
public static class SelectionMethods
{
    public static IReadOnlyList<string> Names => ["swim", "uswim", "magnitude", "random", "gradient", "posterior", "cell-level", "uswim-paper"];

    public static SelectionMethod Parse(string name) => name switch
    {
        "swim" => SelectionMethod.Swim,
        "uswim" => SelectionMethod.USwim,
        "magnitude" => SelectionMethod.Magnitude,
        "random" => SelectionMethod.Random,
        "gradient" => SelectionMethod.Gradient,
        "posterior" => SelectionMethod.Posterior,
        "cell-level" => SelectionMethod.CellLevel,
        "uswim-paper" => SelectionMethod.USwimPaper,
        _ => throw new SwimInputException($"selection method '{name}' is not one of {string.Join(", ", Names)}."),
    };

    public static string Name(SelectionMethod method) => Names[(int)method];

    /// <summary>Whether the method needs every cell read once after open-loop programming.</summary>
    public static bool NeedsMeasuredCells(SelectionMethod method) => method == SelectionMethod.Posterior;

    /// <summary>Whether the method needs the sensitivity pass (gradient and curvature).</summary>
    public static bool NeedsSensitivity(SelectionMethod method) => method is not (SelectionMethod.Magnitude or SelectionMethod.Random);

    /// <summary>Whether the method ranks by the loss's gradient, not only by its curvature.</summary>
    public static bool NeedsGradient(SelectionMethod method) => method is SelectionMethod.Gradient or SelectionMethod.Posterior or SelectionMethod.USwimPaper;
}
