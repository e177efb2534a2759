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
            foreach (BoardAddress address in request.Boards)
            {
                JournalBinding.CheckBoardKeepsCells(request.JournalPath!, address, request.ResumeOnBlankBoard, "to resume on a blank board anyway, add --resume-on-blank-board");
            }
        }
        if (request.Test is { } test)
        {
            // Test data that does not suit the model would otherwise show only after the whole board is programmed.
            using var classifier = new Classifier(model);
            classifier.CheckSuits(test);
        }
        SensitivityResult? saved = SavedSensitivity(request, model);
        // The boards before the sensitivity pass: an unreachable board, or a model that does not fit, should not
        // cost the user that pass first.
        await using var boards = new OpenBoards(await BoardConnection.OpenAllAsync(request.Boards, request.Emulator, cancellationToken).ConfigureAwait(false));
        for (int b = 0; b < boards.Connections.Count; b++)
        {
            boards.Add(Client(request, boards.Connections[b], b));
        }
        Start start;
        try
        {
            start = await StartAsync(request, model, saved, boards.Clients, reporter, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            boards.ReleaseClaims();
            throw;
        }
        using SessionJournal? journal = start.Journal;
        ProgrammingResult result = await ProgramAsync(request, model, start, boards, reporter, cancellationToken).ConfigureAwait(false);
        foreach (BoardClient client in boards.Clients)
        {
            await client.CloseSessionAsync().ConfigureAwait(false);
        }
        result.Programmed.Save(request.OutputPath);
        (double? accuracy, double? trained) = Evaluate(request, model, result);
        string link = boards.Clients.Count == 1 ? boards.Clients[0].LinkDescription : $"{boards.Clients.Count} links ({boards.Clients[0].LinkDescription}, ...)";
        var outcome = new ProgrammingOutcome(start.Boards.Combined, link, result, accuracy, trained) { Run = request.Describe(), Line = LineRate.Of(request.Board), BoardSet = start.Boards };
        if (request.ReportDirectory is { } directory)
        {
            ProgrammingReport.Write(directory, request.ModelPath, request.Options, outcome, outcome.Run);
        }
        return outcome;
    }

    /// <summary>A client for board <paramref name="index"/> of the session: on a resume it continues that board's series and session (docs/journal.md).</summary>
    private static (BoardClient Client, SeriesClaim? Claim) Client(ProgrammingRequest request, BoardConnection connection, int index)
    {
        BoardClientOptions clientOptions = request.Link.ToClientOptions();
        // Before anything is sent: a resumed host continues the dead one's sequence numbers.
        // A board put in place of a failed one has neither the dead host's numbers nor its session.
        bool continues = request.Resume && !request.ReplacedBoards.Contains(index + 1);
        SeriesClaim? claim = continues ? SessionJournal.ClaimSeriesContinuation(request.JournalPath!, index) : null;
        clientOptions.InitialSequence = claim?.NextSequence;
        clientOptions.ResumeSession = continues ? SessionJournal.BoardSessionOf(request.JournalPath!, index) : null;
        // A journalled run that stops leaves its session to the resume (its cache answers the replay); one that finishes closes it.
        clientOptions.CloseOnDispose = request.JournalPath is null;
        return (new BoardClient(connection.Transport, clientOptions), claim);
    }

    /// <summary>The session's open boards and their clients, closed together; a resume's claims go back if the session never began.</summary>
    private sealed class OpenBoards(IReadOnlyList<BoardConnection> connections) : IAsyncDisposable
    {
        private readonly List<BoardClient> _clients = [];
        private readonly List<SeriesClaim?> _claims = [];

        public IReadOnlyList<BoardConnection> Connections => connections;

        public IReadOnlyList<BoardClient> Clients => _clients;

        public void Add((BoardClient Client, SeriesClaim? Claim) board)
        {
            _clients.Add(board.Client);
            _claims.Add(board.Claim);
        }

        public void ReleaseClaims()
        {
            for (int b = 0; b < _clients.Count; b++)
            {
                if (_claims[b] is { } claim)
                {
                    SessionJournal.ReleaseSeriesClaim(claim, _clients[b]);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (BoardClient client in _clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
            foreach (BoardConnection connection in connections)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>What is known once the boards have answered: their set, the plan, the derivatives and the journal.</summary>
    private sealed record Start(BoardSet Boards, CellPlan Plan, SensitivityResult? Sensitivity, SessionJournal? Journal);

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

    private static async Task<Start> StartAsync(ProgrammingRequest request, OnnxModel model, SensitivityResult? saved, IReadOnlyList<BoardClient> clients, IWorkReporter reporter,
        CancellationToken cancellationToken)
    {
        var infos = new List<BoardInfo>();
        foreach (BoardClient client in clients)
        {
            infos.Add(await client.IdentifyAsync(cancellationToken).ConfigureAwait(false));
        }
        var boards = BoardSet.Of(infos);
        ProgrammingOptions options = request.Options;
        CrossbarMapping mapping = CrossbarMapping.Build(model, boards.Combined, options.Mapping);
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
        SessionJournal? journal = request.JournalPath is { } path ? JournalBinding.Open(path, request.Resume, model, request.ModelPath, options, boards, plan.Mapping,
            [.. request.ReplacedBoards.Select(b => b - 1)]) : null;
        return new Start(boards, plan, sensitivity, journal);
    }

    private static Task<ProgrammingResult> ProgramAsync(ProgrammingRequest request, OnnxModel model, Start start, OpenBoards boards, IWorkReporter reporter,
        CancellationToken cancellationToken)
    {
        BoardSet set = start.Boards;
        IReadOnlyList<BoardShare> shares = set.Split(start.Plan);
        for (int b = 0; b < set.Count; b++)
        {
            BoardInfo info = set.Boards[b];
            string which = set.Count == 1 ? "board     " : $"board {b + 1,-4}";
            string share = set.Count == 1 ? "" : $"; {shares[b].Cells.Length:N0} of the model's cells";
            reporter.Line($"{which} {info.DeviceModel} {info.Serial}: {info.Tiles} x {info.Rows} x {info.Columns}, {info.LevelsPerCell} levels, {info.ConductanceMinMicrosiemens}-{info.ConductanceMaxMicrosiemens} uS, over {boards.Clients[b].LinkDescription}{share}");
            if (info.ProtocolVersion < Swim.Protocol.Framing.ProtocolConstants.Version2)
            {
                reporter.Line("note       the board speaks protocol version 1: no sessions, so exactly-once holds only while the link keeps frames in order and no other host sends to the board (firmware-spec section 3.7)");
            }
        }
        BoardConnection first = boards.Connections[0];
        var device = new BoardDevice(first, set.Combined);
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
            reporter.Line(boards.Connections.All(c => c.HasVirtualClock)
                ? $"read-after {ReadAfterParser.Format(readAfter)} on the emulator's virtual clock before the read-back (no wall time)"
                : $"read-after {ReadAfterParser.Format(readAfter)} of wall time before the read-back: a real board ages only in real time");
        }
        SessionBoard[] sessionBoards = [.. shares.Select(s => new SessionBoard(boards.Clients[s.Board], s,
            boards.Connections[s.Board].HasVirtualClock ? boards.Connections[s.Board].WaitAsync : null))];
        return reporter.StepAsync($"programming ({SelectionMethods.Name(method)} {amount})", SessionProgress.Phases.Count, progress =>
            ProgrammingSession.RunAsync(sessionBoards, model, start.Plan, start.Sensitivity, options, variance,
                new ProgressCallback<SessionProgress>(p => progress.Report(p.AsStep)), start.Journal, cancellationToken));
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
