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
        root.Subcommands.Add(SensitivityCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        return root;
    }

    /// <summary>Runs the command line with output captured by the given writers (tests use this).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false)
    {
        var ctx = new CommandContext(output, error, interactive);
        RootCommand root = Build(() => ctx);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError parseError in parsed.Errors)
            {
                error.WriteLine($"swim: error: {parseError.Message}");
            }
            error.WriteLine("Run 'swim --help' or 'swim COMMAND --help' for usage.");
            return ExitCodes.BadInput;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
