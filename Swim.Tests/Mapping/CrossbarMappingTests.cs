using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Mapping;

public sealed class CrossbarMappingTests
{
    private static BoardInfo Board(ushort tiles, ushort levels) =>
        RandomMessages.Info(new Random(1)) with { Tiles = tiles, Rows = 256, Columns = 256, LevelsPerCell = levels, ConductanceMinMicrosiemens = 2f, ConductanceMaxMicrosiemens = 100f };

    private static OnnxModel LeNet() => OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));

    [Theory]
    [InlineData("rram")]
    [InlineData("pcm")]
    [InlineData("fefet")]
    public void The_default_emulated_board_holds_the_bundled_model_with_default_mapping(string preset)
    {
        // What 'swim emulator' serves unless told otherwise, and what 'swim program --board emulator' builds.
        var board = new Swim.Emulator.EmulatedBoard(Swim.Emulator.Physics.DevicePreset.ByName(preset), Swim.Emulator.BoardGeometry.Default, 1);

        CrossbarMapping mapping = CrossbarMapping.Build(LeNet(), board.Info, new MappingOptions());

        Assert.Equal(Swim.Controller.Cli.EmulatorSettings.Default.Geometry, Swim.Emulator.BoardGeometry.Default);
        Assert.True(mapping.CellCount <= board.Info.CellCount);
    }

    [Theory]
    [InlineData(4, 8, SignEncoding.Differential)]
    [InlineData(2, 4, SignEncoding.Differential)]
    [InlineData(4, 6, SignEncoding.Offset)]
    public void Ideal_cells_decode_to_the_quantized_weights_within_half_a_step(ushort levels, int bits, SignEncoding signs)
    {
        OnnxModel model = LeNet();
        CrossbarMapping mapping = CrossbarMapping.Build(model, Board(32, levels), new MappingOptions { MagnitudeBits = bits, Signs = signs });
        CellPlan plan = CellPlan.Build(mapping, model);
        float[] ideal = Enumerable.Range(0, plan.CellCount).Select(plan.TargetConductance).ToArray();

        float[][] decoded = plan.Decode(ideal);

        for (int l = 0; l < mapping.Weights.Count; l++)
        {
            WeightMapping layer = mapping.Weights[l];
            float[] original = model.ReadWeights(layer.Name);
            double step = mapping.StepOf(layer);
            for (int e = 0; e < original.Length; e++)
            {
                Assert.Equal(plan.TargetWeights[l][e], decoded[l][e], 1e-5f * layer.FullScale);
                // Quantization error is at most half a step, except the largest magnitudes, clipped one step below full scale.
                Assert.True(Math.Abs(decoded[l][e] - original[e]) <= step * 0.5 + 1e-6 || Math.Abs(original[e]) > layer.FullScale - 1.5 * step);
            }
        }
        Assert.Equal(61_470L * mapping.CellsPerWeight, plan.CellCount);
    }

    [Fact]
    public void Every_cell_has_its_own_address_on_the_board()
    {
        OnnxModel model = LeNet();
        BoardInfo board = Board(16, 4);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(model, board, new MappingOptions()), model);

        Assert.Equal(plan.CellCount, plan.Cells.Distinct().Count());
        Assert.All(plan.Cells, c => Assert.True(c.Tile < board.Tiles && c.Row < board.Rows && c.Column < board.Columns));
        // A conv kernel unrolls to k*k*C_in rows by C_out columns (times cells per weight).
        WeightMapping conv2 = plan.Mapping.Weights.Single(w => w.Name == "conv2.weight");
        Assert.Equal((150, 16), (conv2.FanIn, conv2.FanOut));
        WeightMapping fc1 = plan.Mapping.Weights.Single(w => w.Name == "fc1.weight");
        Assert.Equal((400, 120), (fc1.FanIn, fc1.FanOut));
    }

    [Fact]
    public void A_model_too_big_for_the_board_is_refused_with_cells_needed_and_available()
    {
        SwimInputException ex = Assert.Throws<SwimInputException>(() => CrossbarMapping.Build(LeNet(), Board(4, 4), new MappingOptions()));

        Assert.Contains("does not fit", ex.Message);
        Assert.Contains("491,760 cells", ex.Message);
        Assert.Contains("262,144", ex.Message);
    }

    [Fact]
    public void Mappings_round_trip_through_json()
    {
        using var dir = new TempDirectory();
        OnnxModel model = LeNet();
        CrossbarMapping mapping = CrossbarMapping.Build(model, Board(16, 4), new MappingOptions());

        mapping.Save(dir.File("mapping.json"));
        CrossbarMapping loaded = CrossbarMapping.Load(dir.File("mapping.json"));

        Assert.Equal(CellPlan.Build(mapping, model).Cells, CellPlan.Build(loaded, model).Cells);
    }

    [Fact]
    public void Bits_that_do_not_split_into_cells_are_refused()
    {
        SwimInputException ex = Assert.Throws<SwimInputException>(() => CrossbarMapping.Build(LeNet(), Board(32, 4), new MappingOptions { MagnitudeBits = 7 }));
        Assert.Contains("multiple of 2", ex.Message);
    }
}
