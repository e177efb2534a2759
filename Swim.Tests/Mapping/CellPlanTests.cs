using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Mapping;

/// <summary>
/// A cell plan's arithmetic (layers, rows, board order, a cell's worth in weight) against independent computations:
/// decoding a nudged conductance, sorting addresses with LINQ, the natural plan's cells; and the plan's refusal of
/// mappings whose blocks or orders do not cover each weight exactly once.
/// </summary>
public sealed class CellPlanTests
{
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(new TinyMlp(5).Build().ToByteArray(), "tiny mlp", null);

    // Tiles of 16 x 32: the first layer's matrix (16 inputs, 8 outputs of 8 cells) takes two tiles, the second a third.
    private static readonly BoardInfo s_board = EmulatedBoard.Describe(DevicePreset.Rram, new BoardGeometry(4, 16, 32), 1);

    private static CrossbarMapping Mapping(MappingOptions? options = null, OnnxModel? model = null) =>
        CrossbarMapping.Build(model ?? s_model, s_board, options ?? new MappingOptions());

    private static CellPlan Plan(CrossbarMapping? mapping = null) => CellPlan.Build(mapping ?? Mapping(), s_model);

    [Fact]
    public void Each_weight_belongs_to_the_layer_whose_range_holds_it()
    {
        CellPlan plan = Plan();
        Assert.Equal(2, plan.Mapping.Weights.Count);
        Assert.Equal([0L, TinyMlp.Features * TinyMlp.Hidden, TinyMlp.Features * TinyMlp.Hidden + TinyMlp.Hidden * TinyMlp.Classes], plan.LayerStarts);

        for (long w = 0; w < plan.WeightCount; w++)
        {
            Assert.Equal(w < TinyMlp.Features * TinyMlp.Hidden ? 0 : 1, plan.LayerOf(w));
        }
        Assert.Equal(plan.WeightCount * plan.Mapping.CellsPerWeight, plan.Mapping.CellCount);
        Assert.Equal(plan.CellCount, plan.Mapping.CellCount);
    }

    [Fact]
    public void A_cells_row_is_its_tile_and_row_and_the_board_order_sorts_by_tile_row_then_column()
    {
        CellPlan plan = Plan();
        IEnumerable<int> ByAddress(IEnumerable<int> cells) => cells.OrderBy(c => plan.Cells[c].Tile).ThenBy(c => plan.Cells[c].Row).ThenBy(c => plan.Cells[c].Column);

        Assert.All(Enumerable.Range(0, plan.CellCount), c => Assert.Equal(plan.Cells[c].Tile * 65536L + plan.Cells[c].Row, plan.RowOf(c)));
        Assert.Equal(ByAddress(Enumerable.Range(0, plan.CellCount)), plan.BoardOrder());
        Assert.Same(plan.BoardOrder(), plan.BoardOrder());
        Assert.Contains(plan.Cells, a => a.Tile == 1);

        // A range sorts in place and leaves the rest as it was.
        int[] reversed = [.. Enumerable.Range(0, plan.CellCount).Reverse()];
        int[] cells = plan.SortedByAddress([.. reversed], 100, 300);
        Assert.Equal(reversed[..100], cells[..100]);
        Assert.Equal(reversed[400..], cells[400..]);
        Assert.Equal(ByAddress(reversed[100..400]), cells[100..400]);
        Assert.Throws<ArgumentNullException>(() => plan.SortedByAddress(null!));
        Assert.Throws<ArgumentNullException>(() => plan.SortedByAddress(null!, 0, 0));
    }

