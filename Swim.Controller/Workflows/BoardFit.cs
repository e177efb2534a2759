using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Workflows;

/// <summary>A board as it describes itself in IDENTIFY, and how a model would lie on it: what <c>swim info --board</c> shows, with nothing programmed.</summary>
public sealed record BoardFit(
    string Device, string Serial, string Firmware, int Tiles, int Rows, int Columns, int Levels, float ConductanceMin, float ConductanceMax,
    string Capabilities, string Link, int BitsPerCell, int CellsPerWeight, long CellsNeeded, long CellsOnBoard, int Blocks, bool CutToFit)
{
    /// <summary>Opens the board, asks for its IDENTIFY and maps the model onto it; refuses a model that does not fit, as programming would.</summary>
    public static async Task<BoardFit> MeasureAsync(OnnxModel model, BoardAddress address, EmulatorSettings emulator, MappingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        await using BoardConnection board = await BoardConnection.OpenAsync(address, emulator, cancellationToken).ConfigureAwait(false);
        // Read-only: asking a board what it is must not take the write lease from a host programming it.
        await using var client = new BoardClient(board.Transport, new BoardClientOptions { ReadOnly = true });
        BoardInfo info = await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
        CrossbarMapping mapping = CrossbarMapping.Build(model, info, options);
        return new BoardFit(info.DeviceModel, info.Serial, $"{info.FirmwareMajor}.{info.FirmwareMinor}.{info.FirmwarePatch}", info.Tiles, info.Rows, info.Columns,
            info.LevelsPerCell, info.ConductanceMinMicrosiemens, info.ConductanceMaxMicrosiemens, info.Capabilities.ToString(), client.LinkDescription,
            mapping.BitsPerCell, mapping.CellsPerWeight, mapping.CellCount, info.CellCount, mapping.Weights.Sum(w => w.Blocks.Count),
            mapping.IsCutFinerThanTiles());
    }
}
