using System.Diagnostics;
using Spectre.Console;

namespace Swim.Controller.Cli;

/// <summary>Progress of a long step: a bar with rate and time left on a terminal, a log line per tenth otherwise.</summary>
internal static class ProgressDisplay
{
    public static T Run<T>(CommandContext ctx, string description, double total, Func<Action<double>, T> work)
    {
        if (ctx.Interactive)
        {
            return ctx.Out.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(p =>
                {
                    ProgressTask task = p.AddTask(description, maxValue: Math.Max(total, 1));
                    T result = work(done => task.Value = done);
                    task.Value = task.MaxValue;
                    return result;
                });
        }
        var clock = Stopwatch.StartNew();
        int reported = 0;
        T outcome = work(done =>
        {
            int tenth = total <= 0 ? 10 : (int)(10 * done / total);
            if (tenth > reported)
            {
                reported = tenth;
                double rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                double left = rate > 0 ? (total - done) / rate : 0;
                string amount = total > 1 ? $"{done:N0}/{total:N0} ({100 * done / total:F0} %), {rate:N0}/s" : $"{100 * done / Math.Max(total, 1e-12):F0} %";
                ctx.Error.WriteLine($"{description}: {amount}, {left:F1} s left");
            }
        });
        return outcome;
    }
}