    [Theory]
    [InlineData(SignEncoding.Differential)]
    [InlineData(SignEncoding.Offset)]
    public void A_cells_weight_per_microsiemens_is_what_a_microsiemens_more_on_it_decodes_to(SignEncoding signs)
    {
        CellPlan plan = Plan(Mapping(new MappingOptions { Signs = signs }));
        float[] targets = [.. Enumerable.Range(0, plan.CellCount).Select(plan.TargetConductance)];
        float[] before = [.. plan.Decode(targets).SelectMany(l => l)];
        int perWeight = plan.Mapping.CellsPerWeight;

        for (int c = 0; c < plan.CellCount; c += 7)
        {
            float[] nudged = (float[])targets.Clone();
            nudged[c] += 1f;
            float[] after = [.. plan.Decode(nudged).SelectMany(l => l)];
            int weight = c / perWeight;
            Assert.Equal(after[weight] - before[weight], plan.WeightPerMicrosiemens(c), 2e-3 * Math.Abs(plan.WeightPerMicrosiemens(c)) + 1e-6);
            Assert.Equal(before.Where((_, w) => w != weight), after.Where((_, w) => w != weight));
        }
        // By hand: the most significant digit of the positive group of a weight in the second layer.
        int last = (int)plan.LayerStarts[1] * perWeight;
        double step = plan.Mapping.Weights[1].FullScale / Math.Pow(2, signs == SignEncoding.Differential ? 8 : 7);
        Assert.Equal(step * 64 / plan.Mapping.LevelStep, plan.WeightPerMicrosiemens(last), 1e-9);
        if (signs == SignEncoding.Differential)
        {
            Assert.Equal(-step / plan.Mapping.LevelStep, plan.WeightPerMicrosiemens(last + 7), 1e-9);
        }
        Assert.Contains($"expected {plan.CellCount} conductances, got 3", Assert.Throws<ArgumentException>(() => plan.Decode(new float[3])).Message);
    }

    [Fact]
    public void The_mappings_steps_come_from_the_boards_window_and_each_layers_full_scale()
    {
        CrossbarMapping differential = Mapping();
        CrossbarMapping offset = Mapping(new MappingOptions { Signs = SignEncoding.Offset, MagnitudeBits = 6 });
        float window = s_board.ConductanceMaxMicrosiemens - s_board.ConductanceMinMicrosiemens;
        var mlp = new TinyMlp(5);

        Assert.Equal(window / (s_board.LevelsPerCell - 1.0), differential.LevelStep, 1e-9);
        Assert.Equal(0.25 * window, differential.BandOf(0.25), 1e-5);
        // A window that starts above zero: steps and bands are of its width, not of its ends.
        BoardInfo raised = s_board with { ConductanceMinMicrosiemens = 10f, ConductanceMaxMicrosiemens = 40f };
        CrossbarMapping onRaised = CrossbarMapping.Build(s_model, raised, new MappingOptions());
        Assert.Equal(30.0 / (raised.LevelsPerCell - 1), onRaised.LevelStep, 1e-9);
        Assert.Equal(7.5, onRaised.BandOf(0.25), 1e-5);
        Assert.Equal(mlp.W1.Max(MathF.Abs), differential.Weights[0].FullScale);
        Assert.Equal(differential.Weights[0].FullScale / 256.0, differential.StepOf(differential.Weights[0]), 1e-12);
        Assert.Equal(offset.Weights[1].FullScale / 32.0, offset.StepOf(offset.Weights[1]), 1e-12);

        // A layer of zeros has no full scale to divide; it gets 1 so its step is finite and every zero maps to zero.
        mlp.W1 = new float[mlp.W1.Length];
        var zeros = OnnxModel.FromBytes(mlp.Build().ToByteArray(), "zeros", null);
        CrossbarMapping zeroMapping = Mapping(model: zeros);
        Assert.Equal(1f, zeroMapping.Weights[0].FullScale);
        Assert.All(CellPlan.Build(zeroMapping, zeros).TargetWeights[0], w => Assert.Equal(0f, w));
    }

    [Fact]
    public void A_placed_order_puts_each_input_and_output_where_the_natural_plan_puts_its_place_in_the_order()
    {
        CellPlan natural = Plan();
        WeightMapping layer = natural.Mapping.Weights[0];
        int[] inputs = [.. Enumerable.Range(0, layer.FanIn).Select(i => (i * 5 + 3) % layer.FanIn)];
        int[] outputs = [.. Enumerable.Range(0, layer.FanOut).Reverse()];
        CellPlan placed = Plan(With(natural.Mapping, layer with { InputOrder = inputs, OutputOrder = outputs }));
        int perWeight = natural.Mapping.CellsPerWeight;

        // Logical row r holds input inputs[r], column group g output outputs[g]: element (i, o) sits where the natural
        // plan sits element (r, g).
        for (int r = 0; r < layer.FanIn; r++)
        {
            for (int g = 0; g < layer.FanOut; g++)
            {
                for (int k = 0; k < perWeight; k++)
                {
                    Assert.Equal(natural.Cells[Element(layer, r, g) * perWeight + k], placed.Cells[Element(layer, inputs[r], outputs[g]) * perWeight + k]);
                }
            }
        }
        Assert.Equal(natural.Levels.Skip((int)layer.ElementCount * perWeight), placed.Levels.Skip((int)layer.ElementCount * perWeight));
    }

