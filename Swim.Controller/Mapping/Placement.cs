namespace Swim.Controller.Mapping;

/// <summary>Where a layer's inputs and outputs go on the crossbar.</summary>
public enum Placement
{
    /// <summary>Input i on row i, output j on column group j.</summary>
    Natural,

    /// <summary>Inputs and outputs in order of the SWIM score their weights hold (<see cref="CrossbarMapping.Placed"/>).</summary>
    Sensitivity,
}

/// <summary>Names on the command line and in reports.</summary>
public static class Placements
{
    public static IReadOnlyList<string> Names => ["natural", "sensitivity"];

    public static Placement Parse(string name) => name switch
    {
        "natural" => Placement.Natural,
        "sensitivity" => Placement.Sensitivity,
        _ => throw new SwimInputException($"placement '{name}' is not one of natural, sensitivity."),
    };

    public static string Name(Placement placement) => Names[(int)placement];

    /// <summary>Each mapped layer's SWIM score per element (|h| max|W|^2), what sensitivity placement orders by; refused with the fix without derivatives.</summary>
    public static IReadOnlyList<float[]> Scores(CrossbarMapping mapping, Sensitivity.SensitivityResult? sensitivity)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        Sensitivity.SensitivityResult derivatives = sensitivity
            ?? throw new SwimInputException("--placement sensitivity orders inputs and outputs by SWIM's score: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
        return [.. mapping.Weights.Select(w => derivatives.Parameters.FirstOrDefault(p => p.Parameter.Name == w.Name)?.Score
            ?? throw new SwimInputException($"the sensitivity results have no score for weight '{w.Name}'; compute them for this model."))];
    }
}
