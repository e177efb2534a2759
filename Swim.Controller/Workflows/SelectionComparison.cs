using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;

namespace Swim.Controller.Workflows;

/// <summary>One programming of the comparison: a label for the reader, the selection and the fraction it verifies.</summary>
public sealed record ComparisonRun(string Label, SelectionMethod Method, double Fraction);

/// <summary>What one run of the comparison cost and how well the read-back model classifies.</summary>
public sealed record ComparisonResult(ComparisonRun Run, ProgrammingResult Result, double Accuracy);

/// <summary>
/// The same model programmed onto one in-process emulated board once per selection (what <c>swim demo</c> shows):
/// each run reprograms every cell, so the runs differ only in which cells they verify.
/// </summary>
public static class SelectionComparison
{
    public static async Task<IReadOnlyList<ComparisonResult>> RunAsync(OnnxModel model, SensitivityResult? sensitivity, DataSet test, EmulatedBoard board,
        IReadOnlyList<ComparisonRun> runs, IWorkReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(board);
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(reporter);
        DevicePreset preset = board.Cells.Preset;
        var results = new List<ComparisonResult>();
        await using EmulatorHost host = new(board);
        foreach (ComparisonRun run in runs)
        {
            await using var client = new BoardClient(host.ConnectInProcess());
            var options = new ProgrammingOptions { Method = run.Method, Fraction = run.Fraction, StateSigmaRatio = preset.StateSigmaRatio };
            ProgrammingResult result = await reporter.StepAsync($"programming: {run.Label}", SessionProgress.Phases.Count, progress =>
                ProgrammingSession.RunAsync(client, model, sensitivity, options, DeviceVariance.From(preset),
                    new ProgressCallback<SessionProgress>(p => progress.Report(p.AsStep)), cancellationToken: cancellationToken)).ConfigureAwait(false);
            using var classifier = new Classifier(result.Programmed);
            results.Add(new ComparisonResult(run, result, classifier.Evaluate(test, 500).Accuracy));
        }
        return results;
    }
}
