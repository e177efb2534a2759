using Swim.Controller.Onnx;
using Swim.Protocol.Messages;

namespace Swim.Controller.Mapping;

/// <summary>
/// Every cell of a mapped model with its target level, in a fixed order: weights layer by layer, element by
/// element, and within a weight its sign groups and digits, most significant first. Cell c therefore belongs
/// to global weight c / CellsPerWeight, group (c / Digits) % Groups and digit c % Digits.
/// </summary>
public sealed class CellPlan
{
    private CellPlan(CrossbarMapping mapping, CellAddress[] cells, byte[] levels, long[] layerStarts, float[][] targets)
    {
        Mapping = mapping;
        Cells = cells;
        Levels = levels;
        LayerStarts = layerStarts;
        TargetWeights = targets;
    }

    public CrossbarMapping Mapping { get; }

    public CellAddress[] Cells { get; }

    public byte[] Levels { get; }

    /// <summary>The global index of each layer's first weight (one more entry: the total).</summary>
    public long[] LayerStarts { get; }

    /// <summary>Each layer's weights as quantized: what perfect cells would give back.</summary>
    public float[][] TargetWeights { get; }

    public int CellCount => Cells.Length;

    public long WeightCount => LayerStarts[^1];

    public int LayerOf(long weight)
    {
        int layer = Array.BinarySearch(LayerStarts, weight);
        return layer >= 0 ? Math.Min(layer, Mapping.Weights.Count - 1) : ~layer - 1;
    }

    /// <summary>The crossbar row (tile and row) a cell sits on, as one number: what a row-parallel array reads and pulses at once.</summary>
    public long RowOf(int cell) => (long)Cells[cell].Tile << 16 | Cells[cell].Row;

    /// <summary>
    /// Every cell by its place on the board (tile, then row, then column): the order a session sends cells in, so
    /// that whole rows and rectangles go as one command however the mapping permuted the weights onto the rows.
    /// </summary>
    public int[] BoardOrder() => _boardOrder ??= SortedByAddress(Enumerable.Range(0, CellCount).ToArray());

    private int[]? _boardOrder;

    /// <summary>These cells sorted by their place on the board (tile, row, column); sorts <paramref name="cells"/> in place and returns it.</summary>
    public int[] SortedByAddress(int[] cells) => SortedByAddress(cells, 0, (cells ?? throw new ArgumentNullException(nameof(cells))).Length);

    /// <summary>Sorts <paramref name="count"/> of these cells from <paramref name="start"/> by their place on the board, in place.</summary>
    public int[] SortedByAddress(int[] cells, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var keys = new long[count];
        for (int i = 0; i < count; i++)
        {
            CellAddress a = Cells[cells[start + i]];
            keys[i] = (long)a.Tile << 32 | (long)a.Row << 16 | a.Column;
        }
        keys.AsSpan().Sort(cells.AsSpan(start, count));
        return cells;
    }

    public float TargetConductance(int cell) => (float)(Mapping.ConductanceMin + Levels[cell] * Mapping.LevelStep);

    /// <summary>A weight's change per microsiemens of error in cell <paramref name="cell"/> (signed by its group).</summary>
    public double WeightPerMicrosiemens(int cell)
    {
        CrossbarMapping m = Mapping;
        int digit = cell % m.Digits;
        int group = cell / m.Digits % m.Groups;
        WeightMapping layer = m.Weights[LayerOf(cell / m.CellsPerWeight)];
        double significance = Math.Pow(2, m.BitsPerCell * (m.Digits - 1 - digit));
        return m.StepOf(layer) * significance / m.LevelStep * (group == 1 ? -1 : 1);
    }

