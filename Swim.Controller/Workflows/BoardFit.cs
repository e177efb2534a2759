using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Workflows;

/// <summary>
/// A board as it describes itself in IDENTIFY, and how a model would lie on it: what <c>swim info --board</c> shows, with
/// nothing programmed. Over several boards, the first board's description, the whole set's figures, and
/// <see cref="Placement"/> board by board.
/// </summary>
public sealed record BoardFit(
    string Device, string Serial, string Firmware, int Tiles, int Rows, int Columns, int Levels, float ConductanceMin, float ConductanceMax,
    string Capabilities, string Link, int BitsPerCell, int CellsPerWeight, long CellsNeeded, long CellsOnBoard, int Blocks, bool CutToFit)
{
    /// <summary>Where the model's cells would go, board by board (one entry for one board).</summary>
    public IReadOnlyList<BoardPlacement> Placement { get; init; } = [];

    /// <summary>Opens the board, asks for its IDENTIFY and maps the model onto it; refuses a model that does not fit, as programming would.</summary>
    public static Task<BoardFit> MeasureAsync(OnnxModel model, BoardAddress address, EmulatorSettings emulator, MappingOptions options, CancellationToken cancellationToken = default) =>
        MeasureAsync(model, [address], emulator, options, cancellationToken);

    /// <summary>
    /// The same over several boards, as <c>swim program</c> would spread the model: each board asked for its IDENTIFY
    /// (an in-process emulator describes itself without building its cells), the model mapped onto their set.
    /// </summary>
    public static async Task<BoardFit> MeasureAsync(OnnxModel model, IReadOnlyList<BoardAddress> addresses, EmulatorSettings emulator, MappingOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(emulator);
        ArgumentNullException.ThrowIfNull(options);
        emulator.CheckFor(addresses);
        var infos = new List<BoardInfo>();
        var links = new List<string>();
        int emulated = addresses.Count(a => a is EmulatorAddress) * emulator.Boards, next = 0;
        foreach (BoardAddress address in addresses)
        {
            if (address is EmulatorAddress e)
            {
                DevicePreset preset = emulator.Apply(DevicePreset.ByName(e.Preset));
                for (int i = 0; i < emulator.Boards; i++)
                {
                    infos.Add(EmulatedBoard.Describe(preset, emulator.Geometry, emulator.Seed, next++, emulated));
                    links.Add("in-process");
                }
                continue;
            }
            await using BoardConnection board = await BoardConnection.OpenAsync(address, emulator, cancellationToken).ConfigureAwait(false);
            // Read-only: asking a board what it is must not take the write lease from a host programming it.
            await using var client = new BoardClient(board.Transport, new BoardClientOptions { ReadOnly = true });
            infos.Add(await client.IdentifyAsync(cancellationToken).ConfigureAwait(false));
            links.Add(client.LinkDescription);
        }
        var set = BoardSet.Of(infos);
        CrossbarMapping mapping = CrossbarMapping.Build(model, set.Combined, options);
        BoardInfo info = infos[0];
        return new BoardFit(info.DeviceModel, info.Serial, $"{info.FirmwareMajor}.{info.FirmwareMinor}.{info.FirmwarePatch}", set.Combined.Tiles, info.Rows, info.Columns,
            info.LevelsPerCell, info.ConductanceMinMicrosiemens, info.ConductanceMaxMicrosiemens, info.Capabilities.ToString(), links[0],
            mapping.BitsPerCell, mapping.CellsPerWeight, mapping.CellCount, set.Combined.CellCount, mapping.Weights.Sum(w => w.Blocks.Count),
            mapping.IsCutFinerThanTiles())
        { Placement = Place(set, mapping, links) };
    }

    /// <summary>Each board's share of the mapping's blocks: tiles they use and cells they hold.</summary>
    private static List<BoardPlacement> Place(BoardSet set, CrossbarMapping mapping, List<string> links)
    {
        var cells = new long[set.Count];
        var tiles = new HashSet<int>[set.Count];
        var blocks = new int[set.Count];
        for (int b = 0; b < set.Count; b++)
        {
            tiles[b] = [];
        }
        foreach (CrossbarBlock block in mapping.Weights.SelectMany(w => w.Blocks))
        {
            (int board, ushort tile) = set.Locate(block.Tile);
            cells[board] += (long)block.Rows * block.Columns;
            tiles[board].Add(tile);
            blocks[board]++;
        }
        return [.. Enumerable.Range(0, set.Count).Select(b => new BoardPlacement(set.Boards[b].Serial, links[b], set.Boards[b].Tiles, tiles[b].Count, blocks[b], cells[b], set.Boards[b].CellCount))];
    }
}

/// <summary>One board's part of a model's placement: the tiles it has and uses, the blocks and cells it holds, and its size.</summary>
public sealed record BoardPlacement(string Serial, string Link, int Tiles, int TilesUsed, int Blocks, long Cells, long CellsOnBoard);
