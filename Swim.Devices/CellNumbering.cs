namespace Swim.Devices;

/// <summary>
/// Which cells of a larger array an array's cells are, for the draws that give each cell its physics: board
/// <see cref="FirstTile"/> of a set of <see cref="TileStride"/> holds tiles FirstTile, FirstTile + TileStride, ... of
/// the one board the seed describes. So a set of boards is the same cells as one board of all their tiles, cell for cell.
/// </summary>
public readonly record struct CellNumbering(int CellsPerTile, int TileStride, int FirstTile)
{
    /// <summary>An array numbered as itself.</summary>
    public static CellNumbering Whole { get; } = new(int.MaxValue, 1, 0);

    public bool IsWhole => TileStride == 1 && FirstTile == 0;

    /// <summary>The cell's number in the whole array: what its random draws are keyed by.</summary>
    public ulong Of(int cell) => IsWhole ? (ulong)cell
        : ((ulong)(cell / CellsPerTile) * (ulong)TileStride + (ulong)FirstTile) * (ulong)CellsPerTile + (ulong)(cell % CellsPerTile);
}
