using System.Net;
using System.Net.Sockets;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>
/// Bad input of every kind (options, files, boards, scripts) is refused before any work: exit 2, one message that
/// names the problem and the fix, no stack trace, nothing written, and not a byte sent to a board.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private readonly TempDirectory _dir = new();

    /// <summary>A board that counts who connects: any connection at all fails the test.</summary>
    private readonly TcpListener _board = new(IPAddress.Loopback, 0);

    public BadInputTests() => _board.Start();

    public void Dispose()
    {
        _board.Dispose();
        _dir.Dispose();
    }

    /// <summary>{model}, {data}, {dir}, {board} (the counting board), {text} (a text file), {empty} (an empty .npz), {script:YAML} (a script with that body).</summary>
    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach ((string command, string problem) in s_cases)
        {
            cases.Add(command, problem);
        }
        return cases;
    }

    private static readonly (string Command, string Problem)[] s_cases =
    [
        // program: options
        ("program {model} --board {board} --method magnitude --ratio 1.5 --out {dir}/p.onnx", "--ratio must lie in [0, 1]"),
        ("program {model} --board {board} --method magnitude --ratio -0.1 --out {dir}/p.onnx", "--ratio must lie in [0, 1]"),
        ("program {model} --board {board} --method magnitude --budget -1 --out {dir}/p.onnx", "--budget must be a positive number"),
        ("program {model} --board {board} --method magnitude --budget 1 --ratio 0.2 --out {dir}/p.onnx", "not both"),
        ("program {model} --board {board} --method magnitude --tolerance 0 --out {dir}/p.onnx", "--tolerance must lie between 0 and 1"),
        ("program {model} --board {board} --method magnitude --tolerance 1.5 --out {dir}/p.onnx", "--tolerance must lie between 0 and 1"),
        ("program {model} --board {board} --method magnitude --max-iterations 0 --out {dir}/p.onnx", "--max-iterations must be 1 to 65535"),
        ("program {model} --board {board} --method magnitude --max-iterations 70000 --out {dir}/p.onnx", "--max-iterations must be 1 to 65535"),
        ("program {model} --board {board} --method magnitude --weight-bits 0 --out {dir}/p.onnx", "--weight-bits must be 1 to 16"),
        ("program {model} --board {board} --method magnitude --weight-bits 17 --out {dir}/p.onnx", "--weight-bits must be 1 to 16"),
        ("program {model} --board {board} --method best --out {dir}/p.onnx", "Argument 'best' not recognized. Must be one of"),
        ("program {model} --board {board} --method swim --out {dir}/p.onnx", "give calibration samples with --calib"),
        ("program {model} --board {board} --method magnitude --resume --out {dir}/p.onnx", "--resume needs the --journal"),
        ("program {model} --board {board} --method magnitude --link-timeout 5 --out {dir}/p.onnx", "--link-timeout must be 10 to"),
        ("program {model} --board {board} --method magnitude --link-retries 101 --out {dir}/p.onnx", "--link-retries must be 0 to 100"),
        ("program {model} --board {board} --method magnitude --stuck-rate 0.1 --out {dir}/p.onnx", "in-process emulator"),
        ("program {model} --board emulator --method magnitude --stuck-rate 2 --out {dir}/p.onnx", "--stuck-rate must be a fraction"),
        ("program {model} --board {board} --method swim --calib {data} --batch 0 --out {dir}/p.onnx", "--batch must be 1 to"),
        ("program {model} --board {board} --method swim --calib {data} --samples 0 --out {dir}/p.onnx", "--samples must be at least 1"),
        ("program {model} --board {board} --method swim --calib {data} --sensitivity {dir}/s.npz --out {dir}/p.onnx", "not both"),
        ("program {model} --board {board} --method magnitude --ratio abc --out {dir}/p.onnx", "--ratio: 'abc' is not a number"),
        ("program {model} --board {board} --method magnitude --max-iterations many --out {dir}/p.onnx", "--max-iterations: 'many' is not a whole number"),
        // program: boards
        ("program {model} --board usb:/dev/x --method magnitude --out {dir}/p.onnx", "is not a kind of board"),
        ("program {model} --board tcp:127.0.0.1 --method magnitude --out {dir}/p.onnx", "tcp:HOST:PORT"),
        ("program {model} --board tcp:127.0.0.1:99999 --method magnitude --out {dir}/p.onnx", "tcp:HOST:PORT"),
        ("program {model} --board serial: --method magnitude --out {dir}/p.onnx", "name the device"),
        ("program {model} --board serial:/dev/ttySWIM-none --method magnitude --out {dir}/p.onnx", "serial device '/dev/ttySWIM-none' does not exist"),
        ("emulator --tcp {boardendpoint} --duration 1", "the port is in use"),
        ("program {model} --board spi:zero --method magnitude --out {dir}/p.onnx", "spi:BUS.CS@READY_GPIO"),
        ("program {model} --board emulator:flash --method magnitude --out {dir}/p.onnx", "is not a device preset"),
        ("program {model} --board emulator --geometry 16x256 --method magnitude --out {dir}/p.onnx", "TILESxROWSxCOLUMNS"),
        ("program {model} --board emulator --geometry 4096x4096x4096 --method magnitude --out {dir}/p.onnx", "64 Mi cells"),
        // program: files
        ("program {dir}/missing.onnx --board {board} --method magnitude --out {dir}/p.onnx", "missing.onnx"),
        ("program {text} --board {board} --method magnitude --out {dir}/p.onnx", "notes.txt"),
        ("program {model} --board {board} --method magnitude --out {dir}", "is a directory"),
        ("program {model} --board {board} --method magnitude --report {text} --out {dir}/p.onnx", "is a file"),
        ("program {model} --board {board} --method magnitude --journal {dir} --out {dir}/p.onnx", "is a directory"),
        ("program {model} --board {board} --method magnitude --journal {text} --out {dir}/p.onnx", "already exists; continue that session with --resume"),
        ("program {model} --board {board} --method magnitude --journal {text} --resume --out {dir}/p.onnx", "is not a Swim session journal"),
        ("program {model} --board {board} --method magnitude --journal {dir}/none.db --resume --out {dir}/p.onnx", "does not exist"),
        ("program {model} --board {board} --method magnitude --out /proc/swim/p.onnx", "cannot be written"),
        ("program {model} --board {board} --method magnitude --data {labels7} --out {dir}/p.onnx", "labels up to 10"),
        ("simulate {model} --data {labels7} --methods swim --calib {data} --out {dir}/sim", "labels up to 10"),
        ("program {model} --board {board} --method swim --sensitivity {dir}/missing.npz --out {dir}/p.onnx", "missing.npz"),
        ("program {model} --board {board} --method swim --calib {dir}/missing.npz --out {dir}/p.onnx", "missing.npz"),
        ("program {model} --board {board} --method magnitude --data {text} --out {dir}/p.onnx", "notes.txt"),
        // eval, sensitivity, simulate, train
        ("eval {model} --data {data} --batch 100000000", "--batch must be 1 to 65,536"),
        ("eval {model} --data {dir}/missing.npz", "missing.npz"),
        ("eval {model} --data {text}", "is a text file, not samples"),
        ("eval {model} --data {model}", "is an ONNX model, not samples"),
        ("eval {model} --data {empty}", "is empty, not samples"),
        ("eval {model} --data {data} --samples 0", "--samples must be at least 1"),
        ("sensitivity {model} --data {data} --threads 0 --out {dir}/s.npz", "--threads must be at least 1"),
        ("sensitivity {model} --data {data} --curvature kfac --out {dir}/s.npz", "Argument 'kfac' not recognized. Must be one of"),
        ("sensitivity {model} --data {data} --out {dir}", "is a directory"),
        ("simulate {model} --data {data} --ratios 0.1,2 --out {dir}/sim", "--ratios"),
        ("simulate {model} --data {data} --methods magnitude --trials 0 --out {dir}/sim", "--trials must be at least 1"),
        ("simulate {model} --data {data} --methods magnitude --noise-model device --read-after 1week --out {dir}/sim", "--read-after '1week' is not a duration"),
        ("simulate {model} --data {data} --methods magnitude --read-after 1d --out {dir}/sim", "--read-after belongs to the device noise model"),
        ("program {model} --board {board} --method magnitude --read-after soon --out {dir}/p.onnx", "--read-after 'soon' is not a duration"),
        ("simulate {model} --data {data} --methods magnitude --selection-cost parallel --out {dir}/sim", "--selection-cost parallel belongs to the device noise model"),
        ("program {model} --board {board} --method magnitude --selection-cost rows --out {dir}/p.onnx", "selection cost 'rows' is not one of"),
        ("program {model} --board {board} --method magnitude --placement sensitivity --out {dir}/p.onnx", "--placement sensitivity orders each layer's inputs"),
        ("program {model} --board {board} --method magnitude --placement diagonal --out {dir}/p.onnx", "placement 'diagonal' is not one of"),
        ("simulate {model} --data {data} --methods magnitude --placement sensitivity --out {dir}/sim", "--placement sensitivity belongs to the device noise model"),
        ("simulate {model} --data {data} --methods magnitude --noise-model device --sigma-wv 0.01 --out {dir}/sim", "--sigma-wv"),
        ("simulate {model} --data {data} --methods magnitude --stuck-rate 0.1 --out {dir}/sim", "--stuck-rate"),
        ("simulate {model} --data {data} --methods magnitude --shard 3/2 --out {dir}/sim", "3/2"),
        ("simulate {model} --data {data} --methods magnitude --threads 0 --out {dir}/sim", "--threads must be at least 1"),
        ("simulate {model} --data {data} --methods magnitude --device sram --noise-model device --out {dir}/sim", "sram"),
        ("train --data {data} --epochs 0 --out {dir}/t.onnx", "epochs"),
        ("info {model} --board tcp:no-such-host.invalid:5025", "does not resolve"),
        // scripts
        ("run {dir}/missing.yaml", "does not exist"),
        ("run {script:board: [unclosed\n}", "not valid YAML"),
        ("run {script:model: {model}\noutput: out\nsteps:\n\t- eval\n}", "session.yaml:4: not valid YAML"),
        ("run {script:board: {board}\nmodel: {model}\noutput: out\nsteps:\n  - program: {method: magnitude, ratio: 2}\n}", "steps[0].program.ratio"),
        ("run {script:board: {board}\nmodel: {model}\noutput: out\nsteps:\n  - program: {method: swim}\n}", "ranks weights by the sensitivity pass"),
        ("run {script:board: tcp:nowhere\nmodel: {model}\noutput: out\nsteps:\n  - identify\n}", "tcp:HOST:PORT"),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bad_input_exits_2_naming_the_problem_before_any_work(string command, string problem)
    {
        File.WriteAllText(_dir.File("notes.txt"), "not a model, not data\n");
        File.WriteAllBytes(_dir.File("empty.npz"), []);
        // Digits with one label out of the model's ten classes.
        File.WriteAllBytes(_dir.File("labels7.npz"), FormatWriters.LabelledSamples(new float[2 * 784], [1, 28, 28], [3, 10]));
        string[] args = Arguments(command);
        string[] before = Files();

        CliRun run = CliRun.Of(args);

        Assert.True(run.ExitCode == ExitCodes.BadInput, $"exit {run.ExitCode} for '{string.Join(' ', args)}': {run.Error}{run.Output}");
        Assert.Contains(problem, run.Error, StringComparison.Ordinal);
        Assert.StartsWith("swim: error: ", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, Files());
        Assert.False(_board.Pending(), "a connection reached the board");
    }

    [Fact]
    public void The_table_covers_forty_bad_inputs_across_options_files_boards_and_scripts()
    {
        string[] commands = [.. Cases().Select(c => (string)c[0])];
        Assert.True(commands.Length >= 40, $"{commands.Length} cases");
        Assert.Contains(commands, c => c.StartsWith("run ", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("--board tcp:", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("{text}", StringComparison.Ordinal));
    }

    private string[] Files() => [.. Directory.EnumerateFileSystemEntries(_dir.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    private string[] Arguments(string command)
    {
        string board = $"tcp:127.0.0.1:{((IPEndPoint)_board.LocalEndpoint).Port}";
        string Fill(string text) => text.Replace("{model}", s_model, StringComparison.Ordinal).Replace("{data}", s_data, StringComparison.Ordinal)
            .Replace("{dir}", _dir.Path, StringComparison.Ordinal).Replace("{boardendpoint}", board["tcp:".Length..], StringComparison.Ordinal).Replace("{board}", board, StringComparison.Ordinal)
            .Replace("{text}", _dir.File("notes.txt"), StringComparison.Ordinal).Replace("{empty}", _dir.File("empty.npz"), StringComparison.Ordinal).Replace("{labels7}", _dir.File("labels7.npz"), StringComparison.Ordinal);
        int script = command.IndexOf("{script:", StringComparison.Ordinal);
        if (script >= 0)
        {
            string yaml = Fill(command[(script + "{script:".Length)..^1]);
            File.WriteAllText(_dir.File("session.yaml"), yaml);
            command = command[..script] + _dir.File("session.yaml");
        }
        return Fill(command).Split(' ');
    }
}
