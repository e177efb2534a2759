namespace Swim.Emulator;

/// <summary>Tiles of rows x columns cells.</summary>
public readonly record struct BoardGeometry(ushort Tiles, ushort Rows, ushort Columns)
{
    /// <summary>16 tiles of 256 x 256: room for the bundled LeNet-5 at 8 bits on 2-bit cells with differential signs.</summary>
    public static BoardGeometry Default { get; } = new(16, 256, 256);

    public int CellCount => Tiles * Rows * Columns;

    /// <summary>Parses "TILESxROWSxCOLUMNS", e.g. "8x256x256".</summary>
    public static BoardGeometry Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split('x', 'X');
        if (parts.Length != 3 || !parts.All(p => ushort.TryParse(p, out ushort v) && v > 0))
        {
            throw new FormatException($"geometry '{text}' is not TILESxROWSxCOLUMNS with each a number from 1 to 65535 (e.g. 8x256x256).");
        }
        var geometry = new BoardGeometry(ushort.Parse(parts[0]), ushort.Parse(parts[1]), ushort.Parse(parts[2]));
        if ((long)geometry.Tiles * geometry.Rows * geometry.Columns > 64L << 20)
        {
            throw new FormatException($"geometry '{text}' has more than 64 Mi cells; the emulator holds its state in memory.");
        }
        return geometry;
    }

    public override string ToString() => $"{Tiles}x{Rows}x{Columns}";
}
