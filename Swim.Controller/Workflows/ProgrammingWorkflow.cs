using Swim.Controller.Boards;
using Swim.Controller.Evaluation;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Reports;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Workflows;

/// <summary>
/// One programming run, as <c>swim program</c> does it: check the request, open the board, IDENTIFY, map the model
/// (once: the same plan is hashed into the journal and programmed), run the sensitivity pass when the selection
/// needs it, program and verify under the journal, read back, evaluate and write the results.
/// </summary>
public static class ProgrammingWorkflow
{
    public static async Task<ProgrammingOutcome> RunAsync(ProgrammingRequest request, IWorkReporter reporter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(reporter);
        request.Validate();
        OnnxModel model = OnnxModel.Load(request.ModelPath);
        ProgrammingOptions options = request.Options;
        if (request.Resume)
        {
            // Before the board is opened: a refused resume should not touch it (opening a serial port resets some boards).
            JournalBinding.CheckResumable(request.JournalPath!, model, options);
            JournalBinding.CheckBoardKeepsCells(request.JournalPath!, request.Board, request.ResumeOnBlankBoard, "to resume on a blank board anyway, add --resume-on-blank-board");
        }
        if (request.Test is { } test)
        {
            // Test data that does not suit the model would otherwise show only after the whole board is programmed.
            using var classifier = new Classifier(model);
            classifier.CheckSuits(test);
        }
        SensitivityResult? saved = SavedSensitivity(request, model);
        // The board before the sensitivity pass: an unreachable board, or a model that does not fit it, should not
        // cost the user that pass first.
        await using BoardConnection connection = await BoardConnection.OpenAsync(request.Board, request.Emulator, cancellationToken).ConfigureAwait(false);
        BoardClientOptions clientOptions = request.Link.ToClientOptions();
        // Before anything is sent: a resumed host continues the dead one's sequence numbers (docs/journal.md).
        SeriesClaim? claim = request.Resume ? SessionJournal.ClaimSeriesContinuation(request.JournalPath!) : null;
        clientOptions.InitialSequence = claim?.NextSequence;
        clientOptions.ResumeSession = request.Resume ? SessionJournal.BoardSessionOf(request.JournalPath!) : null;
        // A journalled run that stops leaves its session to the resume (its cache answers the replay); one that finishes closes it.
        clientOptions.CloseOnDispose = request.JournalPath is null;
        await using var client = new BoardClient(connection.Transport, clientOptions);
        Start start;
        try
        {
            start = await StartAsync(request, model, saved, client, reporter, cancellationToken).ConfigureAwait(false);
        }
        catch when (claim is not null)
        {
            SessionJournal.ReleaseSeriesClaim(claim, client);
            throw;
        }
        using SessionJournal? journal = start.Journal;
        ProgrammingResult result = await ProgramAsync(request, model, start, connection, client, reporter, cancellationToken).ConfigureAwait(false);
        await client.CloseSessionAsync().ConfigureAwait(false);
        result.Programmed.Save(request.OutputPath);
        (double? accuracy, double? trained) = Evaluate(request, model, result);
        var outcome = new ProgrammingOutcome(start.Board, client.LinkDescription, result, accuracy, trained) { Run = request.Describe(), Line = LineRate.Of(request.Board) };
        if (request.ReportDirectory is { } directory)
        {
            ProgrammingReport.Write(directory, request.ModelPath, request.Options, outcome, outcome.Run);
        }
        return outcome;
    }

    /// <summary>What is known once the board has answered: its description, the plan, the derivatives and the journal.</summary>
    private sealed record Start(BoardInfo Board, CellPlan Plan, SensitivityResult? Sensitivity, SessionJournal? Journal);