    private static long Element(WeightMapping layer, int input, int output) =>
        layer.OutputsFirst ? (long)output * layer.FanIn + input : (long)input * layer.FanOut + output;

    private static CrossbarMapping With(CrossbarMapping mapping, WeightMapping first) => mapping with { Weights = [first, .. mapping.Weights.Skip(1)] };

    [Fact]
    public void Sensitivity_placement_puts_the_weight_holding_all_the_score_on_the_first_row_and_column_group()
    {
        CrossbarMapping mapping = Mapping();
        WeightMapping layer = mapping.Weights[0];
        const int Hot = 37;
        float[] first = new float[layer.ElementCount];
        first[Hot] = -3f;
        CellPlan natural = Plan(mapping);
        CellPlan placed = Plan(mapping.Placed([first, new float[mapping.Weights[1].ElementCount]]));
        int perWeight = mapping.CellsPerWeight;
        CrossbarBlock corner = layer.Blocks.Single(b => b.MatrixRow == 0 && b.MatrixColumn == 0);

        for (int k = 0; k < perWeight; k++)
        {
            Assert.Equal(new CellAddress((ushort)corner.Tile, (ushort)corner.TileRow, (ushort)(corner.TileColumn + k)), placed.Cells[Hot * perWeight + k]);
        }
        // Every other input and output keeps its order behind it: the weights of the same input and output keep their rows.
        Assert.Equal(natural.Levels, placed.Levels);
        Assert.Equal(Enumerable.Range(0, mapping.Weights[1].FanIn), placed.Mapping.Weights[1].InputOrder!);
        Assert.Throws<ArgumentNullException>(() => mapping.Placed(null!));
    }

    [Fact]
    public void Blocks_outside_a_weights_matrix_are_refused_and_empty_blocks_are_not()
    {
        CrossbarMapping mapping = Mapping();
        WeightMapping layer = mapping.Weights[0];
        CrossbarBlock block = layer.Blocks[0];
        Assert.Equal(0, block.MatrixRow);
        Assert.Equal(layer.FanIn, block.Rows);
        CrossbarBlock[] outside =
        [
            block with { MatrixRow = -1 }, block with { Rows = -1 }, block with { Rows = block.Rows + 1 },
            block with { MatrixColumn = -1 }, block with { Columns = -1 },
            block with { MatrixColumn = (int)((long)layer.FanOut * mapping.CellsPerWeight - block.Columns + 1) },
        ];
        foreach (CrossbarBlock bad in outside)
        {
            var e = Assert.Throws<SwimInputException>(() => Plan(With(mapping, layer with { Blocks = [bad, .. layer.Blocks.Skip(1)] })));
            Assert.Contains($"outside its {layer.FanIn} x {layer.FanOut * mapping.CellsPerWeight} matrix", e.Message);
        }
        CellPlan withEmpty = Plan(With(mapping, layer with { Blocks = [.. layer.Blocks, block with { Rows = 0 }, block with { Columns = 0 }] }));
        Assert.Equal(Plan(mapping).Cells, withEmpty.Cells);
    }

