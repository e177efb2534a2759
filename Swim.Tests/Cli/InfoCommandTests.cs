using System.Text.Json;
using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

public sealed class InfoCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Json_lists_operators_mapped_weights_and_totals()
    {
        string path = _dir.File("m.onnx");
        File.WriteAllBytes(path, new TinyMlp(1).Build().ToByteArray());

        CliRun run = CliRun.Of("info", path, "--json");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        JsonElement root = JsonDocument.Parse(run.Output).RootElement;
        Assert.Equal(8 * 16 + 3 * 8, root.GetProperty("mapped_elements").GetInt64());
        string[] names = root.GetProperty("mapped_weights").EnumerateArray().Select(w => w.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["fc1.weight", "fc2.weight"], names);
        string[] ops = root.GetProperty("operators").EnumerateArray().Select(o => o.GetProperty("op_type").GetString()!).ToArray();
        Assert.Equal(["Add", "Flatten", "Gemm", "MatMul", "Relu", "Transpose"], ops.Order());
    }

    [Theory]
    [InlineData("16x256x256", "8", false)]
    [InlineData("8x256x256", "8", true)] // 94 % full: whole tile-sized blocks do not fit
    [InlineData("8x256x256", "4", false)] // 4-bit weights: half the cells
    public void With_a_board_it_reports_the_boards_identify_and_how_the_model_maps_onto_it(string geometry, string bits, bool cut)
    {
        CliRun run = CliRun.Of("info", BundledAssets.Require(BundledAssets.LeNetModel), "--board", "emulator:rram", "--geometry", geometry, "--weight-bits", bits, "--json");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        JsonElement board = JsonDocument.Parse(run.Output).RootElement.GetProperty("board");
        Assert.Equal("rram", board.GetProperty("device").GetString());
        Assert.Equal(61_470L * int.Parse(bits, System.Globalization.CultureInfo.InvariantCulture) / 2 * 2, board.GetProperty("cells_needed").GetInt64());
        Assert.Equal(Swim.Emulator.BoardGeometry.Parse(geometry).CellCount, board.GetProperty("cells_on_board").GetInt64());
        Assert.Equal(cut, board.GetProperty("cut_to_fit").GetBoolean());
    }

    [Fact]
    public void With_a_board_too_small_it_says_so_with_cells_needed_and_available()
    {
        CliRun run = CliRun.Of("info", BundledAssets.Require(BundledAssets.LeNetModel), "--board", "emulator:rram", "--geometry", "4x256x256");

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("491,760 cells", run.Error);
        Assert.Contains("262,144", run.Error);
    }

    [Fact]
    public void Table_output_names_each_weight_and_the_total()
    {
        string path = _dir.File("m.onnx");
        File.WriteAllBytes(path, new TinyMlp(1).Build().ToByteArray());

        CliRun run = CliRun.Of("info", path);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("fc1.weight", run.Output);
        Assert.Contains("8 x 16", run.Output);
        Assert.Contains("2 mapped weights, 152 elements", run.Output);
    }

    [Fact]
    public void Weight_tensors_left_off_the_crossbar_are_named_with_their_consumers_in_the_table_and_the_json()
    {
        string path = _dir.File("scrambled.onnx");
        File.WriteAllBytes(path, TestNets.ReshapedWeight(3, transposedFirst: true).ToByteArray());

        CliRun table = CliRun.Of("info", path);
        CliRun json = CliRun.Of("info", path, "--json");

        Assert.Equal(ExitCodes.Success, table.ExitCode);
        Assert.Contains("1 weight tensors stay off the crossbar and keep their trained values: fc2.packed (Transpose)", table.Output, StringComparison.Ordinal);
        JsonElement unmapped = JsonDocument.Parse(json.Output).RootElement.GetProperty("unmapped").EnumerateArray().Single();
        Assert.Equal(("fc2.packed", "Transpose"), (unmapped.GetProperty("name").GetString(), unmapped.GetProperty("consumed_by").GetString()));
    }

    [Fact]
    public void A_non_onnx_file_exits_with_bad_input()
    {
        string path = _dir.File("x.onnx");
        File.WriteAllText(path, "hello");

        CliRun run = CliRun.Of("info", path);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("not an ONNX file", run.Error);
    }
}
