using System.Diagnostics;
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
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string version = typeof(BundledAssets).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        string packages = _dir.File("packages");
        string tools = _dir.File("tools");

        // The build the tests run on is packed as it is: what is tested is what ships.
        (int packed, string packLog) = await RunAsync(dotnet, "pack", Path.Combine(SourceTree.Root, "Swim.Controller"), "--no-build", "-c", configuration, "-o", packages);
        Assert.True(packed == 0, packLog);
        (int installed, string installLog) = await RunAsync(dotnet, "tool", "install", "Swim.Controller", "--tool-path", tools, "--add-source", packages, "--version", version);
        Assert.True(installed == 0, installLog);
        string swim = Path.Combine(tools, OperatingSystem.IsWindows() ? "swim.exe" : "swim");

        (int help, string helpText) = await RunAsync(swim, "--help");
        (int info, string infoText) = await RunAsync(swim, "info", BundledAssets.Require(BundledAssets.LeNetModel));
        (int bad, string badText) = await RunAsync(swim, "program", BundledAssets.Require(BundledAssets.LeNetModel), "--board", "tcp:nowhere", "--out", _dir.File("x.onnx"));

        Assert.True(help == 0, helpText);
        Assert.Contains("program <model>", helpText, StringComparison.Ordinal);
        Assert.True(info == 0, infoText);
        Assert.Contains("conv1.weight", infoText, StringComparison.Ordinal);
        Assert.Equal(2, bad);
        Assert.Contains("tcp:HOST:PORT", badText, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir.Path };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
