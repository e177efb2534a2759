using Google.Protobuf;
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
    [InlineData("paper")] // 1-bit cells, 16 a weight: 94 % of the board
    public void The_default_emulated_board_holds_the_bundled_model_with_default_mapping(string preset)
    {
        // What 'swim emulator' serves unless told otherwise, and what 'swim program --board emulator' builds.
        var board = new Swim.Emulator.EmulatedBoard(Swim.Devices.DevicePreset.ByName(preset), Swim.Emulator.BoardGeometry.Default, 1);

        CrossbarMapping mapping = CrossbarMapping.Build(LeNet(), board.Info, new MappingOptions());

        Assert.Equal(Swim.Controller.Boards.EmulatorSettings.Default.Geometry, Swim.Emulator.BoardGeometry.Default);
        Assert.True(mapping.CellCount <= board.Info.CellCount);
    }

    [Theory]
    [InlineData(4, 8, SignEncoding.Differential)]
    [InlineData(2, 4, SignEncoding.Differential)]
    [InlineData(4, 6, SignEncoding.Offset)]
    [InlineData(6, 8, SignEncoding.Differential)] // 2 bits a cell on levels 0..3 of 6
    [InlineData(3, 4, SignEncoding.Offset)] // 1 bit a cell on levels 0..1 of 3
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
        Assert.Equal(System.Numerics.BitOperations.Log2(levels), mapping.BitsPerCell);
        Assert.All(plan.Levels, level => Assert.True(level < 1 << mapping.BitsPerCell));
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

    [Theory]
    [InlineData(8, 256, 256)] // 94 % of the board: more than whole tile-sized blocks can fill
    [InlineData(8, 256, 248)]
    [InlineData(1, 1024, 512)]
    [InlineData(121, 64, 64)] // 99.2 %
    [InlineData(16, 256, 250)] // whole tile-sized blocks, on rows that end in two cells no weight can use
    public void Every_cell_keeps_its_own_place_and_a_weights_cells_sit_side_by_side_on_any_board_that_has_the_room(ushort tiles, ushort rows, ushort columns)
    {
        OnnxModel model = LeNet();
        BoardInfo board = Board(tiles, 4) with { Rows = rows, Columns = columns };

        CrossbarMapping mapping = CrossbarMapping.Build(model, board, new MappingOptions());
        CellPlan plan = CellPlan.Build(mapping, model);

        Assert.Equal(491_760, plan.CellCount);
        Assert.Equal(plan.CellCount, plan.Cells.Distinct().Count());
        Assert.All(plan.Cells, c => Assert.True(c.Tile < tiles && c.Row < rows && c.Column < columns));
        // A weight's eight cells (two signs x four digits) share a row, side by side.
        for (int w = 0; w < plan.CellCount / 8; w++)
        {
            CellAddress first = plan.Cells[w * 8];
            for (int k = 1; k < 8; k++)
            {
                Assert.Equal(first with { Column = (ushort)(first.Column + k) }, plan.Cells[w * 8 + k]);
            }
        }
        float[] ideal = Enumerable.Range(0, plan.CellCount).Select(plan.TargetConductance).ToArray();
        float[][] decoded = plan.Decode(ideal);
        for (int l = 0; l < mapping.Weights.Count; l++)
        {
            Assert.Equal(plan.TargetWeights[l], decoded[l], (a, b) => Math.Abs(a - b) <= 1e-5f * mapping.Weights[l].FullScale);
        }
    }

    [Fact]
    public void A_model_that_fits_whole_tile_sized_blocks_keeps_them()
    {
        // Sessions journalled on the simpler layout keep their cell addresses.
        CrossbarMapping mapping = CrossbarMapping.Build(LeNet(), Board(16, 4), new MappingOptions());

        Assert.All(mapping.Weights.SelectMany(w => w.Blocks), b => Assert.True(b.MatrixRow % 256 == 0 && b.MatrixColumn % 256 == 0));
        Assert.All(mapping.Weights, w => Assert.Equal((w.FanIn + 255) / 256 * ((w.FanOut * 8 + 255) / 256), w.Blocks.Count));
    }

    /// <summary>
    /// A dense layer 6 -> 5 (or 5 -> 5) with A[o, i] joining input i to output o, written six ways that ONNX defines as
    /// the same product: Gemm(x, A, transB = 1), MatMul(x, Transpose(A)), MatMul(x, B) with B = A^T stored, B stored
    /// as [in, 1, out] and reshaped to [in, out], Gemm(x, B, transB = 0) and Gemm(x, Transpose(B), transB = 1). Input i
    /// drives crossbar row i and output o's cells are column group o, whatever the storage: A[o, i] of the first two and
    /// B[i, o] of the third must sit on the same cells. (Read-back decodes through the same plan, so a weight behind a
    /// Transpose placed transposed would go unseen anywhere else.)
    /// </summary>
    [Theory]
    [InlineData(6, 5)]
    [InlineData(5, 5)]
    public void A_weight_sits_on_its_inputs_row_and_its_outputs_columns_however_it_is_stored(int inputs, int outputs)
    {
        var random = new Random(5);
        float[] a = [.. Enumerable.Range(0, inputs * outputs).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] b = new float[a.Length];
        for (int o = 0; o < outputs; o++)
        {
            for (int i = 0; i < inputs; i++)
            {
                b[i * outputs + o] = a[o * inputs + i];
            }
        }
        float[] head = [.. Enumerable.Range(0, 3 * outputs).Select(_ => (float)(random.NextDouble() - 0.5))];
        CellPlan Plan(string form)
        {
            OnnxModel model = Dense(form, inputs, outputs, a, b, head);
            return CellPlan.Build(CrossbarMapping.Build(model, Board(1, 4), new MappingOptions()), model);
        }
        CellPlan gemm = Plan("gemm"), transposed = Plan("transpose"), stored = Plan("matmul"), reshaped = Plan("reshape");
        CellPlan gemmPlain = Plan("gemm-plain"), gemmTransposed = Plan("gemm-transposed");
        int perWeight = gemm.Mapping.CellsPerWeight;
        int layer = gemm.Mapping.Weights.ToList().FindIndex(w => w.Name == "w");

        foreach (CellPlan plan in new[] { gemm, transposed, stored, reshaped, gemmPlain, gemmTransposed })
        {
            WeightMapping w = plan.Mapping.Weights[layer];
            Assert.Equal((inputs, outputs), (w.FanIn, w.FanOut));
        }
        for (int o = 0; o < outputs; o++)
        {
            for (int i = 0; i < inputs; i++)
            {
                long first = (gemm.LayerStarts[layer] + o * inputs + i) * perWeight;
                long firstStored = (stored.LayerStarts[layer] + i * outputs + o) * perWeight;
                for (int k = 0; k < perWeight; k++)
                {
                    CellAddress cell = gemm.Cells[first + k];
                    Assert.Equal(i, cell.Row);
                    Assert.Equal(o * perWeight + k, cell.Column);
                    Assert.Equal(cell, transposed.Cells[first + k]);
                    Assert.Equal(cell, stored.Cells[firstStored + k]);
                    Assert.Equal(cell, reshaped.Cells[firstStored + k]);
                    Assert.Equal(cell, gemmPlain.Cells[firstStored + k]);
                    Assert.Equal(cell, gemmTransposed.Cells[firstStored + k]);
                }
            }
        }
    }

    private static OnnxModel Dense(string form, int inputs, int outputs, float[] a, float[] b, float[] head)
    {
        var g = new GraphBuilder();
        string x = g.Input("x", Controller.Onnx.Schema.TensorProto.Types.DataType.Float, [.. new object[] { "N", (long)inputs }]);
        string h = form switch
        {
            // transA beside transB: the orientation reads transB alone, whatever other attributes the node has.
            "gemm" => g.Node("Gemm", [x, g.Initializer("w", [outputs, inputs], a)], ("transA", 0L), ("transB", 1L)),
            "gemm-plain" => g.Node("Gemm", [x, g.Initializer("w", [inputs, outputs], b)], ("transB", 0L)),
            // Two transpositions cancel: transB over a Transpose of a weight stored [in, out].
            "gemm-transposed" => g.Node("Gemm", [x, g.Node("Transpose", [g.Initializer("w", [inputs, outputs], b)], ("perm", new long[] { 1, 0 }))], ("transB", 1L)),
            "transpose" => g.Node("MatMul", [x, g.Node("Transpose", [g.Initializer("w", [outputs, inputs], a)], ("perm", new long[] { 1, 0 }))]),
            // Stored in another shape and reshaped on the way, as the ONNX zoo's MNIST keeps its dense weight.
            "reshape" => g.Node("MatMul", [x, g.Node("Reshape", [g.Initializer("w", [inputs, 1, outputs], b), g.Ints("matrix", -1, outputs)])]),
            _ => g.Node("MatMul", [x, g.Initializer("w", [inputs, outputs], b)]),
        };
        string logits = g.Node("Gemm", [g.Node("Relu", [h]), g.Initializer("head", [3, outputs], head)], ("transB", 1L));
        g.Output(logits, Controller.Onnx.Schema.TensorProto.Types.DataType.Float, "N", 3L);
        return OnnxModel.FromBytes(g.ToModel().ToByteArray(), form, null);
    }

    /// <summary>
    /// Shelves fill a tile to its last row and no further: on 174-row tiles, blocks of 100 and 74 rows fill the first
    /// tile exactly, so a block of one more row must go to the next tile (a shelf one row past the tile would put it
    /// at row 174); and any set of matrices is placed inside its tiles, without overlap, each cell once.
    /// </summary>
    [Fact]
    public void Shelf_layout_keeps_every_block_inside_its_tile_and_covers_each_matrix_once()
    {
        List<CrossbarBlock>[] exact = TileLayout.Shelves([(100, 100), (74, 100), (1, 100)], 2, 174, 100)
            ?? throw new Xunit.Sdk.XunitException("three blocks of 175 rows in all fit two tiles of 174");
        Assert.Equal(new CrossbarBlock(0, 100, 0, 0, 0, 74, 100), exact[1].Single());
        Assert.Equal(new CrossbarBlock(1, 0, 0, 0, 0, 1, 100), exact[2].Single());
        Assert.Null(TileLayout.Shelves([(100, 100), (74, 100), (1, 100)], 1, 174, 100));

        var random = new Random(11);
        for (int trial = 0; trial < 100; trial++)
        {
            int rows = new[] { 32, 100, 174, 256 }[random.Next(4)];
            int columns = new[] { 64, 100, 174, 256 }[random.Next(4)];
            (int Rows, int Columns)[] matrices = [.. Enumerable.Range(0, random.Next(1, 6)).Select(_ => (random.Next(1, rows + rows / 2), random.Next(1, columns + columns / 2)))];
            const int Tiles = 64;
            if (TileLayout.Shelves(matrices, Tiles, rows, columns) is not { } layout)
            {
                continue;
            }
            var board = new bool[Tiles * rows * columns];
            for (int m = 0; m < matrices.Length; m++)
            {
                var covered = new bool[matrices[m].Rows * matrices[m].Columns];
                foreach (CrossbarBlock b in layout[m])
                {
                    Assert.True(b.Tile < Tiles && b.TileRow + b.Rows <= rows && b.TileColumn + b.Columns <= columns, $"trial {trial}: {b} leaves its {rows} x {columns} tile");
                    for (int r = 0; r < b.Rows; r++)
                    {
                        for (int c = 0; c < b.Columns; c++)
                        {
                            int at = (b.Tile * rows + b.TileRow + r) * columns + b.TileColumn + c;
                            int element = (b.MatrixRow + r) * matrices[m].Columns + b.MatrixColumn + c;
                            if (board[at] || covered[element])
                            {
                                Assert.Fail($"trial {trial}: {(board[at] ? "two blocks share a cell" : "a matrix cell is placed twice")}");
                            }
                            board[at] = true;
                            covered[element] = true;
                        }
                    }
                }
                Assert.True(Array.TrueForAll(covered, c => c), $"trial {trial}: matrix {m} is not wholly placed");
            }
        }
    }

    [Fact]
    public void Skyline_layout_covers_any_set_of_matrices_exactly_once_on_the_fewest_tiles_that_have_the_room()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 300; trial++)
        {
            (int Rows, int Outputs)[] matrices = [.. Enumerable.Range(0, random.Next(1, 9)).Select(_ => (random.Next(1, 700), random.Next(1, 200)))];
            int slotWidth = new[] { 1, 2, 4, 8, 16 }[random.Next(5)];
            int rows = new[] { 32, 64, 100, 128, 256 }[random.Next(5)];
            int columns = new[] { 64, 100, 128, 250, 256 }[random.Next(5)];
            int slots = columns / slotWidth;
            long needed = matrices.Sum(m => (long)m.Rows * m.Outputs);
            int tiles = (int)((needed + (long)rows * slots - 1) / ((long)rows * slots));

            List<CrossbarBlock>[] layout = TileLayout.Skyline(matrices, slotWidth, tiles, rows, columns)
                ?? throw new Xunit.Sdk.XunitException($"trial {trial}: no layout for {needed} slots on {tiles} x {rows} x {slots}");

            // Checked slot by slot (a slot is one output's cells on one row): every block is slot-aligned.
            var board = new bool[tiles * rows * slots];
            for (int m = 0; m < matrices.Length; m++)
            {
                var covered = new bool[matrices[m].Rows * matrices[m].Outputs];
                foreach (CrossbarBlock b in layout[m])
                {
                    Assert.True(b.Tile < tiles && b.TileRow + b.Rows <= rows && b.TileColumn + b.Columns <= columns, $"trial {trial}: {b} leaves the tile");
                    Assert.True(b.MatrixRow + b.Rows <= matrices[m].Rows && b.MatrixColumn + b.Columns <= matrices[m].Outputs * slotWidth, $"trial {trial}: {b} leaves the matrix");
                    Assert.True(b.TileColumn % slotWidth == 0 && b.MatrixColumn % slotWidth == 0 && b.Columns % slotWidth == 0, $"trial {trial}: {b} splits a weight's cells");
                    for (int r = 0; r < b.Rows; r++)
                    {
                        for (int k = 0; k < b.Columns / slotWidth; k++)
                        {
                            int at = (b.Tile * rows + b.TileRow + r) * slots + b.TileColumn / slotWidth + k;
                            if (board[at])
                            {
                                Assert.Fail($"trial {trial}: two blocks share a cell");
                            }
                            board[at] = true;
                            int element = (b.MatrixRow + r) * matrices[m].Outputs + b.MatrixColumn / slotWidth + k;
                            if (covered[element])
                            {
                                Assert.Fail($"trial {trial}: a matrix cell is placed twice");
                            }
                            covered[element] = true;
                        }
                    }
                }
                Assert.True(Array.TrueForAll(covered, c => c), $"trial {trial}: matrix {m} is not wholly placed");
            }
        }
    }

    [Fact]
    public void A_model_one_cell_row_too_big_is_refused_with_cells_needed_and_available()
    {
        // 120 tiles of 64 x 64 hold 491,520 cells; LeNet-5 needs 491,760.
        SwimInputException ex = Assert.Throws<SwimInputException>(() => CrossbarMapping.Build(LeNet(), Board(120, 4) with { Rows = 64, Columns = 64 }, new MappingOptions()));

        Assert.Contains("does not fit", ex.Message);
        Assert.Contains("491,760 cells", ex.Message);
        Assert.Contains("491,520", ex.Message);
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
