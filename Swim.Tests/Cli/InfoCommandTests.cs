using System.Text.Json;
using Google.Protobuf;
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
    public void A_non_onnx_file_exits_with_bad_input()
    {
        string path = _dir.File("x.onnx");
        File.WriteAllText(path, "hello");

        CliRun run = CliRun.Of("info", path);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("not an ONNX file", run.Error);
    }
}
