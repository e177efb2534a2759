namespace Swim.Protocol.Messages;

/// <summary>One cell of the board: tile, row, column. Six bytes on the wire (three little-endian u16).</summary>
public readonly record struct CellAddress(ushort Tile, ushort Row, ushort Column)
{
    public const int WireLength = 6;

    public override string ToString() => $"({Tile}, {Row}, {Column})";
}
