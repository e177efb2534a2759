namespace Swim.Protocol.Messages;

/// <summary>One cell of the board: tile, row, column. Six bytes on the wire (three little-endian u16).</summary>
public readonly record struct CellAddress(ushort Tile, ushort Row, ushort Column)
{
    public const int WireLength = 6;

    /// <summary>The cells of a rectangle of one tile from <paramref name="origin"/>, row by row: the order rectangle commands take them.</summary>
    public static IEnumerable<CellAddress> Rectangle(CellAddress origin, int rows, int columns) =>
        Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, columns)
            .Select(c => new CellAddress(origin.Tile, (ushort)(origin.Row + r), (ushort)(origin.Column + c))));

    public override string ToString() => $"({Tile}, {Row}, {Column})";
}
