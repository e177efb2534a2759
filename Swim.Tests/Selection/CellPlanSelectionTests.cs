using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Devices;
using Swim.Emulator;
using Swim.Tests.Support;

namespace Swim.Tests.Selection;

/// <summary>
/// Selection on a real cell plan (a small MLP, 8-bit magnitudes as four 2-bit cells, differential: 8 cells a weight,
/// cell = weight * 8 + group * 4 + digit, digit 0 the most significant), against what the mapping's definition says a
/// cell is worth: digit d of a weight moves it by 4^(3 - d) steps per level.
/// </summary>
public sealed class CellPlanSelectionTests
{
    private const int PerWeight = 8;

    private static readonly OnnxModel s_model = OnnxModel.FromBytes(new TinyMlp(5).Build().ToByteArray(), "tiny mlp", null);

    internal static CellPlan Plan(DevicePreset? preset = null) =>
        CellPlan.Build(CrossbarMapping.Build(s_model, EmulatedBoard.Describe(preset ?? DevicePreset.Rram, new BoardGeometry(1, 256, 256), 1), new MappingOptions()), s_model);

    /// <summary>Curvature 1 and gradient 0 for every weight except where <paramref name="score"/> says; SWIM's score as given.</summary>
    private static SensitivityResult Derivatives(CellPlan plan, Func<long, double>? score = null, bool gradients = true)
    {
        WeightLayers layers = WeightLayers.Of(plan);
        var parameters = new List<ParameterSensitivity>();
        for (int l = 0; l < layers.Count; l++)
        {
            int n = layers.Targets[l].Length;
            long start = layers.Starts[l];
            float[] scores = [.. Enumerable.Range(0, n).Select(e => (float)(score?.Invoke(start + e) ?? 1))];
            parameters.Add(new ParameterSensitivity(new TrainableParameter(layers.Names[l], [n], IsMappedWeight: true, LayerWeight: layers.Names[l]),
                gradients ? new float[n] : null, [.. Enumerable.Repeat(1f, n)], scores, 1f));
        }
        return new SensitivityResult(parameters, CurvatureKind.Obd, 64, 0, 0);
    }

    [Fact]
    public void The_plan_is_eight_cells_a_weight()
    {
        CellPlan plan = Plan();
        Assert.Equal(PerWeight, plan.Mapping.CellsPerWeight);
        Assert.Equal((TinyMlp.Hidden * TinyMlp.Features + TinyMlp.Classes * TinyMlp.Hidden) * PerWeight, plan.CellCount);
    }

