using Spectre.Console;
namespace Swim.Controller.Cli;

/// <summary>The library's reports on the command's output: lines as they come, long steps as progress bars (log lines per tenth off a terminal).</summary>
/// <param name="linesToError">Send the commentary to the error stream, so that the output stream holds only a JSON result.</param>
internal sealed class ConsoleReporter(CommandContext ctx, bool linesToError = false) : IWorkReporter
{
    public void Line(string text)
    {
        if (ctx.Quiet)
        {
            return;
        }
        if (linesToError)
        {
            ctx.Error.WriteLine(text);
        }
        else
        {
            ctx.Out.WriteLine(text);
        }
    }

    public T Step<T>(string description, double total, Func<IProgress<StepProgress>, T> work) =>
        ProgressDisplay.Run(ctx, description, total, report => work(new ProgressCallback<StepProgress>(report)));

    public Task<T> StepAsync<T>(string description, double total, Func<IProgress<StepProgress>, Task<T>> work) =>
        ProgressDisplay.RunAsync(ctx, description, total, report => work(new ProgressCallback<StepProgress>(report)));
}
