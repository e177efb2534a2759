using Swim.Controller.Onnx;
using Swim.Tests.Architecture;
using Swim.Tests.Support;

namespace Swim.Tests.Samples;

/// <summary>samples/library programs the bundled model through the library alone, as a script or notebook would.</summary>
[Trait("Speed", "Slow")]
public sealed class LibrarySampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task The_library_sample_programs_the_bundled_model_and_reports()
    {
        string configuration = SourceTree.Configuration;
        string project = Path.Combine(SourceTree.Root, "samples", "library");
        string dll = Path.Combine(project, "bin", configuration, "net10.0", "ProgramBundledModel.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        if (!File.Exists(dll))
        {
            // Built with the solution; a test run of this project alone builds the sample first.
            (int built, string log) = await ChildProcess.RunAsync(dotnet, SourceTree.Root, "build", project, "-c", configuration, "-v", "quiet");
            Assert.True(built == 0, log);
        }
        Assert.True(File.ReadAllLines(Path.Combine(project, "Program.cs")).Length <= 30, "the sample is meant to be read at a glance: 30 lines at most.");

        (int code, string output) = await ChildProcess.RunAsync(dotnet, SourceTree.Root, dll, _dir.Path);

        Assert.True(code == 0, output);
        Assert.Contains("verified 49,176 of 491,760 cells", output);
        Assert.Matches(@"accuracy \d+\.\d\d % read back", output);
        using var programmed = new Swim.Controller.Evaluation.Classifier(OnnxModel.Load(Path.Combine(_dir.Path, "programmed.onnx")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "report.json")));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "session.db")));
    }

    public void Dispose() => _dir.Dispose();
}
