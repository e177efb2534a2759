using System.Diagnostics;
using Spectre.Console;

namespace Swim.Controller.Cli;

/// <summary>
/// Progress of a long step: a bar with rate and time left on a terminal, a log line per tenth otherwise; a step with
/// stages has its bar (or its lines) name the stage under way, so a bar that moves on to a new stage says so.
/// </summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(CommandContext ctx, string description, double total, Func<Action<StepProgress>, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(work);
        if (ctx.Quiet)
        {
            return await work(_ => { }).ConfigureAwait(false);
        }
        if (ctx.Interactive)
        {
            return await Bar(ctx).StartAsync(async p =>
            {
                ProgressTask task = p.AddTask(description, maxValue: Math.Max(total, 1));
                T result = await work(step => Show(task, description, step)).ConfigureAwait(false);
                task.Value = task.MaxValue;
                return result;
            }).ConfigureAwait(false);
        }
        var log = new LogLines(ctx, description, total);
        return await work(log.Report).ConfigureAwait(false);
    }

    public static T Run<T>(CommandContext ctx, string description, double total, Func<Action<StepProgress>, T> work)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(work);
        if (ctx.Quiet)
        {
            return work(_ => { });
        }
        if (ctx.Interactive)
        {
            return Bar(ctx).Start(p =>
            {
                ProgressTask task = p.AddTask(description, maxValue: Math.Max(total, 1));
                T result = work(step => Show(task, description, step));
                task.Value = task.MaxValue;
                return result;
            });
        }
        var log = new LogLines(ctx, description, total);
        return work(log.Report);
    }

    private static Progress Bar(CommandContext ctx) => ctx.Out.Progress()
        .AutoClear(true)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn());

    private static void Show(ProgressTask task, string description, StepProgress step)
    {
        task.Value = step.Done;
        if (step.Stage is { } stage)
        {
            task.Description = $"{description}: {stage}";
        }
    }

    /// <summary>Off a terminal: a line per tenth of the step, and a line whenever a new stage begins.</summary>
    private sealed class LogLines(CommandContext ctx, string description, double total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _reported;
        private string? _stage;

        public void Report(StepProgress step)
        {
            double done = step.Done;
            int tenth = total <= 0 ? 10 : (int)(10 * done / total);
            bool newStage = step.Stage is { } stage && stage != _stage;
            if (tenth <= _reported && !newStage)
            {
                return;
            }
            _reported = Math.Max(_reported, tenth);
            _stage = step.Stage ?? _stage;
            double rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
            double left = rate > 0 ? (total - done) / rate : 0;
            string amount = total > 1 && description.StartsWith("sensitivity", StringComparison.Ordinal) ? $"{done:N0}/{total:N0} ({100 * done / total:F0} %), {rate:N0}/s" : $"{100 * done / Math.Max(total, 1e-12):F0} %";
            ctx.Error.WriteLine($"{description}{(_stage is null ? "" : $" [{_stage}]")}: {amount}, {left:F1} s left");
        }
    }
}
