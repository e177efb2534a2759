using Swim.Controller.Onnx;
using Swim.Controller.Reports;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;

namespace Swim.Controller.Workflows;

/// <summary>
/// A Monte-Carlo study as <c>swim simulate</c> runs it: the sensitivity pass when a method needs one, then every
/// sampled chip under every method and ratio (or one slice of them), written to the output directory.
/// </summary>
public static class StudyWorkflow
{
    public static StudyOutcome Run(StudyRequest request, IWorkReporter reporter)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reporter);
        request.Validate();
        OnnxModel model = OnnxModel.Load(request.ModelPath);
        using (var classifier = new Evaluation.Classifier(model))
        {
            // Before the sensitivity pass: test data the model cannot classify would otherwise fail every trial after it.
            classifier.CheckSuits(request.Test);
        }
        SimulationOptions options = request.Options;
        SensitivityResult? sensitivity = Sensitivity(request, model, reporter);
        string modelName = Path.GetFileName(request.ModelPath);
        if (request.Slice is { } slice)
        {
            (long first, long end) = slice.Range(request.Evaluations);
            StudyPart part = reporter.Step($"simulate (slice {slice})", (int)(end - first),
                progress => MonteCarloSimulation.RunSlice(model, request.Test, sensitivity, options, slice, n => progress.Report(n)));
            part = part with { Model = modelName };
            return new StudyOutcome(null, part, StudyPartFiles.Write(part, request.OutputDirectory));
        }
        SimulationReport report = reporter.Step($"simulate ({options.Trials} trials)", request.Evaluations,
            progress => MonteCarloSimulation.Run(model, request.Test, sensitivity, options, n => progress.Report(n)));
        report = report with { Model = modelName, Provenance = Provenance.Now(request.Command) };
        StudyFiles.Write(report, request.OutputDirectory);
        return new StudyOutcome(report, null, request.OutputDirectory);
    }

    /// <summary>Joins a sharded study's slices from <paramref name="directories"/> and writes the files an unsharded run writes.</summary>
    /// <param name="command">The command line that asked for the merge, for results.json's provenance.</param>
    public static (SimulationReport Report, int Slices) Merge(IReadOnlyList<string> directories, string outputDirectory, IReadOnlyList<string>? command = null)
    {
        OutputPaths.Directory(outputDirectory, "--out");
        IReadOnlyList<StudyPart> parts = StudyPartFiles.ReadAll(directories);
        SimulationReport report = StudyMerge.Merge(parts) with { Provenance = Provenance.Now(command) };
        StudyFiles.Write(report, outputDirectory);
        return (report, parts.Count);
    }

    private static SensitivityResult? Sensitivity(StudyRequest request, OnnxModel model, IWorkReporter reporter)
    {
        SimulationOptions options = request.Options;
        if (!options.Methods.Any(SelectionMethods.NeedsSensitivity))
        {
            return null;
        }
        if (request.SensitivityFile is { } file)
        {
            return SensitivityAnalysis.Load(file, model);
        }
        var calibration = request.Calibration ?? throw new SwimInputException(
            $"--methods {string.Join(",", options.Methods.Select(SelectionMethods.Name))} rank weights by the sensitivity pass: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
        return reporter.Step("sensitivity", calibration.Count, progress => SensitivityAnalysis.Run(model, calibration, UswimPaperScore.PassBatch(options.Methods, SensitivityAnalysis.AutoBatch), request.Curvature,
            options.Seed, n => progress.Report(n), gradients: options.Methods.Any(SelectionMethods.NeedsGradient)));
    }
}
