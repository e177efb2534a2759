using Swim.Protocol.Messages;
using Swim.Devices;

namespace Swim.Emulator.Hosting;

/// <summary>
/// Saves an emulated board's cells between runs (swim emulator --state FILE): preset, geometry, seed,
/// virtual clock and each cell's conductance, stuck state and counters. Written through a temporary file, so a
/// kill mid-save leaves the previous state. Properties drawn from the seed (device offsets, drift exponents)
/// are drawn again on load.
/// </summary>
public static class BoardStateFile
{
    private const string Magic = "SWIMEMU3";
    private const string PreviousMagic = "SWIMEMU2";

    public static void Save(EmulatedBoard board, string path)
    {
        ArgumentNullException.ThrowIfNull(board);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = full + ".partial";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        using (var w = new BinaryWriter(stream))
        {
            CellArray cells = board.Cells;
            w.Write(Magic);
            w.Write(cells.Preset.Name);
            w.Write(board.Geometry.Tiles);
            w.Write(board.Geometry.Rows);
            w.Write(board.Geometry.Columns);
            w.Write(board.Seed);
            cells.WriteTo(w);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, full, overwrite: true);
    }

    /// <param name="capabilities">What the restored board advertises (capabilities are how it is run, not state).</param>
    public static EmulatedBoard Load(string path, BoardCapabilities capabilities = EmulatedBoard.AllCapabilities, byte protocolVersion = Protocol.Framing.ProtocolConstants.Version)
    {
        using var stream = File.OpenRead(path);
        using var r = new BinaryReader(stream);
        try
        {
            string magic = r.ReadString();
            if (magic == PreviousMagic)
            {
                throw new InvalidDataException($"'{path}' was saved by an earlier Swim, in a format this one no longer reads; delete it to start from a fresh board.");
            }
            if (magic != Magic)
            {
                throw new InvalidDataException($"'{path}' is not a Swim emulator state file.");
            }
            DevicePreset preset = DevicePreset.ByName(r.ReadString());
            var geometry = new BoardGeometry(r.ReadUInt16(), r.ReadUInt16(), r.ReadUInt16());
            var board = new EmulatedBoard(preset, geometry, r.ReadUInt64(), capabilities, protocolVersion);
            board.Cells.ReadFrom(r);
            return board;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"'{path}' is truncated; delete it to start from a fresh board.", ex);
        }
    }
}
