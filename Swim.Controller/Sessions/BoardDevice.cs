using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Selection;
using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>
/// What a session assumes about the board's device, for the selections that rank by its physics (uswim,
/// cell-level, uswim-paper): the in-process emulator's own preset, else the preset a board's IDENTIFY names,
/// else rram's (and then the user is told).
/// </summary>
public sealed class BoardDevice
{
    private readonly DevicePreset? _known;

    public BoardDevice(BoardConnection connection, BoardInfo info)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(info);
        _known = connection.Device;
        Info = info;
        Named = DevicePreset.Names.Contains(info.DeviceModel);
        Preset = _known ?? DevicePreset.ByName(Named ? info.DeviceModel : EmulatorAddress.DefaultPreset);
    }

    public BoardInfo Info { get; }

    /// <summary>The physics Swim uses for this board.</summary>
    public DevicePreset Preset { get; }

    /// <summary>Whether the board's IDENTIFY names a device Swim has a preset for.</summary>
    public bool Named { get; }

    /// <summary>The options with what the device says about state dependence (uswim-paper's s) filled in.</summary>
    public ProgrammingOptions Complete(ProgrammingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with { StateSigmaRatio = Preset.StateSigmaRatio };
    }

    /// <summary>The per-cell variance a selection weighs by, or null when it needs none and the device is not known for certain.</summary>
    public Func<CellPlan, Func<int, double>>? VarianceModel(SelectionMethod selection) =>
        _known is not null || RanksByVariance(selection) ? DeviceVariance.From(Preset) : null;

    /// <summary>What the user must know when a selection ranks by a variance model the board did not name, or null.</summary>
    public string? Assumption(SelectionMethod selection) =>
        _known is null && RanksByVariance(selection) && !Named
            ? $"{SelectionMethods.Name(selection)} ranks by a device's state-dependent programming variance, and Swim has no model for the board's device '{Info.DeviceModel}' "
              + $"({string.Join(", ", DevicePreset.Names)}); it uses {Preset.Name}'s. Rankings on this board are only as good as that assumption."
            : null;

    private static bool RanksByVariance(SelectionMethod selection) => selection is SelectionMethod.USwim or SelectionMethod.CellLevel or SelectionMethod.USwimPaper;
}
