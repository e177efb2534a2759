using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// An output path that cannot be written is refused before any work: before the sensitivity pass, the
/// training run or the first pulse, with exit 2, the option's name and a path that would work.
/// </summary>
public sealed class OutputPathTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string[]> Commands => new()
    {
        { "sensitivity", ["sensitivity", s_model, "--data", s_data] },
        { "train", ["train", "--data", s_data, "--epochs", "1"] },
        { "program", ["program", s_model, "--board", "emulator", "--calib", s_data, "--data", s_data] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_directory_given_as_the_output_file_is_refused_before_any_work(string name, string[] args)
    {
        string directory = _dir.File("taken");
        Directory.CreateDirectory(directory);
        string journal = _dir.File("journal.db");

        CliRun run = CliRun.Of([.. args, "--out", directory, .. name == "program" ? new[] { "--journal", journal } : []]);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains($"--out '{directory}' is a directory; give a file name, e.g. '{Path.Combine(directory, "")}", run.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
        Assert.False(File.Exists(journal), "no session was started");
    }

    [Fact]
    public void A_directory_given_as_the_journal_is_refused_before_the_sensitivity_pass()
    {
        // Before: SQLite failed to open it after the pass and the board connection, as an unhandled exception.
        string journal = _dir.File("journals");
        Directory.CreateDirectory(journal);

        CliRun run = CliRun.Of("program", s_model, "--board", "emulator", "--calib", s_data, "--data", s_data,
            "--out", _dir.File("programmed.onnx"), "--journal", journal);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains($"--journal '{journal}' is a directory; give a file name", run.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(journal));
    }

    [Fact]
    public void A_file_given_as_the_report_directory_is_refused_before_the_board_is_touched()
    {
        string report = _dir.File("report");
        File.WriteAllText(report, "keep me");
        string journal = _dir.File("journal.db");

        CliRun run = CliRun.Of("program", s_model, "--board", "emulator", "--calib", s_data, "--data", s_data,
            "--out", _dir.File("programmed.onnx"), "--report", report, "--journal", journal);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains($"--report '{report}' is a file", run.Error);
        Assert.Equal("keep me", File.ReadAllText(report));
        Assert.False(File.Exists(_dir.File("programmed.onnx")));
        Assert.False(File.Exists(journal), "no session was started");
    }
}
