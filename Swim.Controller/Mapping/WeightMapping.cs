namespace Swim.Controller.Mapping;

/// <summary>
/// One weight tensor on the crossbar: its quantization and where its cells sit. Element e (row-major in the
/// tensor) occupies crossbar row <c>RowOf(e)</c> and columns <c>ColumnOf(e, group, digit)</c> of the weight's
/// logical matrix, which <see cref="Blocks"/> cut into rectangles placed on the tiles.
/// </summary>
public sealed record WeightMapping
{
    public required string Name { get; init; }

    public required IReadOnlyList<long> Dims { get; init; }

    /// <summary>max|W| of the tensor: the full scale every cell's significance refers to.</summary>
    public required float FullScale { get; init; }

    /// <summary>Inputs: the crossbar rows (k*k*C_in for a conv, the fan-in of a dense layer).</summary>
    public required int FanIn { get; init; }

    /// <summary>Outputs: C_out for a conv, the fan-out of a dense layer.</summary>
    public required int FanOut { get; init; }

    /// <summary>Whether the tensor is stored outputs-first ([out, in...], Conv and Gemm with transB) or inputs-first ([in, out]).</summary>
    public required bool OutputsFirst { get; init; }

    public required IReadOnlyList<CrossbarBlock> Blocks { get; init; }

    /// <summary>
    /// Placement: the input held on logical row i (null: input i, the natural order). Inputs feed the crossbar through
    /// the same permutation, so the layer computes the same function; the plan reads each weight where it was placed.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? InputOrder { get; init; }

    /// <summary>Placement: the output held by logical column group i (null: output i). Outputs are routed back the same way.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? OutputOrder { get; init; }

    public long ElementCount => (long)FanIn * FanOut;
}

/// <summary>A rectangle of a weight's logical matrix placed on one tile.</summary>
public sealed record CrossbarBlock(int Tile, int TileRow, int TileColumn, int MatrixRow, int MatrixColumn, int Rows, int Columns);
