using System.Text.Json;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary><c>swim program</c> over several boards: the same read-back as one board of all their tiles, per-board figures, and the refusals.</summary>
[Trait("Speed", "Slow")]
public sealed class SeveralBoardsCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    public void Dispose() => _dir.Dispose();

    private string[] Args(string name, params string[] more) =>
        ["program", s_model, "--calib", s_data, "--samples", "300", "--data", s_data, "--method", "swim", "--ratio", "0.1",
         "--out", _dir.File($"{name}.onnx"), "--report", _dir.File(name), .. more];

    [Fact]
    public void LeNet_over_two_boards_reads_back_as_over_one_board_of_their_tiles()
    {
        // The paper's preset has no time effects, so the boards' separate clocks cannot part the two runs.
        CliRun one = CliRun.Of(Args("one", "--board", "emulator:paper", "--geometry", "16x256x256"));
        CliRun two = CliRun.Of(Args("two", "--board", "emulator:paper", "--geometry", "8x256x256", "--emulator-boards", "2"));

        Assert.True(one.ExitCode == ExitCodes.Success, one.Error);
        Assert.True(two.ExitCode == ExitCodes.Success, two.Error);
        JsonElement a = JsonDocument.Parse(File.ReadAllText(_dir.File("one/report.json"))).RootElement;
        JsonElement b = JsonDocument.Parse(File.ReadAllText(_dir.File("two/report.json"))).RootElement;
        Assert.Equal(a.GetProperty("accuracy").GetDouble(), b.GetProperty("accuracy").GetDouble());
        Assert.Equal(File.ReadAllBytes(_dir.File("one.onnx")), File.ReadAllBytes(_dir.File("two.onnx")));
        JsonElement[] boards = [.. b.GetProperty("boards").EnumerateArray()];
        Assert.Equal(2, boards.Length);
        Assert.Equal(a.GetProperty("cells_programmed").GetInt64(), boards.Sum(x => x.GetProperty("cells").GetInt64()));
        // Side by side the session takes its slower board's time; one after the other, both boards' (the one board's).
        Assert.Equal(boards.Max(x => x.GetProperty("device_time_s").GetDouble()), b.GetProperty("device_time_s").GetDouble(), 9);
        Assert.Equal(a.GetProperty("device_time_s").GetDouble(), b.GetProperty("device_time_one_after_another_s").GetDouble(), 6);
        Assert.Contains("one board after another", two.Output, StringComparison.Ordinal);
        Assert.Contains("board 2", two.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_script_over_a_list_of_boards_programs_as_over_one_board_of_their_tiles()
    {
        string Script(string name, string boards) =>
            $"{boards}model: {s_model}\ncalibration: {{path: {s_data}, samples: 300}}\ntest: {{path: {s_data}, samples: 300}}\noutput: {_dir.File(name)}\n" +
            "steps:\n  - identify\n  - program: {method: swim, ratio: 0.1}\n  - eval\n";
        File.WriteAllText(_dir.File("one.yaml"), Script("one", "board: emulator:paper\nemulator: {geometry: 16x256x256}\n"));
        File.WriteAllText(_dir.File("two.yaml"), Script("two", "board: [emulator:paper, emulator:paper]\nemulator: {geometry: 8x256x256}\n"));

        CliRun one = CliRun.Of("run", _dir.File("one.yaml"));
        CliRun two = CliRun.Of("run", _dir.File("two.yaml"));

        Assert.True(one.ExitCode == ExitCodes.Success, one.Error);
        Assert.True(two.ExitCode == ExitCodes.Success, two.Error);
        Assert.Contains("  board 2 paper EMU0001-2of2", two.Output, StringComparison.Ordinal);
        string programmed(string name) => Directory.GetFiles(Path.Combine(_dir.File(name), "programmed"), "*.onnx").Single();
        Assert.Equal(File.ReadAllBytes(programmed("one")), File.ReadAllBytes(programmed("two")));
    }

    [Fact]
    public void Info_shows_the_placement_board_by_board()
    {
        CliRun run = CliRun.Of("info", s_model, "--board", "emulator", "--geometry", "8x256x256", "--emulator-boards", "2", "--json");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        JsonElement board = JsonDocument.Parse(run.Output).RootElement.GetProperty("board");
        JsonElement[] placement = [.. board.GetProperty("placement").EnumerateArray()];
        Assert.Equal(["EMU0001-1of2", "EMU0001-2of2"], placement.Select(p => p.GetProperty("serial").GetString()));
        // Tiles dealt out in turn: the parts make the whole, and the boards use as many tiles as each other, give or take one.
        Assert.Equal(board.GetProperty("cells_needed").GetInt64(), placement.Sum(p => p.GetProperty("cells").GetInt64()));
        int[] used = [.. placement.Select(p => p.GetProperty("tiles_used").GetInt32())];
        Assert.True(used.All(u => u > 0) && used.Max() - used.Min() <= 1, string.Join(", ", used));

        CliRun table = CliRun.Of("info", s_model, "--board", "emulator", "--geometry", "8x256x256", "--emulator-boards", "2");
        Assert.Contains("placement across boards", table.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--emulator-boards", "0", "--emulator-boards must be from 1 to 256")]
    [InlineData("--budget", "1", "--budget stops one board's write-verify")]
    [InlineData("--replaced-board", "2", "give it with --resume")]
    public void Several_boards_refuse_what_they_cannot_honour_before_any_board_is_opened(string option, string value, string message)
    {
        string journal = _dir.File("session.db");
        CliRun run = CliRun.Of(["program", s_model, "--board", "emulator", "--board", "emulator", "--calib", s_data, "--method", "swim",
            option, value, "--out", _dir.File("p.onnx"), "--journal", journal]);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(journal));
        Assert.False(File.Exists(_dir.File("p.onnx")));
    }

    [Fact]
    public void Emulator_boards_without_an_emulator_are_refused()
    {
        CliRun run = CliRun.Of(["program", s_model, "--board", "tcp:127.0.0.1:1", "--emulator-boards", "2", "--calib", s_data, "--method", "swim", "--out", _dir.File("p.onnx")]);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("no --board is 'emulator[:PRESET]'", run.Error, StringComparison.Ordinal);
    }
}
