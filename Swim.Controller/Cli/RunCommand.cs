using System.CommandLine;
using Swim.Controller.Scripting;

namespace Swim.Controller.Cli;

/// <summary><c>swim run SESSION.yaml [--resume] [--check]</c>: a scripted mapping session (docs/session-yaml.md).</summary>
internal static class RunCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var script = new Argument<string>("script") { Description = "The session script (YAML; docs/session-yaml.md)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the journals an earlier, interrupted run of this script left in its output directory." };
        var check = new Option<bool>("--check") { Description = "Only validate the script and list its steps." };
        var force = new Option<bool>("--force") { Description = "Start over although an earlier run of this script left journals in its output directory (they are deleted first)." };
        var command = new Command("run", "Run a scripted mapping session: identify, sensitivity, program, eval, sweep, simulate and report steps.");
        command.Arguments.Add(script);
        command.Options.Add(resume);
        command.Options.Add(check);
        command.Options.Add(force);
        command.SetAction((result, cancellationToken) =>
        {
            CommandContext ctx = context();
            return ctx.RunOnBoardAsync(async () =>
            {
                SessionScript session = SessionScriptParser.Load(result.GetRequiredValue(script));
                if (result.GetValue(check))
                {
                    ctx.Output.WriteLine($"{session.Source}: valid, {session.Steps.Count} steps, output {session.Output}");
                    foreach (ScriptStep step in session.Steps)
                    {
                        ctx.Output.WriteLine($"  line {step.Line}: {step.Describe()}");
                    }
                    return ExitCodes.Success;
                }
                await ScriptRunner.RunAsync(session, new ConsoleReporter(ctx), result.GetValue(resume), cancellationToken, result.GetValue(force)).ConfigureAwait(false);
                return ExitCodes.Success;
            }, () => $"The journals under the script's output directory hold what was done; continue with: {ctx.ResumeCommand()}");
        });
        return command;
    }
}
