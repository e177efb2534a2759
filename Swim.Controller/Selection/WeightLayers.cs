using Swim.Controller.Mapping;

namespace Swim.Controller.Selection;

/// <summary>
/// The mapped weights as selection sees them: each layer's name and target values, numbered globally layer by
/// layer. A cell plan and the simulation's abstract devices both present their weights this way.
/// </summary>
public sealed class WeightLayers
{
    public WeightLayers(IReadOnlyList<string> names, IReadOnlyList<float[]> targets)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(targets);
        if (names.Count != targets.Count)
        {
            throw new ArgumentException($"{names.Count} layer names for {targets.Count} layers.", nameof(names));
        }
        Names = names;
        Targets = targets;
        var starts = new long[targets.Count + 1];
        for (int l = 0; l < targets.Count; l++)
        {
            starts[l + 1] = starts[l] + targets[l].Length;
        }
        Starts = starts;
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Each layer's weights as they should be programmed (quantized).</summary>
    public IReadOnlyList<float[]> Targets { get; }

    /// <summary>The global index of each layer's first weight, and the total last.</summary>
    public IReadOnlyList<long> Starts { get; }

    public int Count => Names.Count;

    public long WeightCount => Starts[^1];

    public static WeightLayers Of(CellPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new WeightLayers([.. plan.Mapping.Weights.Select(w => w.Name)], plan.TargetWeights);
    }
}