    [Fact]
    public void A_fraction_buys_whole_weights_for_weight_methods_and_single_cells_for_cell_level()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);

        bool[] swim = CellSelector.Select(SelectionMethod.Swim, 0.1, plan, derivatives);
        bool[] cells = CellSelector.Select(SelectionMethod.CellLevel, 0.1, plan, derivatives, cellVariance: _ => 1);

        // 152 weights: 15 of them, whole; 1,216 cells: 122 of them, which no number of whole weights makes.
        Assert.Equal(15 * PerWeight, swim.Count(v => v));
        Assert.All(swim.Chunk(PerWeight), weight => Assert.True(weight.All(v => v) || !weight.Any(v => v)));
        Assert.Equal(122, cells.Count(v => v));
        Assert.Equal(plan.CellCount, CellSelector.Select(SelectionMethod.Magnitude, 1, plan, null).Count(v => v));
        Assert.Equal(0, CellSelector.Select(SelectionMethod.Magnitude, 0, plan, null).Count(v => v));
        Assert.Equal(3, CellSelector.CellCount(0.3, 10));
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void A_fraction_outside_zero_to_one_is_refused_with_the_range(double fraction)
    {
        CellPlan plan = Plan();
        Assert.Contains("[0, 1]", Assert.Throws<SwimInputException>(() => CellSelector.Select(SelectionMethod.Magnitude, fraction, plan, null)).Message);
        Assert.Contains("[0, 1]", Assert.Throws<SwimInputException>(() => CellSelector.CellCount(fraction, 10)).Message);
        Assert.Contains("[0, 1]", Assert.Throws<SwimInputException>(() => CellSelector.WeightCount(SelectionMethod.Swim, fraction, WeightLayers.Of(plan), null)).Message);
    }

    [Fact]
    public void A_weight_methods_cell_scores_are_its_weights_score_on_each_of_its_cells()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan, weight => weight % 7 - 3);

        double[] scores = CellSelector.CellScores(SelectionMethod.Swim, plan, derivatives);

        Assert.Equal(Enumerable.Range(0, plan.CellCount).Select(c => (double)Math.Abs(c / PerWeight % 7 - 3)), scores);
        double[] paper = UswimPaperScore.Scores(WeightLayers.Of(plan), derivatives, 1);
        Assert.Equal(Enumerable.Range(0, plan.CellCount).Select(c => paper[c / PerWeight]), CellSelector.CellScores(SelectionMethod.USwimPaper, plan, derivatives));
    }

    [Fact]
    public void A_cells_cell_level_score_is_the_curvature_times_its_variance_times_its_significance_squared()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);

        double[] scores = CellSelector.CellScores(SelectionMethod.CellLevel, plan, derivatives, cellVariance: _ => 2);

        // The least significant digit moves its weight one quantization step per conductance level.
        for (int c = 0; c < plan.CellCount; c++)
        {
            WeightMapping layer = plan.Mapping.Weights[plan.LayerOf(c / PerWeight)];
            double perMicrosiemens = plan.Mapping.StepOf(layer) / plan.Mapping.LevelStep * Math.Pow(4, 3 - c % 4);
            Assert.Equal(2 * perMicrosiemens * perMicrosiemens, scores[c], 1e-9 * scores[c]);
        }
        Assert.Contains("variance model", Assert.Throws<SwimInputException>(() => CellSelector.CellScores(SelectionMethod.CellLevel, plan, derivatives)).Message);
    }

    [Fact]
    public void Uswim_on_a_plan_weighs_each_cells_variance_by_its_significance_squared()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);
        // Weight 20's most significant positive cell varies by 1; weight 40's least significant, by 1,000: 4^6 = 4,096
        // times less weight error per unit. Every other cell does not vary.
        double Variance(int cell) => cell == 20 * PerWeight ? 1 : cell == 40 * PerWeight + 3 ? 1000 : 0;

        int[] order = CellSelector.Rank(SelectionMethod.USwim, plan, derivatives, Variance);

        Assert.Equal(Enumerable.Range(20 * PerWeight, PerWeight), order[..PerWeight]);
        Assert.Equal(Enumerable.Range(40 * PerWeight, PerWeight), order[PerWeight..(2 * PerWeight)]);
        Assert.Equal(order[..(2 * PerWeight)], CellSelector.CellScores(SelectionMethod.USwim, plan, derivatives, Variance)
            .Select((score, cell) => (score, cell)).OrderByDescending(s => s.score).ThenBy(s => s.cell).Take(2 * PerWeight).Select(s => s.cell));
    }

    [Fact]
    public void Posterior_on_a_plan_ranks_first_the_weight_its_measured_cells_put_furthest_off()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);
        float[] measured = [.. Enumerable.Range(0, plan.CellCount).Select(plan.TargetConductance)];
        // Weight 9's second digit a level off, weight 30's last digit: 16 times less.
        measured[9 * PerWeight + 1] += (float)plan.Mapping.LevelStep;
        measured[30 * PerWeight + 3] += (float)plan.Mapping.LevelStep;

        int[] order = CellSelector.Rank(SelectionMethod.Posterior, plan, derivatives, measured: measured);

        Assert.Equal(Enumerable.Range(9 * PerWeight, PerWeight), order[..PerWeight]);
        Assert.Equal(Enumerable.Range(30 * PerWeight, PerWeight), order[PerWeight..(2 * PerWeight)]);
        Assert.Contains("read after open-loop", Assert.Throws<SwimInputException>(() => CellSelector.Rank(SelectionMethod.Posterior, plan, derivatives)).Message);
    }

    [Fact]
    public void Uswim_without_a_variance_model_and_cell_level_as_weights_are_refused()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);

        Assert.Contains("variance model", Assert.Throws<SwimInputException>(() => CellSelector.Rank(SelectionMethod.USwim, plan, derivatives)).Message);
        Assert.Contains("RankCells", Assert.Throws<ArgumentException>(() => CellSelector.RankWeights(SelectionMethod.CellLevel, WeightLayers.Of(plan), derivatives)).Message);
        Assert.Contains("sensitivity pass", Assert.Throws<SwimInputException>(() => CellSelector.Rank(SelectionMethod.Swim, plan, null)).Message);
        Assert.Contains("without them", Assert.Throws<ArgumentException>(() => CellSelector.Rank(SelectionMethod.Gradient, plan, Derivatives(plan, gradients: false))).Message);
        var otherModel = derivatives with { Parameters = derivatives.Parameters.Skip(1).ToList() };
        Assert.Contains($"'{plan.Mapping.Weights[0].Name}'", Assert.Throws<SwimInputException>(() => CellSelector.Rank(SelectionMethod.Swim, plan, otherModel)).Message);
        Assert.Throws<ArgumentNullException>(() => CellSelector.Rank(SelectionMethod.Swim, plan, derivatives, cost: SelectionCost.Bench));
    }

    [Fact]
    public void A_device_variance_is_the_window_squared_times_the_presets_spread_at_the_cells_level()
    {
        // Middle levels three times the outer ones' cycle-to-cycle sigma, and a device-to-device sigma besides; a window
        // that does not start at zero, so a level's place in it is measured from its floor.
        DevicePreset preset = DevicePreset.Rram with
        {
            ConductanceMin = 4f, ConductanceMax = 44f, ProgramSigma = 0.1, DeviceSigma = 0.02, LevelSigmaFactors = [1, 3, 3, 1],
        };
        CellPlan plan = Plan(preset);
        double window = plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin;
        Assert.Equal(40, window, 1e-9);

        Func<int, double> variance = DeviceVariance.From(preset)(plan);

        // As fractions of the window: outer (0.1)^2 + (0.02)^2 = 0.0104, middle (0.3)^2 + (0.02)^2 = 0.0904.
        Assert.Equal(4, plan.Mapping.Levels);
        for (int c = 0; c < plan.CellCount; c++)
        {
            double expected = (plan.Levels[c] is 1 or 2 ? 0.0904 : 0.0104) * window * window;
            Assert.Equal(expected, variance(c), 1e-6 * expected);
        }
        Assert.Contains(plan.Levels, level => level is 1 or 2);
        Assert.Contains(plan.Levels, level => level is 0 or 3);
    }

    [Fact]
    public void Cell_scores_read_the_measured_cells_for_posterior_and_refuse_uswim_without_a_variance_model()
    {
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);
        float[] measured = [.. Enumerable.Range(0, plan.CellCount).Select(plan.TargetConductance)];
        measured[12 * PerWeight] += (float)plan.Mapping.LevelStep;

        double[] scores = CellSelector.CellScores(SelectionMethod.Posterior, plan, derivatives, measured: measured);

        // Decoding float conductances leaves the untouched weights off by rounding only.
        double offWeight = scores[12 * PerWeight];
        Assert.All(Enumerable.Range(0, plan.CellCount), c =>
            Assert.True(c / PerWeight == 12 ? scores[c] == offWeight : scores[c] < 1e-9 * offWeight, $"cell {c}: {scores[c]} against {offWeight}"));
        Assert.Contains("variance model", Assert.Throws<SwimInputException>(() => CellSelector.CellScores(SelectionMethod.USwim, plan, derivatives)).Message);
    }

    [Fact]
    public void Equal_scores_rank_in_plan_order()
    {
        // More weights than the sort's small-array path, so an unstable sort would show.
        CellPlan plan = Plan();
        SensitivityResult derivatives = Derivatives(plan);

        Assert.Equal(Enumerable.Range(0, plan.CellCount), CellSelector.RankCells(WeightLayers.Of(plan), derivatives, PerWeight, (_, _) => 1));
    }

    [Fact]
    public void A_missing_plan_is_named()
    {
        SensitivityResult derivatives = Derivatives(Plan());

        Assert.Equal("plan", Assert.Throws<ArgumentNullException>(() => CellSelector.Select(SelectionMethod.Swim, 0.1, null!, derivatives)).ParamName);
        Assert.Equal("plan", Assert.Throws<ArgumentNullException>(() => CellSelector.Rank(SelectionMethod.Swim, null!, derivatives)).ParamName);
        Assert.Equal("plan", Assert.Throws<ArgumentNullException>(() => CellSelector.CellScores(SelectionMethod.Swim, null!, derivatives)).ParamName);
    }
}
