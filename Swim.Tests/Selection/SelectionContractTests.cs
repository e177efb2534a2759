using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;

namespace Swim.Tests.Selection;

/// <summary>
/// What the rest of Swim and its users rely on from selection besides the rankings: the names on the command line
/// (docs/selection-methods.md), what each method needs, the row orders' tie rules, and the refusals.
/// </summary>
public sealed class SelectionContractTests
{
    [Fact]
    public void Every_method_has_its_documented_name_and_the_name_parses_back()
    {
        (string Name, SelectionMethod Method)[] documented =
        [
            ("swim", SelectionMethod.Swim), ("uswim", SelectionMethod.USwim), ("magnitude", SelectionMethod.Magnitude), ("random", SelectionMethod.Random),
            ("gradient", SelectionMethod.Gradient), ("posterior", SelectionMethod.Posterior), ("cell-level", SelectionMethod.CellLevel), ("uswim-paper", SelectionMethod.USwimPaper),
        ];
        foreach ((string name, SelectionMethod method) in documented)
        {
            Assert.Equal(method, SelectionMethods.Parse(name));
            Assert.Equal(name, SelectionMethods.Name(method));
        }
        Assert.Equal(documented.Select(d => d.Name), SelectionMethods.Names);
        string refusal = Assert.Throws<SwimInputException>(() => SelectionMethods.Parse("obd")).Message;
        Assert.Contains("'obd'", refusal);
        Assert.Contains("swim, uswim, magnitude, random, gradient, posterior, cell-level, uswim-paper", refusal);
    }

    [Theory]
    // method, needs the sensitivity pass, needs gradients, needs every cell read after open-loop programming
    [InlineData(SelectionMethod.Swim, true, false, false)]
    [InlineData(SelectionMethod.USwim, true, false, false)]
    [InlineData(SelectionMethod.Magnitude, false, false, false)]
    [InlineData(SelectionMethod.Random, false, false, false)]
    [InlineData(SelectionMethod.Gradient, true, true, false)]
    [InlineData(SelectionMethod.Posterior, true, true, true)]
    [InlineData(SelectionMethod.CellLevel, true, false, false)]
    [InlineData(SelectionMethod.USwimPaper, true, true, false)]
    public void What_each_method_needs_is_what_its_definition_reads(SelectionMethod method, bool sensitivity, bool gradient, bool measured)
    {
        Assert.Equal(sensitivity, SelectionMethods.NeedsSensitivity(method));
        Assert.Equal(gradient, SelectionMethods.NeedsGradient(method));
        Assert.Equal(measured, SelectionMethods.NeedsMeasuredCells(method));
    }

    [Fact]
    public void Selection_costs_parse_from_their_names_and_serial_means_count()
    {
        Assert.Equal(SelectionCost.Count, SelectionCosts.Parse("count"));
        Assert.Equal(SelectionCost.Count, SelectionCosts.Parse("serial"));
        Assert.Equal(SelectionCost.RowParallel, SelectionCosts.Parse("parallel"));
        Assert.Equal(SelectionCost.Bench, SelectionCosts.Parse("bench"));
        Assert.Equal(["count", "parallel", "bench"], SelectionCosts.Names);
        Assert.Equal(["count", "parallel", "bench"], new[] { SelectionCost.Count, SelectionCost.RowParallel, SelectionCost.Bench }.Select(SelectionCosts.Name));
        string refusal = Assert.Throws<SwimInputException>(() => SelectionCosts.Parse("rows")).Message;
        Assert.Contains("'rows'", refusal);
        Assert.Contains("count (or serial), parallel, bench", refusal);
    }

