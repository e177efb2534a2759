using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;

namespace Swim.Controller.Simulation;

/// <summary>
/// How one simulated chip comes out: the mapped weights as selection sees them, split into units that can be
/// verified (a paper device or a board cell), and a way to sample instances.
/// </summary>
internal abstract class VariationModel : IDisposable
{
    public virtual void Dispose()
    {
    }

    public abstract WeightLayers Layers { get; }

    /// <summary>Verifiable units (devices or cells) per weight; unit u belongs to weight u / UnitsPerWeight.</summary>
    public abstract int UnitsPerWeight { get; }

    /// <summary>What <see cref="TrialInstance.Cost"/> counts.</summary>
    public abstract string CostUnit { get; }

    public long UnitCount => Layers.WeightCount * UnitsPerWeight;

    /// <summary>uswim-paper's s: the middle states' programming std over the outer states' (1 where variation does not depend on state).</summary>
    public abstract double StateSigmaRatio { get; }

    /// <summary>
    /// Every unit, most deserving of write-verify first, by the shared selection module. Depends on the instance
    /// only for the methods that look at it (posterior) or are seeded per trial (random).
    /// </summary>
    public abstract int[] Rank(SelectionMethod method, SensitivityResult? sensitivity, TrialInstance? instance, int seed);

    public abstract TrialInstance Sample(int trial, ulong seed);
}

/// <summary>One sampled device instance: what any selection of verified units would leave in the weights, and cost.</summary>
internal abstract class TrialInstance
{
    /// <summary>Each layer's weights with the units in <paramref name="verified"/> write-verified and the rest open loop.</summary>
    public abstract float[][] Weights(bool[] verified);

    /// <summary>Programming cost of writing every unit and verifying <paramref name="verified"/> (and reading every unit first when <paramref name="measuredFirst"/>).</summary>
    public abstract double Cost(bool[] verified, bool measuredFirst);

    /// <summary>The same programming's device time with the array's row parallelism, seconds; 0 where the model has no array.</summary>
    public virtual double ParallelCost(bool[] verified, bool measuredFirst) => 0;

    /// <summary>The same programming's link time on a 3 Mbaud line, seconds; 0 where the model has no board.</summary>
    public virtual double LinkCost(bool[] verified, bool measuredFirst) => 0;
}
