using System.Text.Json;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Emulator.Physics;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

public sealed class ProgramCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);

    public void Dispose() => _dir.Dispose();

    private string[] Args(string board, string method, params string[] more) =>
        ["program", s_model, "--board", board, "--calib", s_data, "--samples", "300", "--data", s_data, "--method", method, "--ratio", "0.1",
         "--out", _dir.File("programmed.onnx"), "--report", _dir.File("report"), .. more];

    [Fact]
    public void Programs_the_emulator_and_writes_model_report_and_mapping()
    {
        CliRun run = CliRun.Of(Args("emulator:rram", "swim", "--journal", _dir.File("j.db")));

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        JsonElement report = JsonDocument.Parse(File.ReadAllText(_dir.File("report/report.json"))).RootElement;
        Assert.Equal(491_760, report.GetProperty("cells_programmed").GetInt32());
        Assert.Equal(6_147 * 8, report.GetProperty("cells_verified").GetInt32());
        Assert.InRange(report.GetProperty("accuracy").GetDouble(), 0.9, 1.0);
        Assert.True(report.GetProperty("device_time_s").GetDouble() > 0);
        Assert.True(File.Exists(_dir.File("report/report.md")));
        Assert.True(File.Exists(_dir.File("report/mapping.json")));
        byte[] png = File.ReadAllBytes(_dir.File("report/layer-errors.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.NotEqual(Controller.Onnx.OnnxModel.Load(s_model).ReadWeights("fc1.weight"), Controller.Onnx.OnnxModel.Load(_dir.File("programmed.onnx")).ReadWeights("fc1.weight"));
    }

    [LinuxFact]
    public async Task Programs_a_board_over_a_real_virtual_serial_port()
    {
        await using var host = new EmulatorHost(new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(16, 256, 256), 2));
        string path = host.OpenSerialPort();

        CliRun run = await Task.Run(() => CliRun.Of(Args($"serial:{path}@3000000", "magnitude")));

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        Assert.Contains(path, run.Output);
        // Every cell written once open-loop, then the verified ones pulsed by their loops.
        Assert.True(host.Board.Cells.TotalPulses >= 491_760UL);
    }

    [Fact]
    public void A_resume_with_other_options_is_refused_naming_them()
    {
        Assert.Equal(ExitCodes.Success, CliRun.Of(Args("emulator:rram", "magnitude", "--journal", _dir.File("j.db"))).ExitCode);

        CliRun resumed = CliRun.Of(Args("emulator:rram", "random", "--journal", _dir.File("j.db"), "--resume"));

        Assert.Equal(ExitCodes.BadInput, resumed.ExitCode);
        Assert.Contains("other options", resumed.Error);
        CliRun fresh = CliRun.Of(Args("emulator:rram", "magnitude", "--journal", _dir.File("j.db")));
        Assert.Equal(ExitCodes.BadInput, fresh.ExitCode);
        Assert.Contains("--resume", fresh.Error);
    }

    [Theory]
    [InlineData("usb:/dev/x", "is not one of")]
    [InlineData("emulator:flash", "unknown device preset")]
    [InlineData("serial:/dev/ttySWIM-missing", "cannot open serial port")]
    [InlineData("spi:zero", "spi:BUS.CS@READY_GPIO")]
    public void Bad_boards_fail_with_the_fix(string board, string expected)
    {
        CliRun run = CliRun.Of(Args(board, "magnitude"));

        Assert.NotEqual(ExitCodes.Success, run.ExitCode);
        Assert.Contains(expected, run.Error);
        Assert.False(File.Exists(_dir.File("programmed.onnx")));
    }

    [Fact]
    public void Swim_without_calibration_data_is_refused()
    {
        CliRun run = CliRun.Of("program", s_model, "--board", "emulator", "--method", "swim", "--out", _dir.File("x.onnx"));

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("--calib", run.Error);
    }
}
