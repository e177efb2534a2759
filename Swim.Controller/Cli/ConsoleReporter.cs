using Spectre.Console;
namespace Swim.Controller.Cli;

/// <summary>The library's reports on the command's output: lines as they come, long steps as progress bars (log lines per tenth off a terminal).</summary>
internal sealed class ConsoleReporter(CommandContext ctx) : IWorkReporter
{
    public void Line(string text) => ctx.Out.WriteLine(text);

    public T Step<T>(string description, double total, Func<IProgress<double>, T> work) =>
        ProgressDisplay.Run(ctx, description, total, report => work(new ProgressCallback<double>(report)));

    public Task<T> StepAsync<T>(string description, double total, Func<IProgress<double>, Task<T>> work) =>
        ProgressDisplay.RunAsync(ctx, description, total, report => work(new ProgressCallback<double>(report)));
}
