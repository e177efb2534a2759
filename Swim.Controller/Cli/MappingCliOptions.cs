using System.CommandLine;
using Swim.Controller.Mapping;

namespace Swim.Controller.Cli;

/// <summary>The options that say how weights become cells (<c>--weight-bits</c>, <c>--signs</c>), shared by the commands that map a model.</summary>
internal sealed class MappingCliOptions
{
    /// <param name="context">Put before each description, for commands where mapping is optional (e.g. "With --board: ").</param>
    public MappingCliOptions(string context = "")
    {
        Bits = new Option<int>("--weight-bits") { Description = Describe(context, "magnitude bits per weight."), DefaultValueFactory = _ => MappingOptions.DefaultMagnitudeBits };
        Signs = new Option<string>("--signs") { Description = Describe(context, "differential or offset."), DefaultValueFactory = _ => new MappingOptions().Signs.ToString().ToLowerInvariant() };
        Signs.AcceptOnlyFromAmong("differential", "offset");
    }

    public Option<int> Bits { get; }

    public Option<string> Signs { get; }

    public MappingOptions Read(ParseResult result) => new()
    {
        MagnitudeBits = result.GetValue(Bits),
        Signs = result.GetValue(Signs) == "offset" ? SignEncoding.Offset : SignEncoding.Differential,
    };

    private static string Describe(string context, string text) => context.Length > 0 ? context + text : char.ToUpperInvariant(text[0]) + text[1..];
}
