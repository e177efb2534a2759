using System.Text.Json;
using Swim.Controller.Cli;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Protocol.Messages;

namespace Swim.Controller.Mapping;

/// <summary>
/// A model's mapped weights placed on a board: each weight quantized to sign and N magnitude bits, split into
/// N/m digits of m bits (one digit a cell, significance 2^(-i m) of the layer's full scale), signs held by
/// differential pairs or an offset, and each weight matrix laid out as a crossbar (inputs on rows, outputs
/// times cells-per-weight on columns) cut into blocks on the tiles (<see cref="TileLayout"/>). Saved as JSON so reads decode back to weights.
/// </summary>
public sealed record CrossbarMapping
{
    public required int MagnitudeBits { get; init; }

    public required int BitsPerCell { get; init; }

    public required SignEncoding Signs { get; init; }

    public required int Levels { get; init; }

    public required float ConductanceMin { get; init; }

    public required float ConductanceMax { get; init; }

    public required int Tiles { get; init; }

    public required int Rows { get; init; }

    public required int Columns { get; init; }

    public required IReadOnlyList<WeightMapping> Weights { get; init; }

    public int Digits => MagnitudeBits / BitsPerCell;

    public int Groups => Signs == SignEncoding.Differential ? 2 : 1;

    public int CellsPerWeight => Digits * Groups;

    public long CellCount => Weights.Sum(w => w.ElementCount) * CellsPerWeight;

    /// <summary>A band given as a fraction of the conductance window, in microsiemens (what write-verify is told).</summary>
    public float BandOf(double windowFraction) => (float)(windowFraction * (ConductanceMax - ConductanceMin));

    /// <summary>Conductance of one level step.</summary>
    public double LevelStep => (ConductanceMax - ConductanceMin) / (Levels - 1.0);

    /// <summary>The quantization step of a weight: full scale over 2^N (differential) or 2^(N-1) (offset).</summary>
    public double StepOf(WeightMapping weight) => weight.FullScale / Math.Pow(2, Signs == SignEncoding.Differential ? MagnitudeBits : MagnitudeBits - 1);

    /// <summary>Maps every crossbar-held weight of <paramref name="model"/> onto a board of <paramref name="board"/>'s geometry.</summary>
    public static CrossbarMapping Build(OnnxModel model, BoardInfo board, MappingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(board);
        ArgumentNullException.ThrowIfNull(options);
        if (board.LevelsPerCell < 2)
        {
            throw new SwimInputException($"the board has {board.LevelsPerCell} levels per cell; a cell must hold at least two to store a bit.");
        }
        // A cell holds m = floor(log2 L) bits: on a board whose level count is not a power of two (6, 10 ...) the digits
        // use its lowest 2^m levels, on the board's own level grid, and the top levels stay unused.
        int bitsPerCell = System.Numerics.BitOperations.Log2(board.LevelsPerCell);
        int cellsPerWeight = options.CellsPerWeight(bitsPerCell);
        List<WeightShape> layouts = Shapes(model);
        long needed = layouts.Sum(l => (long)l.FanIn * l.FanOut * cellsPerWeight);
        // Whole tile-sized blocks where they fit; cut finer only when they do not, so a model that fits either way
        // keeps the simpler layout (and sessions journalled on it keep their cell addresses).
        // A weight's cells stay side by side on one row, so a block is a whole number of weights wide.
        int wholeWeightColumns = WholeWeightColumns(board.Columns, cellsPerWeight);
        if (wholeWeightColumns == 0)
        {
            throw new SwimInputException($"a row of the board has {board.Columns} cells and a weight needs {cellsPerWeight} ({options.MagnitudeBits}-bit weights on {board.LevelsPerCell}-level cells, " +
                $"{options.Signs.ToString().ToLowerInvariant()} signs). Use fewer weight bits or offset signs.");
        }
        List<CrossbarBlock>[] layout =
            TileLayout.Shelves([.. layouts.Select(l => (l.FanIn, l.FanOut * cellsPerWeight))], board.Tiles, board.Rows, wholeWeightColumns)
            ?? TileLayout.Skyline([.. layouts.Select(l => (l.FanIn, l.FanOut))], cellsPerWeight, board.Tiles, board.Rows, board.Columns)
            ?? throw new SwimInputException(
                $"model {model.Description} does not fit the board: it needs {needed:N0} cells ({cellsPerWeight} per weight for {options.MagnitudeBits}-bit weights on {board.LevelsPerCell}-level cells, " +
                $"{options.Signs.ToString().ToLowerInvariant()} signs) and the board has {board.CellCount:N0} ({board.Tiles} tiles of {board.Rows} x {board.Columns}" +
                (wholeWeightColumns == board.Columns ? ")" : $", of which {wholeWeightColumns} columns a row hold whole weights)") +
                ". Use fewer weight bits, offset signs (half the cells of differential pairs), or a bigger board.");
        return new CrossbarMapping
        {
            MagnitudeBits = options.MagnitudeBits,
            BitsPerCell = bitsPerCell,
            Signs = options.Signs,
            Levels = board.LevelsPerCell,
            ConductanceMin = board.ConductanceMinMicrosiemens,
            ConductanceMax = board.ConductanceMaxMicrosiemens,
            Tiles = board.Tiles,
            Rows = board.Rows,
            Columns = board.Columns,
            Weights = [.. layouts.Select((l, i) => new WeightMapping
            {
                Name = l.Weight.Name,
                Dims = l.Weight.Dims,
                FullScale = l.FullScale,
                FanIn = l.FanIn,
                FanOut = l.FanOut,
                OutputsFirst = l.OutputsFirst,
                Blocks = layout[i],
            })],
        };
    }