    [Fact]
    public void Blocks_that_overlap_or_leave_cells_out_and_orders_that_are_not_permutations_are_refused()
    {
        CrossbarMapping mapping = Mapping();
        WeightMapping layer = mapping.Weights[0];
        int[] natural = [.. Enumerable.Range(0, layer.FanIn)];

        Assert.Contains("in two blocks", Assert.Throws<SwimInputException>(() => Plan(With(mapping, layer with { Blocks = [.. layer.Blocks, layer.Blocks[0]] }))).Message);
        var missing = Assert.Throws<SwimInputException>(() => Plan(With(mapping, layer with { Blocks = [layer.Blocks[0] with { Rows = layer.FanIn - 1 }, .. layer.Blocks.Skip(1)] })));
        Assert.Contains($"cell 0 of weight {(layer.FanIn - 1) * (layer.OutputsFirst ? 1 : layer.FanOut)} of the plan", missing.Message);
        int[][] notPermutations = [[.. natural.Skip(1)], [.. natural.Skip(1), 0, 0], [.. natural.Skip(1), -1], [.. natural.Skip(1), layer.FanIn], [0, 0, .. natural.Skip(2)]];
        foreach (int[] order in notPermutations)
        {
            Assert.Contains($"input order of weight '{layer.Name}' is not a permutation of its {layer.FanIn} inputs",
                Assert.Throws<SwimInputException>(() => Plan(With(mapping, layer with { InputOrder = order }))).Message);
        }
        Assert.Contains("output order", Assert.Throws<SwimInputException>(() => Plan(With(mapping, layer with { OutputOrder = [0] }))).Message);
        Assert.Throws<ArgumentNullException>(() => CellPlan.Build(null!, s_model));
        Assert.Throws<ArgumentNullException>(() => CellPlan.Build(mapping, null!));
        Assert.Throws<ArgumentNullException>(() => Plan(mapping).Share(null!, a => a));
        Assert.Throws<ArgumentNullException>(() => Plan(mapping).Share([], null!));
    }

    [Fact]
    public void Magnitude_bits_are_refused_outside_one_to_sixteen_and_when_they_do_not_split_into_cells()
    {
        MappingOptions.CheckMagnitudeBits(MappingOptions.MinMagnitudeBits);
        MappingOptions.CheckMagnitudeBits(MappingOptions.MaxMagnitudeBits);
        Assert.Contains("(got 0)", Assert.Throws<SwimInputException>(() => MappingOptions.CheckMagnitudeBits(0)).Message);
        Assert.Contains("(got 17)", Assert.Throws<SwimInputException>(() => MappingOptions.CheckMagnitudeBits(17)).Message);
        Assert.Contains("--weight-bits", Assert.Throws<SwimInputException>(() => new MappingOptions { MagnitudeBits = 18 }.Validate(2)).Message);
        Assert.Contains("(the board's 8 levels); choose a multiple of 3", Assert.Throws<SwimInputException>(() => new MappingOptions().Validate(3)).Message);
        Assert.Equal(8, new MappingOptions().CellsPerWeight(2));
        Assert.Equal(3, new MappingOptions { MagnitudeBits = 6, Signs = SignEncoding.Offset }.CellsPerWeight(2));
    }

    [Fact]
    public void Placements_parse_by_name_and_take_each_layers_score_from_the_sensitivity_results()
    {
        Assert.Equal(["natural", "sensitivity"], Placements.Names);
        Assert.All(Enum.GetValues<Placement>(), p => Assert.Equal(p, Placements.Parse(Placements.Name(p))));
        Assert.Contains("'rows' is not one of natural, sensitivity", Assert.Throws<SwimInputException>(() => Placements.Parse("rows")).Message);

        CrossbarMapping mapping = Mapping();
        var parameters = mapping.Weights.Select((w, l) => new ParameterSensitivity(new TrainableParameter(w.Name, w.Dims, true, w.Name),
            null, new float[w.ElementCount], [.. Enumerable.Repeat(l + 1f, (int)w.ElementCount)], w.FullScale)).ToList();
        var results = new SensitivityResult(parameters, CurvatureKind.Obd, 8, 0, 0);

        IReadOnlyList<float[]> scores = Placements.Scores(mapping, results);
        Assert.Equal([1f, 2f], scores.Select(s => s.Distinct().Single()));
        Assert.Contains("--calib", Assert.Throws<SwimInputException>(() => Placements.Scores(mapping, null)).Message);
        Assert.Contains($"no score for weight '{mapping.Weights[0].Name}'",
            Assert.Throws<SwimInputException>(() => Placements.Scores(mapping, results with { Parameters = parameters.Skip(1).ToList() })).Message);
        Assert.Throws<ArgumentNullException>(() => Placements.Scores(null!, results));
    }
}
