using System.CommandLine;
using Swim.Controller.Boards;

namespace Swim.Controller.Cli;

/// <summary>The options that say which board to use and how to reach it (<c>--board</c>, the in-process emulator's set-up, the link's patience).</summary>
internal sealed class BoardCliOptions
{
    /// <param name="required">Whether the command needs a board (program) or can do without one (info).</param>
    /// <param name="boardDescription">What --board is for in this command.</param>
    public BoardCliOptions(bool required, string boardDescription)
    {
        Board = new Option<string[]>("--board")
        {
            Description = $"{boardDescription}: {BoardAddress.Forms}. Give it again to spread the model over several boards, programmed side by side.",
            Required = required,
        };
        EmulatorBoards = new Option<int>("--emulator-boards")
        {
            Description = "In-process emulator: how many boards of --geometry it makes (together the cells of one board of all their tiles for --emulator-seed).",
            DefaultValueFactory = _ => EmulatorSettings.Default.Boards,
        };
        Geometry = new Option<string>("--geometry") { Description = "In-process emulator: its geometry TILESxROWSxCOLUMNS.", DefaultValueFactory = _ => EmulatorSettings.DefaultGeometry };
        EmulatorSeed = new Option<ulong>("--emulator-seed") { Description = "In-process emulator: the seed of its physics.", DefaultValueFactory = _ => EmulatorSettings.Default.Seed };
        StuckRate = new Option<double?>("--stuck-rate") { Description = "In-process emulator: overrides the preset's fraction of stuck cells (0 for a board with programming variation only)." };
        LinkTimeout = new Option<int>("--link-timeout")
        {
            Description = "Milliseconds to wait for a board's answer before sending the request again (plus the device time its IDENTIFY gives the commands in flight).",
            DefaultValueFactory = _ => LinkSettings.Default.TimeoutMilliseconds,
        };
        LinkRetries = new Option<int>("--link-retries") { Description = "Attempts after the first before a request fails (each reuses its sequence number, so nothing runs twice).", DefaultValueFactory = _ => LinkSettings.Default.Retries };
    }

    public Option<string[]> Board { get; }

    public Option<int> EmulatorBoards { get; }

    public Option<string> Geometry { get; }

    public Option<ulong> EmulatorSeed { get; }

    public Option<double?> StuckRate { get; }

    public Option<int> LinkTimeout { get; }

    public Option<int> LinkRetries { get; }

    public void AddTo(Command command, bool withLink = true)
    {
        foreach (Option o in withLink ? new Option[] { Board, Geometry, EmulatorSeed, EmulatorBoards, StuckRate, LinkTimeout, LinkRetries } : [Board, Geometry, EmulatorSeed, EmulatorBoards, StuckRate])
        {
            command.Options.Add(o);
        }
    }

    /// <summary>The boards' addresses in the order given (none when none was).</summary>
    public IReadOnlyList<BoardAddress> Addresses(ParseResult result) => [.. (result.GetValue(Board) ?? []).Select(BoardAddress.Parse)];

    public EmulatorSettings Emulator(ParseResult result) =>
        new(EmulatorSettings.ParseGeometry(result.GetValue(Geometry)!, "--geometry"), result.GetValue(EmulatorSeed), EmulatorSettings.CheckStuckRate(result.GetValue(StuckRate), "--stuck-rate"),
            EmulatorSettings.CheckBoards(result.GetValue(EmulatorBoards), "--emulator-boards"));

    public LinkSettings Link(ParseResult result) => new LinkSettings(result.GetValue(LinkTimeout), result.GetValue(LinkRetries)).Check("--link-timeout", "--link-retries");
}
