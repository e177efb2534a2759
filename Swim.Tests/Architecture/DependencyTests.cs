using System.Text.Json;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Swim.Tests.Architecture;

/// <summary>
/// The layout's rules, read from the sources and the build: no cycle between the namespaces of a project (each
/// reference resolved by the compiler, so qualified names and extension methods count), the CLI a leaf that
/// nothing else uses, and projects that carry only the packages their side of the link needs.
/// </summary>
public class DependencyTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, NamespaceGraph>> s_graphs = new(() =>
        SourceTree.Projects.ToDictionary(p => p, NamespaceGraph.Of));

    [Theory]
    [MemberData(nameof(ProjectNames))]
    public void No_namespace_cycle_within_a_project(string project)
    {
        NamespaceGraph graph = s_graphs.Value[project];
        IReadOnlyList<IReadOnlyList<string>> cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, $"{project} has namespaces that depend on each other in a cycle:\n"
            + string.Join("\n", cycles.Select(c => string.Join(", ", c) + "\n  " + string.Join("\n  ", graph.EdgesWithin(c)))));
    }

    public static TheoryData<string> ProjectNames() => [.. SourceTree.Projects];

    [Fact]
    public void Nothing_but_the_program_uses_the_command_line_namespace()
    {
        NamespaceGraph graph = s_graphs.Value["Swim.Controller"];
        string[] users = [.. graph.Edges.Where(e => e.To == "Swim.Controller.Cli" && e.From != "Swim.Controller.Cli").Select(e => $"{e.From} ({e.Where})")];
        Assert.True(users.Length == 0, "the library reaches into the CLI:\n" + string.Join("\n", users));
    }

    [Fact]
    public void The_cycle_check_sees_a_cycle_and_a_qualified_reference()
    {
        string a = "namespace N.A;\npublic static class X { public static int V => N.B.Y.W; }";
        string b = "namespace N.B;\npublic static class Y { public static int W => 1; public static int U => A.X.V; }";
        NamespaceGraph graph = NamespaceGraph.Of([CSharpSyntaxTree.ParseText(a, path: "a.cs"), CSharpSyntaxTree.ParseText(b, path: "b.cs")], [], "N");
        Assert.Equal([["N.A", "N.B"]], graph.Cycles().Select(c => c.Order(StringComparer.Ordinal).ToArray()));
    }

    [Theory]
    [InlineData("Swim.Protocol")]
    [InlineData("Swim.Devices")]
    [InlineData("Swim.Emulator")]
    public void The_board_side_carries_no_host_packages(string project)
    {
        // The restore's view of the whole closure, packages of referenced projects included.
        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(SourceTree.Root, project, "obj", "project.assets.json")));
        string[] packages = [.. assets.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package").Select(l => l.Name.Split('/')[0])];
        string[] hostOnly = ["System.IO.Ports", "System.Device.Gpio", "Polly.Core", "Polly", "Microsoft.Extensions.Logging.Abstractions"];
        Assert.Empty(packages.Intersect(hostOnly, StringComparer.OrdinalIgnoreCase));
        if (project == "Swim.Protocol")
        {
            Assert.Empty(packages);
        }
    }

    [Fact]
    public void Project_references_point_one_way()
    {
        // Each project may reference only those below it; the order is the architecture's (docs/architecture.md).
        string[] layers = ["Swim.Protocol", "Swim.Protocol.Client", "Swim.Transports", "Swim.Devices", "Swim.Emulator", "Swim.Controller"];
        foreach (string project in layers)
        {
            XDocument csproj = XDocument.Load(Path.Combine(SourceTree.Root, project, project + ".csproj"));
            foreach (string reference in csproj.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))))
            {
                Assert.True(Array.IndexOf(layers, reference) is >= 0 and var at && at < Array.IndexOf(layers, project), $"{project} references {reference}, which is not below it.");
            }
        }
        Assert.DoesNotContain("Swim.Protocol.Client", References("Swim.Emulator"));
        Assert.DoesNotContain("Swim.Transports", References("Swim.Emulator"));
    }

    private static string[] References(string project) =>
        [.. XDocument.Load(Path.Combine(SourceTree.Root, project, project + ".csproj")).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))];

    /// <summary>Which namespace uses which, with one place each edge was seen.</summary>
    internal sealed class NamespaceGraph
    {
        private NamespaceGraph(List<(string From, string To, string Where)> edges) => Edges = edges;

        public IReadOnlyList<(string From, string To, string Where)> Edges { get; }

        public static NamespaceGraph Of(string project)
        {
            string configuration = SourceTree.Configuration;
            string generated = Path.Combine(SourceTree.Root, project, "obj", configuration);
            // The build's generated sources (global usings, protobuf types) let the compiler resolve every name.
            IEnumerable<string> extra = Directory.Exists(generated) ? Directory.EnumerateFiles(generated, "*.cs", SearchOption.AllDirectories) : [];
            SyntaxTree[] handWritten = [.. SourceTree.Files(project).Select(SourceTree.Parse)];
            SyntaxTree[] support = [.. extra.Select(SourceTree.Parse)];
            return Of(handWritten, support, project);
        }

        public static NamespaceGraph Of(IReadOnlyList<SyntaxTree> trees, IReadOnlyList<SyntaxTree> support, string rootNamespace)
        {
            string self = Path.GetFileName(rootNamespace == "Swim.Controller" ? "swim.dll" : rootNamespace + ".dll");
            IEnumerable<string> platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
            IEnumerable<string> built = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").Where(f => !string.Equals(Path.GetFileName(f), self, StringComparison.OrdinalIgnoreCase));
            MetadataReference[] references = [.. platform.Concat(built).DistinctBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase).Select(f => MetadataReference.CreateFromFile(f))];
            var compilation = CSharpCompilation.Create("layout", [.. trees, .. support], references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
            var edges = new Dictionary<(string, string), string>();
            foreach (SyntaxTree tree in trees)
            {
                SemanticModel model = compilation.GetSemanticModel(tree);
                SyntaxNode root = tree.GetRoot();
                string? from = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString();
                if (from is null)
                {
                    continue;
                }
                foreach (SimpleNameSyntax name in root.DescendantNodes().OfType<SimpleNameSyntax>())
                {
                    ISymbol? symbol = model.GetSymbolInfo(name).Symbol ?? model.GetSymbolInfo(name).CandidateSymbols.FirstOrDefault();
                    string? to = (symbol is INamedTypeSymbol type ? type : symbol?.ContainingType)?.ContainingNamespace?.ToDisplayString();
                    if (to is not null && to != from && to.StartsWith(rootNamespace, StringComparison.Ordinal) && !edges.ContainsKey((from, to)))
                    {
                        edges[(from, to)] = $"{Path.GetFileName(tree.FilePath)}:{name.GetLocation().GetLineSpan().StartLinePosition.Line + 1} {name}";
                    }
                }
            }
            return new NamespaceGraph([.. edges.Select(e => (e.Key.Item1, e.Key.Item2, e.Value))]);
        }

        /// <summary>Strongly connected groups of more than one namespace (Tarjan's algorithm).</summary>
        public IReadOnlyList<IReadOnlyList<string>> Cycles()
        {
            var nodes = Edges.SelectMany(e => new[] { e.From, e.To }).Distinct().ToList();
            var index = new Dictionary<string, int>();
            var low = new Dictionary<string, int>();
            var stack = new Stack<string>();
            var cycles = new List<IReadOnlyList<string>>();
            int counter = 0;
            void Visit(string v)
            {
                index[v] = low[v] = counter++;
                stack.Push(v);
                foreach (string w in Edges.Where(e => e.From == v).Select(e => e.To))
                {
                    if (!index.ContainsKey(w))
                    {
                        Visit(w);
                        low[v] = Math.Min(low[v], low[w]);
                    }
                    else if (stack.Contains(w))
                    {
                        low[v] = Math.Min(low[v], index[w]);
                    }
                }
                if (low[v] == index[v])
                {
                    var group = new List<string>();
                    string w;
                    do
                    {
                        w = stack.Pop();
                        group.Add(w);
                    }
                    while (w != v);
                    if (group.Count > 1)
                    {
                        cycles.Add(group);
                    }
                }
            }
            foreach (string v in nodes.Where(v => !index.ContainsKey(v)))
            {
                Visit(v);
            }
            return cycles;
        }

        public IEnumerable<string> EdgesWithin(IReadOnlyList<string> group) =>
            Edges.Where(e => group.Contains(e.From) && group.Contains(e.To)).Select(e => $"{e.From} -> {e.To} ({e.Where})");
    }
}
