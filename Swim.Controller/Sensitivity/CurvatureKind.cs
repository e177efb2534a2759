namespace Swim.Controller.Sensitivity;

/// <summary>Which second-derivative diagonal a derivative graph computes.</summary>
public enum CurvatureKind
{
    /// <summary>No second derivative (training needs gradients only).</summary>
    None,

    /// <summary>
    /// SWIM's: Optimal Brain Damage, Gauss-Newton form. The softmax cross-entropy curvature at the logits,
    /// p(1 - p), is carried back with squared coefficients in one pass.
    /// </summary>
    Obd,

    /// <summary>
    /// The exact Gauss-Newton diagonal: a square-root factor of the softmax cross-entropy Hessian, one column
    /// per class, carried back linearly, with per-sample weight gradients squared and summed. Equal to the
    /// exact Hessian diagonal for networks of ReLU, pooling, convolution and linear layers.
    /// </summary>
    Ggn,

    /// <summary>
    /// A one-sample Monte-Carlo estimate of <see cref="Ggn"/>: one label per sample drawn from the model's own
    /// prediction.
    /// </summary>
    GgnMonteCarlo,
}

/// <summary>The names curvature kinds go by on the command line and in scripts.</summary>
public static class CurvatureKinds
{
    public static IReadOnlyList<string> Names { get; } = ["obd", "ggn", "ggn-mc"];

    public static CurvatureKind Parse(string name) => name switch
    {
        "obd" => CurvatureKind.Obd,
        "ggn" => CurvatureKind.Ggn,
        "ggn-mc" => CurvatureKind.GgnMonteCarlo,
        _ => throw new SwimInputException($"--curvature '{name}' is not one of {string.Join(", ", Names)}."),
    };

    public static string Name(CurvatureKind kind) => kind switch
    {
        CurvatureKind.Obd => "obd",
        CurvatureKind.Ggn => "ggn",
        CurvatureKind.GgnMonteCarlo => "ggn-mc",
        _ => "none",
    };
}
