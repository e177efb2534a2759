using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;

namespace Swim.Tests.Selection;

/// <summary>
/// Every weight-level method's order on two hand-worked layers, computed by hand from each method's definition
/// (docs/selection-methods.md), so a method that ranks by the wrong quantity, sign or tie-break fails.
/// </summary>
public sealed class RankingTests
{
    // Layer a (max|W| 0.9): weights 0.5, -0.9, 0.1 = global 0, 1, 2. Layer b (max|W| 2): 2.0, -0.2 = global 3, 4.
    private static readonly WeightLayers s_layers = new(["a", "b"], [[0.5f, -0.9f, 0.1f], [2.0f, -0.2f]]);

    private static ParameterSensitivity Layer(string name, float[] h, float[] g, float fullScale) =>
        new(new TrainableParameter(name, [h.Length], IsMappedWeight: true, LayerWeight: name), g, h, [.. h.Select(v => v * fullScale * fullScale)], fullScale);

    // h: a 1, 1, 8; b 0.1, 0.5. g: a 0.1, -0.3, 0.05; b 0.2, -0.01.
    private static readonly SensitivityResult s_derivatives = new(
        [Layer("a", [1f, 1f, 8f], [0.1f, -0.3f, 0.05f], 0.9f), Layer("b", [0.1f, 0.5f], [0.2f, -0.01f], 2f)], CurvatureKind.Obd, 100, 0, 0);

    [Fact]
    public void Swim_ranks_by_curvature_in_full_scale_units_and_breaks_ties_by_magnitude()
    {
        // h max|W|^2: 0.81, 0.81, 6.48, 0.4, 2.0; weights 0 and 1 tie and |-0.9| > |0.5|.
        Assert.Equal([2, 4, 1, 0, 3], CellSelector.RankWeights(SelectionMethod.Swim, s_layers, s_derivatives));
    }

    [Fact]
    public void Magnitude_ranks_by_absolute_value_not_by_signed_value()
    {
        // |w|: 0.5, 0.9, 0.1, 2.0, 0.2. By signed value -0.9 would come last.
        Assert.Equal([3, 1, 0, 4, 2], CellSelector.RankWeights(SelectionMethod.Magnitude, s_layers, null));
    }

    [Fact]
    public void Gradient_ranks_by_absolute_gradient_in_full_scale_units()
    {
        // |g| max|W|: 0.09, 0.27, 0.045, 0.4, 0.02.
        Assert.Equal([3, 1, 0, 2, 4], CellSelector.RankWeights(SelectionMethod.Gradient, s_layers, s_derivatives));
    }

    [Fact]
    public void Uswim_ranks_by_curvature_times_each_weights_own_variance()
    {
        double[] variance = [1, 1, 0.01, 1, 10];
        // |h| variance: 1, 1, 0.08, 0.1, 5; weights 0 and 1 tie and go by magnitude.
        Assert.Equal([4, 1, 0, 3, 2], CellSelector.RankWeights(SelectionMethod.USwim, s_layers, s_derivatives, w => variance[w]));
    }

    [Fact]
    public void Posterior_ranks_by_the_loss_change_its_measured_error_predicts_counting_the_first_order_term_either_way()
    {
        // Errors d: 0.1, 0, -0.5, 0, 0.3. 1/2 h d^2 + |g d|: 0.015, 0, 1.025, 0, 0.0255; the two zeros go by |w| (2.0 before 0.9).
        float[][] measured = [[0.6f, -0.9f, -0.4f], [2.0f, 0.1f]];
        Assert.Equal([2, 4, 0, 3, 1], CellSelector.RankWeights(SelectionMethod.Posterior, s_layers, s_derivatives, measuredWeights: measured));
    }

    [Fact]
    public void Random_is_a_permutation_fixed_by_its_seed()
    {
        int[] first = CellSelector.RankWeights(SelectionMethod.Random, s_layers, null, seed: 4);

        Assert.Equal([0, 1, 2, 3, 4], first.Order());
        Assert.Equal(first, CellSelector.RankWeights(SelectionMethod.Random, s_layers, null, seed: 4));
        Assert.Contains(Enumerable.Range(5, 20), seed => !CellSelector.RankWeights(SelectionMethod.Random, s_layers, null, seed: seed).SequenceEqual(first));
    }

    [Fact]
    public void Cell_level_ranks_single_cells_by_curvature_times_the_cells_own_error_variance()
    {
        // Two cells a weight: cell c of weight w at global w * 2 + c. Variance of the weight's error from each cell:
        // the high cell 1, the low cell 1/16 (a significance of 1/4, squared), except weight 4's high cell, 0.
        double Variance(long weight, int cell) => weight == 4 && cell == 0 ? 0 : cell == 0 ? 1 : 1.0 / 16;

        int[] cells = CellSelector.RankCells(s_layers, s_derivatives, 2, Variance);

        // |h| variance by cell: 0: 1, 1: 1/16, 2: 1, 3: 1/16, 4: 8, 5: 0.5, 6: 0.1, 7: 1/160, 8: 0, 9: 1/32. Ties by index.
        Assert.Equal([4, 0, 2, 5, 6, 1, 3, 9, 7, 8], cells);
    }
}
