namespace Swim.Controller;

/// <summary>
/// How a long library call (a programming run, a study, a script) tells whoever runs it what is happening: lines
/// worth reading, and the progress of each long step. The <c>swim</c> command shows them as log lines or progress
/// bars; a notebook or another tool can collect them, or pass <see cref="WorkReporter.Silent"/>.
/// </summary>
public interface IWorkReporter
{
    /// <summary>A line for the reader: what was found, what was written, a note.</summary>
    void Line(string text);

    /// <summary>Runs one long step, which reports how much of <paramref name="total"/> it has done as it goes.</summary>
    T Step<T>(string description, double total, Func<IProgress<StepProgress>, T> work);

    /// <summary>Runs one long asynchronous step, which reports how much of <paramref name="total"/> it has done as it goes.</summary>
    Task<T> StepAsync<T>(string description, double total, Func<IProgress<StepProgress>, Task<T>> work);
}

/// <summary>Ready-made reporters.</summary>
public static class WorkReporter
{
    /// <summary>Reports nothing.</summary>
    public static IWorkReporter Silent { get; } = new TextReporter(TextWriter.Null);

    /// <summary>Writes each line to <paramref name="writer"/>; progress is not shown.</summary>
    public static IWorkReporter To(TextWriter writer) => new TextReporter(writer);

    private sealed class TextReporter(TextWriter writer) : IWorkReporter
    {
        public void Line(string text) => writer.WriteLine(text);

        public T Step<T>(string description, double total, Func<IProgress<StepProgress>, T> work)
        {
            ArgumentNullException.ThrowIfNull(work);
            return work(new ProgressCallback<StepProgress>(_ => { }));
        }

        public Task<T> StepAsync<T>(string description, double total, Func<IProgress<StepProgress>, Task<T>> work)
        {
            ArgumentNullException.ThrowIfNull(work);
            return work(new ProgressCallback<StepProgress>(_ => { }));
        }
    }
}

/// <summary>
/// How far a long step is: <paramref name="Done"/> of the step's total, and the stage it is in when the step has
/// stages (a programming session's program, verify, read back), so a display can name the one under way.
/// </summary>
public readonly record struct StepProgress(double Done, string? Stage = null)
{
    /// <summary>A step without stages reports a bare amount.</summary>
    public static implicit operator StepProgress(double done) => new(done);
}

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its action at once, on the reporting thread (<see cref="Progress{T}"/>
/// posts to a synchronisation context instead, so reports can arrive after the work has finished).
/// </summary>
public sealed class ProgressCallback<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
