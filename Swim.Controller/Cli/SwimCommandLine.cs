using System.CommandLine;

namespace Swim.Controller.Cli;

/// <summary>The <c>swim</c> command: every subcommand, wired to one output context.</summary>
public static class SwimCommandLine
{
    public static RootCommand Build(Func<CommandContext> context)
    {
        var root = new RootCommand("Swim: program neural-network weights into NVM crossbars and write-verify only the weights that matter.");
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(EmulatorCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(InfoCommand.Create(context));
        root.Subcommands.Add(ProgramCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(SensitivityCommand.Create(context));
        root.Subcommands.Add(SimulateCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        return root;
    }

    /// <summary>Runs the command line with output captured by the given writers (tests use this).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        ParseResult? parsed = Parse(args, output, error, interactive);
        return parsed is null ? ExitCodes.BadInput : parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    /// <summary>Runs the command line until it finishes or <paramref name="cancellationToken"/> stops it (long-running commands).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ParseResult? parsed = Parse(args, output, error, interactive: false);
        return parsed is null
            ? ExitCodes.BadInput
            : await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }

    private static ParseResult? Parse(string[] args, TextWriter output, TextWriter error, bool interactive)
    {
        var ctx = new CommandContext(output, error, interactive);
        ParseResult parsed = Build(() => ctx).Parse(args);
        if (parsed.Errors.Count == 0)
        {
            return parsed;
        }
        foreach (System.CommandLine.Parsing.ParseError parseError in parsed.Errors)
        {
            error.WriteLine($"swim: error: {parseError.Message}");
        }
        error.WriteLine("Run 'swim --help' or 'swim COMMAND --help' for usage.");
        return null;
    }
}