    /// <summary>
    /// The same blocks with each layer's inputs and outputs placed in order of the score their weights hold, most first
    /// (<paramref name="weightScores"/>: per layer, per element in the tensor's order): high-score outputs share column
    /// blocks, so fewer crossbar rows hold most of the score and a row-parallel array verifies them in fewer passes.
    /// </summary>
    public CrossbarMapping Placed(IReadOnlyList<float[]> weightScores)
    {
        ArgumentNullException.ThrowIfNull(weightScores);
        return this with
        {
            Weights = [.. Weights.Select((w, l) =>
            {
                var inputs = new double[w.FanIn];
                var outputs = new double[w.FanOut];
                for (long e = 0; e < w.ElementCount; e++)
                {
                    (int input, int output) = w.OutputsFirst ? ((int)(e % w.FanIn), (int)(e / w.FanIn)) : ((int)(e / w.FanOut), (int)(e % w.FanOut));
                    double score = Math.Abs(weightScores[l][e]);
                    inputs[input] += score;
                    outputs[output] += score;
                }
                return w with { InputOrder = ByScore(inputs), OutputOrder = ByScore(outputs) };
            })],
        };
    }

    private static int[] ByScore(double[] totals) =>
        [.. Enumerable.Range(0, totals.Length).OrderByDescending(i => totals[i]).ThenBy(i => i)];

    /// <summary>
    /// Whether some block starts off the tile-sized grid, i.e. the layout had to cut matrices finer than whole tiles to
    /// fit (<see cref="TileLayout.Skyline"/>). A method, not a property, so it stays out of the saved JSON.
    /// </summary>
    public bool IsCutFinerThanTiles()
    {
        int columns = WholeWeightColumns(Columns, CellsPerWeight);
        return Weights.SelectMany(w => w.Blocks).Any(b => b.MatrixRow % Rows != 0 || b.MatrixColumn % columns != 0);
    }

    /// <summary>The columns of a tile row that hold whole weights: a weight's cells sit side by side on one row.</summary>
    private static int WholeWeightColumns(int columns, int cellsPerWeight) => columns / cellsPerWeight * cellsPerWeight;

    /// <summary>A weight as the crossbar sees it: inputs by outputs, which way the tensor stores them, and its full scale.</summary>
    private sealed record WeightShape(MappedWeight Weight, int FanIn, int FanOut, bool OutputsFirst, float FullScale);

    private static List<WeightShape> Shapes(OnnxModel model)
    {
        var shapes = new List<WeightShape>();
        List<NodeProto> nodes = [.. model.Nodes];
        foreach (MappedWeight weight in model.RequireMappedWeights())
        {
            (int fanIn, int fanOut, bool outputsFirst) = Orientation(weight, nodes.First(n => OnnxModel.NodeLabel(n, nodes.IndexOf(n)) == weight.NodeLabel));
            float fullScale = model.ReadWeights(weight.Name).Max(MathF.Abs);
            shapes.Add(new WeightShape(weight, fanIn, fanOut, outputsFirst, fullScale == 0 ? 1 : fullScale));
        }
        return shapes;
    }

    /// <summary>Fan-in, fan-out, and whether the tensor stores outputs first, from its consumer.</summary>
    private static (int FanIn, int FanOut, bool OutputsFirst) Orientation(MappedWeight weight, NodeProto consumer)
    {
        long[] d = [.. weight.MatrixDims ?? weight.Dims];
        if (weight.OpType == "Conv")
        {
            return (checked((int)(weight.ElementCount / d[0])), checked((int)d[0]), true);
        }
        if (d.Length != 2)
        {
            throw new SwimInputException($"weight '{weight.Name}' of {weight.OpType} has {d.Length} dimensions; Swim maps 2-D dense weights.");
        }
        bool transposedOnTheWay = weight.Path.Count(p => p == "Transpose") % 2 == 1;
        bool outputsFirst = weight.OpType switch
        {
            // Gemm computes A op(B): B is [in, out] unless transB, which stores it [out, in].
            "Gemm" when weight.InputIndex == 1 => consumer.Attribute.Any(a => a.Name == "transB" && a.I != 0),
            // MatMul(X, W): W is [in, out]; MatMul(W, X): W is [out, in].
            "MatMul" => weight.InputIndex == 0,
            _ => true,
        };
        outputsFirst ^= transposedOnTheWay;
        return outputsFirst ? ((int)d[1], (int)d[0], true) : ((int)d[0], (int)d[1], false);
    }

    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full + ".partial", JsonSerializer.Serialize(this, JsonOutput.Options));
        File.Move(full + ".partial", full, overwrite: true);
    }

    public static CrossbarMapping Load(string path) =>
        JsonSerializer.Deserialize<CrossbarMapping>(File.ReadAllText(path), JsonOutput.Options)
            ?? throw new SwimInputException($"'{path}' is not a Swim mapping file.");
}