    /// <summary>
    /// A board's share of this plan, for a session over several boards: <paramref name="cells"/> (this plan's indices, in
    /// order) become cells 0, 1, ... at the addresses <paramref name="relocate"/> gives them on that board, with their levels.
    /// It knows no weights: the arithmetic from cells to weights (<see cref="WeightPerMicrosiemens"/>, <see cref="Decode"/>)
    /// belongs to the whole plan.
    /// </summary>
    public CellPlan Share(int[] cells, Func<CellAddress, CellAddress> relocate)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(relocate);
        var addresses = new CellAddress[cells.Length];
        var levels = new byte[cells.Length];
        for (int i = 0; i < cells.Length; i++)
        {
            addresses[i] = relocate(Cells[cells[i]]);
            levels[i] = Levels[cells[i]];
        }
        return new CellPlan(Mapping, addresses, levels, [0], []);
    }

    public static CellPlan Build(CrossbarMapping mapping, OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        ArgumentNullException.ThrowIfNull(model);
        int perWeight = mapping.CellsPerWeight;
        var starts = new long[mapping.Weights.Count + 1];
        for (int l = 0; l < mapping.Weights.Count; l++)
        {
            starts[l + 1] = starts[l] + mapping.Weights[l].ElementCount;
        }
        var cells = new CellAddress[checked((int)(starts[^1] * perWeight))];
        var levels = new byte[cells.Length];
        var assigned = new bool[cells.Length];
        var targets = new float[mapping.Weights.Count][];
        int maxDigit = (1 << mapping.BitsPerCell) - 1;
        for (int l = 0; l < mapping.Weights.Count; l++)
        {
            WeightMapping layer = mapping.Weights[l];
            float[] values = model.ReadWeights(layer.Name);
            targets[l] = new float[values.Length];
            double step = mapping.StepOf(layer);
            for (int e = 0; e < values.Length; e++)
            {
                (long magnitude, int group, float quantized) = Quantize(mapping, values[e], step);
                targets[l][e] = quantized;
                long first = (starts[l] + e) * perWeight;
                for (int g = 0; g < mapping.Groups; g++)
                {
                    for (int d = 0; d < mapping.Digits; d++)
                    {
                        levels[first + g * mapping.Digits + d] = g == group ? (byte)((magnitude >> (mapping.BitsPerCell * (mapping.Digits - 1 - d))) & maxDigit) : (byte)0;
                    }
                }
            }
            PlaceCells(layer, starts[l], perWeight, cells, assigned);
        }
        if (Array.IndexOf(assigned, false) is int missing and >= 0)
        {
            throw new SwimInputException($"the mapping leaves cell {missing % perWeight} of weight {missing / perWeight} of the plan without a place on the board; its blocks do not cover the weight matrices. Map the model again.");
        }
        return new CellPlan(mapping, cells, levels, starts, targets);
    }

    /// <summary>
    /// Gives each cell of <paramref name="layer"/> its board address from the block that holds its matrix row and
    /// column (column = output x cells per weight + group x digits + digit), through the layer's placement when it has one.
    /// </summary>
    private static void PlaceCells(WeightMapping layer, long layerStart, int perWeight, CellAddress[] cells, bool[] assigned)
    {
        CheckPermutation(layer.InputOrder, layer.FanIn, "input", layer.Name);
        CheckPermutation(layer.OutputOrder, layer.FanOut, "output", layer.Name);
        foreach (CrossbarBlock block in layer.Blocks)
        {
            if (block.MatrixRow < 0 || block.Rows < 0 || block.MatrixRow + block.Rows > layer.FanIn || block.MatrixColumn < 0 || block.Columns < 0
                || block.MatrixColumn + block.Columns > (long)layer.FanOut * perWeight)
            {
                throw new SwimInputException($"the mapping places rows {block.MatrixRow}+{block.Rows}, columns {block.MatrixColumn}+{block.Columns} of weight '{layer.Name}', outside its {layer.FanIn} x {(long)layer.FanOut * perWeight} matrix. Map the model again.");
            }
            for (int r = 0; r < block.Rows; r++)
            {
                int input = layer.InputOrder is { } inputs ? inputs[block.MatrixRow + r] : block.MatrixRow + r;
                for (int c = 0; c < block.Columns; c++)
                {
                    int column = block.MatrixColumn + c;
                    int output = layer.OutputOrder is { } outputs ? outputs[column / perWeight] : column / perWeight;
                    long element = layer.OutputsFirst ? (long)output * layer.FanIn + input : (long)input * layer.FanOut + output;
                    int cell = checked((int)((layerStart + element) * perWeight + column % perWeight));
                    if (assigned[cell])
                    {
                        throw new SwimInputException($"the mapping places row {input}, column {column} of weight '{layer.Name}' in two blocks. Map the model again.");
                    }
                    assigned[cell] = true;
                    cells[cell] = new CellAddress((ushort)block.Tile, (ushort)(block.TileRow + r), (ushort)(block.TileColumn + c));
                }
            }
        }
    }

    private static void CheckPermutation(IReadOnlyList<int>? order, int count, string what, string weight)
    {
        if (order is null)
        {
            return;
        }
        var seen = new bool[count];
        if (order.Count != count || order.Any(i => i < 0 || i >= count || seen[i] || !(seen[i] = true)))
        {
            throw new SwimInputException($"the mapping's {what} order of weight '{weight}' is not a permutation of its {count:N0} {what}s. Map the model again.");
        }
    }

    /// <summary>(stored magnitude, which group holds it, the quantized weight).</summary>
    private static (long Magnitude, int Group, float Quantized) Quantize(CrossbarMapping mapping, float w, double step)
    {
        long top = (1L << mapping.MagnitudeBits) - 1;
        if (mapping.Signs == SignEncoding.Differential)
        {
            long q = Math.Min((long)Math.Round(Math.Abs(w) / step), top);
            return (q, w < 0 ? 1 : 0, (float)(Math.Sign(w) * q * step));
        }
        long offset = 1L << (mapping.MagnitudeBits - 1);
        long v = Math.Clamp((long)Math.Round(w / step) + offset, 0, top);
        return (v, 0, (float)((v - offset) * step));
    }

    /// <summary>Weights as cells of these conductances (plan order, microsiemens) would hold them, layer by layer.</summary>
    public float[][] Decode(ReadOnlySpan<float> conductances)
    {
        if (conductances.Length != Cells.Length)
        {
            throw new ArgumentException($"expected {Cells.Length} conductances, got {conductances.Length}.", nameof(conductances));
        }
        CrossbarMapping m = Mapping;
        var weights = new float[m.Weights.Count][];
        double gMin = m.ConductanceMin, levelStep = m.LevelStep;
        long offset = m.Signs == SignEncoding.Offset ? 1L << (m.MagnitudeBits - 1) : 0;
        for (int l = 0; l < m.Weights.Count; l++)
        {
            double step = m.StepOf(m.Weights[l]);
            weights[l] = new float[m.Weights[l].ElementCount];
            for (long e = 0; e < weights[l].Length; e++)
            {
                long first = (LayerStarts[l] + e) * m.CellsPerWeight;
                double value = 0;
                for (int g = 0; g < m.Groups; g++)
                {
                    double group = 0;
                    for (int d = 0; d < m.Digits; d++)
                    {
                        group += (conductances[(int)(first + g * m.Digits + d)] - gMin) / levelStep * Math.Pow(2, m.BitsPerCell * (m.Digits - 1 - d));
                    }
                    value += g == 0 ? group : -group;
                }
                weights[l][e] = (float)((value - offset) * step);
            }
        }
        return weights;
    }
}