    /// <summary>The derivatives from the request's file when the selection needs them; refuses a selection that needs them and has no source.</summary>
    private static SensitivityResult? SavedSensitivity(ProgrammingRequest request, OnnxModel model)
    {
        SelectionMethod method = request.Options.Method;
        bool placed = request.Options.Placement == Placement.Sensitivity;
        if (placed && request.SensitivityFile is null && request.Calibration is null)
        {
            throw new SwimInputException("--placement sensitivity orders each layer's inputs and outputs by SWIM's score: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
        }
        if (!SelectionMethods.NeedsSensitivity(method) && !placed)
        {
            return null;
        }
        if (request.SensitivityFile is { } file)
        {
            return SensitivityAnalysis.Load(file, model);
        }
        return request.Calibration is not null ? null
            : throw new SwimInputException($"--method {SelectionMethods.Name(method)} ranks weights by the sensitivity pass: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
    }

    private static async Task<Start> StartAsync(ProgrammingRequest request, OnnxModel model, SensitivityResult? saved, BoardClient client, IWorkReporter reporter,
        CancellationToken cancellationToken)
    {
        BoardInfo info = await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
        ProgrammingOptions options = request.Options;
        CrossbarMapping mapping = CrossbarMapping.Build(model, info, options.Mapping);
        SensitivityResult? sensitivity = saved;
        if (sensitivity is null && (SelectionMethods.NeedsSensitivity(options.Method) || options.Placement == Placement.Sensitivity) && request.Calibration is not null)
        {
            sensitivity = reporter.Step("sensitivity", request.Calibration!.Count, progress => SensitivityAnalysis.Run(model, request.Calibration,
                UswimPaperScore.PassBatch([options.Method], request.CalibrationBatch), CurvatureKind.Obd, 0, n => progress.Report(n),
                gradients: SelectionMethods.NeedsGradient(options.Method)));
        }
        // Sensitivity placement orders each layer's inputs and outputs by SWIM's score: the same derivatives give the same
        // layout, so a resume finds the journal's.
        CellPlan plan = CellPlan.Build(options.Placement == Placement.Sensitivity ? mapping.Placed(Placements.Scores(mapping, sensitivity)) : mapping, model);
        SessionJournal? journal = request.JournalPath is { } path ? JournalBinding.Open(path, request.Resume, model, request.ModelPath, options, info, plan.Mapping) : null;
        return new Start(info, plan, sensitivity, journal);
    }

    private static Task<ProgrammingResult> ProgramAsync(ProgrammingRequest request, OnnxModel model, Start start, BoardConnection connection, BoardClient client,
        IWorkReporter reporter, CancellationToken cancellationToken)
    {
        BoardInfo info = start.Board;
        reporter.Line($"board      {info.DeviceModel} {info.Serial}: {info.Tiles} x {info.Rows} x {info.Columns}, {info.LevelsPerCell} levels, {info.ConductanceMinMicrosiemens}-{info.ConductanceMaxMicrosiemens} uS, over {client.LinkDescription}");
        if (info.ProtocolVersion < Swim.Protocol.Framing.ProtocolConstants.Version2)
        {
            reporter.Line("note       the board speaks protocol version 1: no sessions, so exactly-once holds only while the link keeps frames in order and no other host sends to the board (firmware-spec section 3.7)");
        }
        var device = new BoardDevice(connection, info);
        SelectionMethod method = request.Options.Method;
        if (device.Assumption(method) is { } assumption)
        {
            reporter.Line($"note       {assumption}");
        }
        ProgrammingOptions options = device.Complete(request.Options) with { AcceptLostCells = request.ResumeOnBlankBoard, LineBaud = LineRate.Of(request.Board).BaudRate };
        Func<int, double>? variance = device.VarianceModel(method)?.Invoke(start.Plan);
        string amount = options.VerifyBudget is { } budget ? $"{budget.TotalSeconds:G4} s budget" : $"{options.Fraction:P0}";
        if (options.ReadAfter is { } readAfter && readAfter > TimeSpan.Zero)
        {
            reporter.Line(connection.HasVirtualClock
                ? $"read-after {ReadAfterParser.Format(readAfter)} on the emulator's virtual clock before the read-back (no wall time)"
                : $"read-after {ReadAfterParser.Format(readAfter)} of wall time before the read-back: a real board ages only in real time");
        }
        return reporter.StepAsync($"programming ({SelectionMethods.Name(method)} {amount})", SessionProgress.Phases.Count, progress =>
            ProgrammingSession.RunAsync(client, model, start.Plan, start.Sensitivity, options, variance,
                new ProgressCallback<SessionProgress>(p => progress.Report(p.AsStep)), start.Journal, cancellationToken, connection.WaitAsync));
    }

    /// <summary>
    /// The read-back model's accuracy on the test samples, and the model's as trained on the same samples: a low
    /// figure for the latter means the data does not suit the model (scaling, labels), not that programming failed.
    /// </summary>
    private static (double? Accuracy, double? Trained) Evaluate(ProgrammingRequest request, OnnxModel model, ProgrammingResult result)
    {
        if (request.Test is not { } test)
        {
            return (null, null);
        }
        using var programmed = new Classifier(result.Programmed);
        using var trained = new Classifier(model);
        return (programmed.Evaluate(test, 500).Accuracy, trained.Evaluate(test, 500).Accuracy);
    }
}
