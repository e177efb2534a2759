using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Swim.Tests.Architecture;

/// <summary>The repository's C# sources, found from the test's output directory, parsed once for the layout rules.</summary>
internal static class SourceTree
{
    /// <summary>The shipped projects, whose namespaces and references the dependency rules cover.</summary>
    public static readonly string[] Projects = ["Swim.Protocol", "Swim.Protocol.Client", "Swim.Transports", "Swim.Devices", "Swim.Emulator", "Swim.Controller"];

    /// <summary>Every folder of hand-written C# that the method-length rule covers: the projects, their tests, benchmarks and the sample.</summary>
    public static readonly string[] AllCode = [.. Projects, "Swim.Tests", "Swim.Benchmarks", "samples/library"];

    private static readonly Lazy<string> s_root = new(() =>
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Swim.sln")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"no Swim.sln above {AppContext.BaseDirectory}; these tests read the sources beside the build.");
    });

    public static string Root => s_root.Value;

    /// <summary>The build configuration the tests run from (Debug or Release): bin/CONFIGURATION/net10.0.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>Hand-written sources of a project (generated code under obj/ and bin/ left out).</summary>
    public static IEnumerable<string> Files(string project) =>
        Directory.EnumerateFiles(Path.Combine(Root, project), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public static SyntaxTree Parse(string path) =>
        CSharpSyntaxTree.ParseText(File.ReadAllText(path), new CSharpParseOptions(LanguageVersion.Preview), path);
}
