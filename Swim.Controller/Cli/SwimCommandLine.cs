using System.CommandLine;

namespace Swim.Controller.Cli;

/// <summary>
/// The <c>swim</c> command: every subcommand, wired to one output context, under one error policy: bad input exits 2
/// with a message that names the problem and the fix, a failed run exits 1, an interrupted one 130, and no stack
/// trace is printed unless <c>--verbose</c> asks for it.
/// </summary>
public static class SwimCommandLine
{
    /// <summary>Shows the stack trace of a failure as well as its message.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "On a failure, print where it happened (the stack trace) as well as the message.", Recursive = true };

    /// <summary>Only results and errors: no progress and no running commentary.</summary>
    public static readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "Print results and errors only: no progress bars or log lines, no running commentary.", Recursive = true };

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
        root.Options.Add(Verbose);
        root.Options.Add(Quiet);
        return root;
    }

    /// <summary>Runs the command line with output captured by the given writers (tests use this).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false) =>
        RunAsync(args, output, error, interactive, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Runs the command line until it finishes or <paramref name="cancellationToken"/> stops it (long-running commands).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        RunAsync(args, output, error, interactive: false, cancellationToken);

    /// <summary>Runs the command line as the <c>swim</c> process does: Ctrl+C and SIGTERM cancel the command, which stops at a safe point.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var ctx = new CommandContext(output, error, interactive) { Arguments = args };
        ParseResult? parsed = Parse(HelpRequest(args), ctx);
        if (parsed is null)
        {
            return ExitCodes.BadInput;
        }
        ctx.ShowStackTraces = parsed.GetValue(Verbose);
        ctx.Quiet = parsed.GetValue(Quiet);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            // Long enough for a session to finish the chunk in flight and write its journal.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        };
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return ctx.Report(ex, hint: null);
        }
    }

    /// <summary><c>swim</c> and <c>swim help [COMMAND]</c> show the help, as <c>--help</c> does.</summary>
    private static string[] HelpRequest(string[] args) => args switch
    {
        [] or ["help"] => ["--help"],
        ["help", .. var rest] => [.. rest, "--help"],
        _ => args,
    };

    private static ParseResult? Parse(string[] args, CommandContext ctx)
    {
        RootCommand root = Build(() => ctx);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count == 0)
        {
            return parsed;
        }
        // "Required command was not provided" only restates a mistyped command's own error.
        foreach (System.CommandLine.Parsing.ParseError parseError in parsed.Errors.Count > 1 ? parsed.Errors.Where(e => e.Message != "Required command was not provided.") : parsed.Errors)
        {
            ctx.Error.WriteLine($"swim: error: {Readable(parseError.Message)}");
        }
        if (args.Length > 0 && !args[0].StartsWith('-') && root.Subcommands.All(c => c.Name != args[0]) && Closest(args[0], root.Subcommands.Select(c => c.Name)) is { } guess)
        {
            ctx.Error.WriteLine($"Did you mean 'swim {guess}'?");
        }
        ctx.Error.WriteLine("Run 'swim --help' or 'swim COMMAND --help' for usage.");
        return null;
    }

    /// <summary>A parser message in the user's terms: "'abc' is not a number (--ratio)" instead of .NET type names.</summary>
    internal static string Readable(string message)
    {
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(message,
            @"^Cannot parse argument '(?<value>.*)' for (?:option|argument) '(?<name>[^']*)' as expected type '(?<type>[^']*)'");
        if (!m.Success)
        {
            return message;
        }
        string type = m.Groups["type"].Value;
        string kind = type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) ? "a number (e.g. 0.1)"
            : type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "a value of the right kind";
        return $"{m.Groups["name"].Value}: '{m.Groups["value"].Value}' is not {kind}; see 'swim COMMAND --help' for what it takes.";
    }

    /// <summary>The name within two edits of <paramref name="typed"/>, if one is.</summary>
    internal static string? Closest(string typed, IEnumerable<string> names) =>
        names.Select(n => (Name: n, Distance: Distance(typed, n))).Where(c => c.Distance <= 2).OrderBy(c => c.Distance).Select(c => c.Name).FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
