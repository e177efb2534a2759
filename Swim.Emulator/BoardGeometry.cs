namespace Swim.Emulator;

/// <summary>Tiles of rows x columns cells.</summary>
public readonly record struct BoardGeometry(ushort Tiles, ushort Rows, ushort Columns)
{
    /// <summary>16 tiles of 256 x 256: room for the bundled LeNet-5 at 8 bits on 2-bit cells with differential signs.</summary>
    public static BoardGeometry Default { get; } = new(16, 256, 256);

    public int CellCount => Tiles * Rows * Columns;

    /// <summary>The most cells one emulated board holds: a documented limit (docs/several-boards.md); larger models go over several boards.</summary>
    public const long MaxCells = 64L << 20;

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
        if ((long)geometry.Tiles * geometry.Rows * geometry.Columns > MaxCells)
        {
            throw new FormatException($"geometry '{text}' has {(long)geometry.Tiles * geometry.Rows * geometry.Columns:N0} cells, more than the 64 Mi cells ({MaxCells:N0}) an emulated board holds " +
                "(about 9 bytes a cell, in memory); spread the model over several boards of fewer tiles with --emulator-boards N (a script's emulator.boards).");
        }
        return geometry;
    }

    public override string ToString() => $"{Tiles}x{Rows}x{Columns}";
}
