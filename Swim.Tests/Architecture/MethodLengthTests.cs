using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Swim.Tests.Architecture;

/// <summary>No method, constructor, accessor or local function of hand-written code runs over 60 lines: long ones hide workflows that belong in types of their own.</summary>
public class MethodLengthTests
{
    public const int MaxLines = 60;

    [Fact]
    public void No_member_body_runs_over_sixty_lines()
    {
        var tooLong = new List<string>();
        foreach (string project in SourceTree.AllCode)
        {
            foreach (string file in SourceTree.Files(project))
            {
                SyntaxNode root = SourceTree.Parse(file).GetRoot();
                foreach (SyntaxNode member in root.DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax))
                {
                    int lines = Lines(member);
                    if (lines > MaxLines)
                    {
                        tooLong.Add($"{Path.GetRelativePath(SourceTree.Root, file)}:{member.GetLocation().GetLineSpan().StartLinePosition.Line + 1} {Name(member)}: {lines} lines");
                    }
                }
            }
        }
        Assert.True(tooLong.Count == 0, $"{tooLong.Count} members over {MaxLines} lines:\n" + string.Join("\n", tooLong));
    }

    [Fact]
    public void The_rule_counts_a_long_method()
    {
        string body = string.Join("\n", Enumerable.Range(0, MaxLines).Select(i => $"        int v{i} = {i};"));
        SyntaxNode root = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText($"class C\n{{\n    /// <summary>doc</summary>\n    void M()\n    {{\n{body}\n    }}\n}}").GetRoot();
        MethodDeclarationSyntax method = root.DescendantNodes().OfType<MethodDeclarationSyntax>().Single();
        Assert.Equal(MaxLines + 3, Lines(method));
    }

    /// <summary>From the member's first line of code (after its doc comment and attributes' leading trivia) to its last.</summary>
    internal static int Lines(SyntaxNode member)
    {
        FileLinePositionSpan span = member.SyntaxTree.GetLineSpan(member.Span);
        return span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
    }

    private static string Name(SyntaxNode member) => member switch
    {
        MethodDeclarationSyntax m => m.Identifier.Text,
        ConstructorDeclarationSyntax c => c.Identifier.Text + " (constructor)",
        LocalFunctionStatementSyntax l => l.Identifier.Text + " (local function)",
        AccessorDeclarationSyntax a => a.Keyword.Text + " accessor",
        _ => member.GetType().Name,
    };
}
