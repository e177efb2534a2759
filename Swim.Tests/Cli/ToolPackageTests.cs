using System.Reflection;
using Swim.Controller;
using Swim.Tests.Architecture;
using Swim.Tests.Support;

namespace Swim.Tests.Cli;

/// <summary>swim packs as a .NET tool, installs from the packed artifact, and runs from where it was installed.</summary>
[Trait("Speed", "Slow")]
public sealed class ToolPackageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_packed_tool_installs_and_runs()
    {
        string configuration = SourceTree.Configuration;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string version = typeof(BundledAssets).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        string packages = _dir.File("packages");
        string tools = _dir.File("tools");

        // The build the tests run on is packed as it is: what is tested is what ships.
        (int packed, string packLog) = await ChildProcess.RunAsync(dotnet, _dir.Path, "pack", Path.Combine(SourceTree.Root, "Swim.Controller"), "--no-build", "-c", configuration, "-o", packages);
        Assert.True(packed == 0, packLog);
        (int installed, string installLog) = await ChildProcess.RunAsync(dotnet, _dir.Path, "tool", "install", "Swim.Controller", "--tool-path", tools, "--add-source", packages, "--version", version);
        Assert.True(installed == 0, installLog);
        string swim = Path.Combine(tools, OperatingSystem.IsWindows() ? "swim.exe" : "swim");

        (int help, string helpText) = await ChildProcess.RunAsync(swim, _dir.Path, "--help");
        (int info, string infoText) = await ChildProcess.RunAsync(swim, _dir.Path, "info", BundledAssets.Require(BundledAssets.LeNetModel));
        (int bad, string badText) = await ChildProcess.RunAsync(swim, _dir.Path, "program", BundledAssets.Require(BundledAssets.LeNetModel), "--board", "tcp:nowhere", "--out", _dir.File("x.onnx"));

        Assert.True(help == 0, helpText);
        Assert.Contains("program <model>", helpText, StringComparison.Ordinal);
        Assert.True(info == 0, infoText);
        Assert.Contains("conv1.weight", infoText, StringComparison.Ordinal);
        Assert.Equal(2, bad);
        Assert.Contains("tcp:HOST:PORT", badText, StringComparison.Ordinal);
    }
}