    [Fact]
    public void Rows_that_hold_the_same_score_go_in_board_order_and_their_cells_in_plan_order()
    {
        CellPlan plan = CellPlanSelectionTests.Plan();
        var scores = new double[plan.CellCount];
        int[] boardOrder = [.. Enumerable.Range(0, plan.CellCount).OrderBy(c => plan.Cells[c].Tile).ThenBy(c => plan.Cells[c].Row).ThenBy(c => c)];

        Assert.Equal(boardOrder, CellSelector.ByRows(scores, plan));
        Assert.Equal(boardOrder, CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 1, CellLinkSeconds: 0.1)));
        Assert.Equal(boardOrder, CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 1, CellLinkSeconds: 0)));
    }

    [Fact]
    public void With_free_link_bytes_a_row_goes_whole_even_past_its_cells_that_score_nothing()
    {
        CellPlan plan = CellPlanSelectionTests.Plan();
        var scores = new double[plan.CellCount];
        long[] rows = [.. Enumerable.Range(0, plan.CellCount).Select(plan.RowOf).Distinct().Order()];
        int[] first = [.. Enumerable.Range(0, plan.CellCount).Where(c => plan.RowOf(c) == rows[0])];
        int[] second = [.. Enumerable.Range(0, plan.CellCount).Where(c => plan.RowOf(c) == rows[1])];
        // One scoring cell in each of the first two rows, the rest of both rows worth nothing.
        scores[first[^1]] = 5;
        scores[second[^1]] = 4;

        int[] order = CellSelector.ByBenchCost(scores, plan, new BenchCost(RowPassSeconds: 1, CellLinkSeconds: 0));

        Assert.Equal([first[^1], .. first[..^1], second[^1], .. second[..^1]], order[..(first.Length + second.Length)]);
    }

    [Theory]
    [InlineData(-1, 2)]
    [InlineData(2, -1)]
    [InlineData(0, 0)]
    [InlineData(double.NaN, 1)]
    public void A_bench_cost_with_a_negative_part_or_nothing_at_all_is_refused(double rowPass, double cellLink)
    {
        CellPlan plan = CellPlanSelectionTests.Plan();
        Assert.Throws<ArgumentOutOfRangeException>(() => CellSelector.ByBenchCost(new double[plan.CellCount], plan, new BenchCost(rowPass, cellLink)));
    }

    [Fact]
    public void Weight_layers_refuse_names_and_values_that_do_not_pair_up()
    {
        Assert.Contains("2 layer names for 1 layers", Assert.Throws<ArgumentException>(() => new WeightLayers(["a", "b"], [[1f]])).Message);
        var layers = new WeightLayers(["a", "b"], [[1f, 2f], [3f]]);
        Assert.Equal([0L, 2L, 3L], layers.Starts);
        Assert.Equal(3, layers.WeightCount);
        Assert.Equal(2, layers.Count);
    }

    [Fact]
    public void Missing_arguments_are_refused_by_name()
    {
        CellPlan plan = CellPlanSelectionTests.Plan();
        WeightLayers layers = WeightLayers.Of(plan);
        var result = new SensitivityResult([], CurvatureKind.Obd, 1, 0, 0);
        // A null plan is checked by name in CellPlanSelectionTests.A_missing_plan_is_named.
        Action[] calls =
        [
            () => CellSelector.WeightCount(SelectionMethod.Random, 0.1, null!, null),
            () => CellSelector.RankWeights(SelectionMethod.Random, null!, null),
            () => CellSelector.RankCells(null!, result, 1, (_, _) => 1),
            () => CellSelector.RankCells(layers, result, 1, null!),
            () => CellSelector.ByRows(null!, plan),
            () => CellSelector.ByRows(new double[plan.CellCount], null!),
            () => CellSelector.ByBenchCost(null!, plan, new BenchCost(1, 1)),
            () => CellSelector.ByBenchCost(new double[plan.CellCount], null!, new BenchCost(1, 1)),
            () => CellSelector.ByBenchCost(new double[plan.CellCount], plan, null!),
            () => new WeightLayers(null!, []),
            () => new WeightLayers([], null!),
            () => WeightLayers.Of(null!),
            () => DeviceVariance.From(null!),
            () => BenchCost.Of(null!, 1, 1),
            () => UswimPaperScore.Scores(null!, result, 1),
            () => UswimPaperScore.Scores(layers, null!, 1),
            () => UswimPaperScore.SelectedCount(null!, 0.1),
            () => UswimPaperScore.IsExact(null!),
        ];
        Assert.All(calls, call => Assert.Throws<ArgumentNullException>(call));
    }

    [Fact]
    public void A_bench_cost_needs_at_least_one_iteration_and_a_line_rate()
    {
        Swim.Protocol.Messages.BoardInfo board = Swim.Emulator.EmulatedBoard.Describe(Swim.Devices.DevicePreset.Rram, new Swim.Emulator.BoardGeometry(1, 256, 256), 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchCost.Of(board, 0, 3_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchCost.Of(board, 20, 0));
        Assert.True(BenchCost.Of(board, 1, 1).CellLinkSeconds > 0);
    }

    [Fact]
    public void A_pass_that_feeds_uswim_paper_runs_in_the_authors_batches_of_128()
    {
        Assert.Equal(64, UswimPaperScore.PassBatch([SelectionMethod.Swim, SelectionMethod.Gradient], 64));
        Assert.Equal(128, UswimPaperScore.PassBatch([SelectionMethod.Swim, SelectionMethod.USwimPaper], 64));
    }

    [Fact]
    public void The_first_order_term_is_exact_only_from_batches_of_128_with_every_mapped_weights_sums()
    {
        ParameterSensitivity Parameter(string name, bool mapped, bool sums) =>
            new(new TrainableParameter(name, [1], mapped, name), [0f], [0f], [0f], 1) { BatchMeanGradientSum = sums ? [0f] : null };
        SensitivityResult Result(int batch, params ParameterSensitivity[] parameters) => new(parameters, CurvatureKind.Obd, 256, 0, 0) { BatchSize = batch };

        Assert.True(UswimPaperScore.IsExact(Result(128, Parameter("w", true, true), Parameter("b", false, false))));
        Assert.False(UswimPaperScore.IsExact(Result(64, Parameter("w", true, true))));
        Assert.False(UswimPaperScore.IsExact(Result(128, Parameter("w", true, true), Parameter("v", true, false))));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void Uswim_papers_s_must_be_positive_and_finite(double s)
    {
        var layers = new WeightLayers(["w"], [[1f]]);
        var result = new SensitivityResult([], CurvatureKind.Obd, 1, 0, 0);
        Assert.Contains("positive and finite", Assert.Throws<ArgumentOutOfRangeException>(() => UswimPaperScore.Scores(layers, result, s)).Message);
    }

    [Fact]
    public void Uswim_paper_without_gradients_is_refused_saying_why()
    {
        var layers = new WeightLayers(["w"], [[1f]]);
        var result = new SensitivityResult([new(new TrainableParameter("w", [1], true, "w"), null, [1f], [1f], 1)], CurvatureKind.Obd, 128, 0, 0);
        Assert.Contains("without gradients", Assert.Throws<SwimInputException>(() => UswimPaperScore.Scores(layers, result, 1)).Message);
    }
}
