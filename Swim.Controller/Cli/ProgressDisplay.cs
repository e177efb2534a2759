using System.Diagnostics;
using Spectre.Console;

namespace Swim.Controller.Cli;

/// <summary>Progress of a long step: a bar with rate and time left on a terminal, a log line per tenth otherwise.</summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(CommandContext ctx, string description, double total, Func<Action<double>, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(work);
        if (ctx.Quiet)
        {
            return await work(_ => { }).ConfigureAwait(false);
        }
        if (ctx.Interactive)
        {
            return await ctx.Out.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async p =>
                {
                    ProgressTask task = p.AddTask(description, maxValue: Math.Max(total, 1));
                    T result = await work(done => task.Value = done).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                    return result;
                }).ConfigureAwait(false);
        }
        var clock = Stopwatch.StartNew();
        int reported = 0;
        return await work(done => Report(ctx, description, total, done, clock, ref reported)).ConfigureAwait(false);
    }

    private static void Report(CommandContext ctx, string description, double total, double done, Stopwatch clock, ref int reported)
    {
        int tenth = total <= 0 ? 10 : (int)(10 * done / total);
        if (tenth > reported)
        {
            reported = tenth;
            double rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            double left = rate > 0 ? (total - done) / rate : 0;
            string amount = total > 1 && description.StartsWith("sensitivity", StringComparison.Ordinal) ? $"{done:N0}/{total:N0} ({100 * done / total:F0} %), {rate:N0}/s" : $"{100 * done / Math.Max(total, 1e-12):F0} %";
            ctx.Error.WriteLine($"{description}: {amount}, {left:F1} s left");
        }
    }

    public static T Run<T>(CommandContext ctx, string description, double total, Func<Action<double>, T> work)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(work);
        if (ctx.Quiet)
        {
            return work(_ => { });
        }
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
        var stopwatch = Stopwatch.StartNew();
        int tenths = 0;
        return work(done => Report(ctx, description, total, done, stopwatch, ref tenths));
    }
}
