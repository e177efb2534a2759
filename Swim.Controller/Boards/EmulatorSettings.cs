using Swim.Emulator;
using Swim.Devices;

namespace Swim.Controller.Boards;

/// <summary>
/// How an in-process emulator (<c>--board emulator[:PRESET]</c>) is built: its geometry, the seed of its physics,
/// when set a stuck-cell rate in place of the preset's (0 gives a board whose only errors are programming variation),
/// and how many boards of that geometry it stands for (<c>--emulator-boards</c>).
/// </summary>
/// <param name="Boards">
/// Boards each in-process emulator address makes, of <paramref name="Geometry"/> each: together the cells of one board of
/// all their tiles for <paramref name="Seed"/> (<see cref="Emulator.EmulatedBoard"/>), so a session's result does not
/// depend on how many boards share it.
/// </param>
public sealed record EmulatorSettings(BoardGeometry Geometry, ulong Seed = 1, double? StuckRate = null, int Boards = 1)
{
    /// <summary>The default board, in-process or served by swim emulator: <see cref="BoardGeometry.Default"/>.</summary>
    public static readonly string DefaultGeometry = BoardGeometry.Default.ToString();

    public static EmulatorSettings Default { get; } = new(BoardGeometry.Default);

    public DevicePreset Apply(DevicePreset preset) => StuckRate is { } rate ? preset with { StuckRate = rate } : preset;

    /// <summary>Refuses emulator-only settings for another kind of board, before anything is opened.</summary>
    public void CheckFor(BoardAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address is not EmulatorAddress && StuckRate is not null)
        {
            throw new SwimInputException($"board '{address}': a stuck-cell rate sets up the in-process emulator (emulator[:PRESET]); a real board's stuck cells are its own. Leave the rate out.");
        }
    }

    /// <summary>Checks a count of in-process boards given at <paramref name="where"/>.</summary>
    public static int CheckBoards(int boards, string where) =>
        boards is >= 1 and <= Emulator.EmulatedBoard.MaxSetSize ? boards
            : throw new SwimInputException($"{where} must be from 1 to {Emulator.EmulatedBoard.MaxSetSize} in-process boards (got {boards}).");

    /// <summary>Refuses emulator-only settings when none of a session's boards is an in-process emulator.</summary>
    public void CheckFor(IReadOnlyList<BoardAddress> boards)
    {
        ArgumentNullException.ThrowIfNull(boards);
        foreach (BoardAddress board in boards)
        {
            CheckFor(board);
        }
        if (Boards != 1 && !boards.Any(b => b is EmulatorAddress))
        {
            throw new SwimInputException($"--emulator-boards makes in-process emulated boards, and no --board is 'emulator[:PRESET]' ({string.Join(", ", boards)}). Leave it out, or add --board emulator.");
        }
    }

    /// <summary>Parses an emulator geometry given at <paramref name="where"/> (an option or a script key).</summary>
    public static BoardGeometry ParseGeometry(string text, string where)
    {
        try
        {
            return BoardGeometry.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new SwimInputException($"{where}: {ex.Message}", ex);
        }
    }

    /// <summary>Checks a stuck-cell rate given on the command line or in a script.</summary>
    public static double? CheckStuckRate(double? rate, string where) =>
        rate is null or (>= 0 and <= 1) ? rate : throw new SwimInputException($"{where} must be a fraction of cells in [0, 1] (got {rate}).");
}
