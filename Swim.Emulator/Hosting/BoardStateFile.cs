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
    private const string Magic = "SWIMEMU2";

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
            w.Write(cells.ClockNs);
            w.Write(cells.TotalPulses);
            w.Write(cells.TotalReads);
            w.Write(cells.TotalVerifyIterations);
            var state = cells.State;
            foreach (float v in state.Anchor) w.Write(v);
            foreach (long v in state.AnchoredAt) w.Write(v);
            w.Write(state.Stuck);
            for (int i = 0; i < cells.Count; i++) w.Write(cells.OperationsOf(i));
            foreach (uint v in state.ReadOperations) w.Write(v);
            foreach (uint v in state.Pulses) w.Write(v);
            foreach (uint v in state.Reads) w.Write(v);
            for (int i = 0; i < cells.Count; i++) w.Write(cells.TimeNsOf(i));
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
            if (r.ReadString() != Magic)
            {
                throw new InvalidDataException($"'{path}' is not a Swim emulator state file.");
            }
            DevicePreset preset = DevicePreset.ByName(r.ReadString());
            var geometry = new BoardGeometry(r.ReadUInt16(), r.ReadUInt16(), r.ReadUInt16());
            var board = new EmulatedBoard(preset, geometry, r.ReadUInt64(), capabilities, protocolVersion);
            long clock = r.ReadInt64();
            ulong pulses = r.ReadUInt64(), reads = r.ReadUInt64(), iterations = r.ReadUInt64();
            var state = board.Cells.State;
            for (int i = 0; i < state.Anchor.Length; i++) state.Anchor[i] = r.ReadSingle();
            for (int i = 0; i < state.AnchoredAt.Length; i++) state.AnchoredAt[i] = r.ReadInt64();
            r.Read(state.Stuck);
            var operations = new uint[board.Cells.Count];
            for (int i = 0; i < operations.Length; i++) operations[i] = r.ReadUInt32();
            for (int i = 0; i < state.ReadOperations.Length; i++) state.ReadOperations[i] = r.ReadUInt32();
            for (int i = 0; i < state.Pulses.Length; i++) state.Pulses[i] = r.ReadUInt32();
            for (int i = 0; i < state.Reads.Length; i++) state.Reads[i] = r.ReadUInt32();
            board.Cells.RestoreOperations(operations);
            for (int i = 0; i < board.Cells.Count; i++) board.Cells.RestoreTimeNs(i, r.ReadUInt64());
            board.Cells.Restore(clock, pulses, reads, iterations);
            return board;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"'{path}' is truncated; delete it to start from a fresh board.", ex);
        }
    }
}
