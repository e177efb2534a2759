using System.Globalization;
using System.Text;
using Swim.Controller.Boards;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Reports;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Controller.Simulation;
using Swim.Emulator;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Scripting;

/// <summary>
/// Runs a checked session script step by step on its boards (one connection each; several boards share every program
/// step as <c>swim program</c> spreads a model over them). Each program step journals into
/// journals/NN-LABEL.db and saves programmed/NN-LABEL.onnx with its mapping; a rerun with resume continues
/// each journal instead of starting over.
/// </summary>
public sealed class ScriptRunner : IAsyncDisposable
{
    private readonly SessionScript _script;
    private readonly IWorkReporter _reporter;
    private readonly bool _resume;
    private readonly OnnxModel _model;
    private readonly List<ProgrammedRun> _runs = [];
    private readonly List<BoardConnection> _connections = [];
    private readonly List<BoardClient> _clients = [];
    private readonly List<SeriesClaim?> _claims = [];
    private BoardDevice? _device;
    private BoardSet? _boards;
    private BoardInfo? _info;
    private SensitivityResult? _sensitivity;
    private int _programCount;
    private int _simulateCount;

    private ScriptRunner(SessionScript script, IWorkReporter reporter, bool resume)
    {
        _script = script;
        _reporter = reporter;
        _resume = resume;
        _model = OnnxModel.Load(script.Model);
    }

    /// <summary>One programmed model: what was asked, what it cost, and (after an eval) its accuracy.</summary>
    public sealed record ProgrammedRun(string Label, string Method, double? Ratio, double? BudgetSeconds, int CellsVerified, double DeviceTimeS,
        ulong Pulses, ulong Reads, IReadOnlyList<LayerError> Layers, string ProgrammedModel, double? Accuracy, IReadOnlyList<string> Notes);

    public IReadOnlyList<ProgrammedRun> Runs => _runs;

    /// <param name="resume">Continue an earlier run: its journals go on, and a pass or study it finished is read instead of run again.</param>
    /// <param name="force">Start over although an earlier run left journals (they are deleted first).</param>
    public static async Task<IReadOnlyList<ProgrammedRun>> RunAsync(SessionScript script, IWorkReporter reporter, bool resume, CancellationToken cancellationToken, bool force = false)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(reporter);
        CheckEarlierRun(script, resume, force);
        if (resume && Directory.Exists(JournalDirectory(script)))
        {
            // Before any step runs: a resume that the boards cannot honour should cost nothing.
            foreach (string journal in Directory.GetFiles(JournalDirectory(script), "*.db"))
            {
                foreach (BoardAddress board in script.Boards)
                {
                    JournalBinding.CheckBoardKeepsCells(journal, board, blankBoardAccepted: false, "a script's in-process emulator cannot resume an unfinished step");
                }
            }
        }
        Directory.CreateDirectory(script.Output);
        await using var runner = new ScriptRunner(script, reporter, resume);
        try
        {
            for (int i = 0; i < script.Steps.Count; i++)
            {
                ScriptStep step = script.Steps[i];
                reporter.Line($"step {i + 1}/{script.Steps.Count} (line {step.Line}): {step.Describe()}");
                await runner.ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
            }
            foreach (BoardClient done in runner._clients)
            {
                await done.CloseSessionAsync().ConfigureAwait(false);
            }
        }
        catch when (runner._claims.Any(c => c is not null))
        {
            // A run that failed having sent only its IDENTIFY leaves the claims to the next resume (ReleaseSeriesClaim checks).
            for (int b = 0; b < runner._claims.Count; b++)
            {
                if (runner._claims[b] is { } claim)
                {
                    SessionJournal.ReleaseSeriesClaim(claim, runner._clients[b]);
                }
            }
            throw;
        }
        return runner.Runs;
    }

    /// <summary>Before any step runs: an earlier run's journals are continued (--resume), replaced (--force), or the run is refused.</summary>
    private static void CheckEarlierRun(SessionScript script, bool resume, bool force)
    {
        if (resume && force)
        {
            throw new SwimInputException("give either --resume (continue the earlier run) or --force (start over), not both.");
        }
        string journals = JournalDirectory(script);
        if (!Directory.Exists(journals) || Directory.GetFiles(journals, "*.db").Length == 0)
        {
            return;
        }
        if (force)
        {
            Directory.Delete(journals, recursive: true);
        }
        else if (!resume)
        {
            throw new SwimInputException($"'{script.Output}' holds the journals of an earlier run of this script; continue it with 'swim run --resume', start over with --force, or choose a new output directory.");
        }
    }

    private async Task ExecuteAsync(ScriptStep step, CancellationToken cancellationToken)
    {
        switch (step)
        {
            case IdentifyStep:
                await BoardAsync(cancellationToken).ConfigureAwait(false);
                for (int b = 0; b < _boards!.Count; b++)
                {
                    BoardInfo info = _boards.Boards[b];
                    _reporter.Line($"  board {(_boards.Count > 1 ? $"{b + 1} " : "")}{info.DeviceModel} {info.Serial}: {info.Tiles} x {info.Rows} x {info.Columns}, {info.LevelsPerCell} levels, " +
                        $"{info.ConductanceMinMicrosiemens}-{info.ConductanceMaxMicrosiemens} uS, firmware {info.FirmwareMajor}.{info.FirmwareMinor}.{info.FirmwarePatch}, over {_clients[b].LinkDescription}");
                }
                break;
            case SensitivityStep { From: { } file }:
                _sensitivity = SensitivityAnalysis.Load(file, _model);
                _reporter.Line($"  read {_sensitivity.MappedWeights.Count()} weights' derivatives from {file}");
                break;
            case SensitivityStep when _resume && File.Exists(Path.Combine(_script.Output, "sensitivity.npz")):
                // The earlier run's pass, checked against this model as it is read.
                _sensitivity = SensitivityAnalysis.Load(Path.Combine(_script.Output, "sensitivity.npz"), _model);
                _reporter.Line($"  read the earlier run's pass ({_sensitivity.Samples:N0} samples) from {Path.Combine(_script.Output, "sensitivity.npz")}");
                break;
            case SensitivityStep s:
                _sensitivity = ComputeSensitivity(s.Curvature, gradients: true);
                string path = Path.Combine(_script.Output, "sensitivity.npz");
                SensitivityAnalysis.Save(_sensitivity, path);
                _reporter.Line($"  {_sensitivity.Samples:N0} samples, mean loss {_sensitivity.MeanLoss:F4}; wrote {path}");
                break;
            case ProgramStep p:
                await ProgramAsync(p, cancellationToken).ConfigureAwait(false);
                break;
            case EvalStep:
                Evaluate();
                break;
            case SweepStep sweep:
                foreach (SelectionMethod method in sweep.Methods)
                {
                    foreach (double ratio in sweep.Ratios)
                    {
                        await ProgramAsync(new ProgramStep(sweep.Line, method, ratio, null, sweep.Seed), cancellationToken).ConfigureAwait(false);
                        Evaluate();
                    }
                }
                break;
            case SimulateStep simulate:
                Simulate(simulate);
                break;
            case ReportStep:
                Report();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step, "unknown step");
        }
    }

    /// <summary>The script's boards as one (their <see cref="BoardSet.Combined"/>), opened and identified on first use.</summary>
    private async Task<BoardInfo> BoardAsync(CancellationToken cancellationToken)
    {
        if (_info is null)
        {
            _connections.AddRange(await BoardConnection.OpenAllAsync(_script.Boards, _script.Emulator, cancellationToken).ConfigureAwait(false));
            var infos = new List<BoardInfo>();
            for (int b = 0; b < _connections.Count; b++)
            {
                BoardClientOptions clientOptions = _script.Link.ToClientOptions();
                SeriesClaim? claim = null;
                if (_resume)
                {
                    // Before anything is sent: continue the sequence numbers of the session a dead run left in flight (docs/journal.md).
                    claim = ClaimSeriesContinuation(b);
                    clientOptions.InitialSequence = claim?.NextSequence;
                    clientOptions.ResumeSession = DeadRunsSession(claim, b);
                }
                // The session stays open for a resume until every step is done (RunAsync closes it then).
                clientOptions.CloseOnDispose = false;
                _clients.Add(new BoardClient(_connections[b].Transport, clientOptions));
                _claims.Add(claim);
            }
            foreach (BoardClient client in _clients)
            {
                infos.Add(await client.IdentifyAsync(cancellationToken).ConfigureAwait(false));
            }
            _boards = BoardSet.Of(infos);
            _info = _boards.Combined;
            _device = new BoardDevice(_connections[0], _info);
        }
        return _info;
    }

    /// <summary>The board session a dead run held on board <paramref name="board"/>: its claimed step's, else the one its newest journal names.</summary>
    private SessionTicket? DeadRunsSession(SeriesClaim? claim, int board)
    {
        if (claim is not null)
        {
            return SessionJournal.BoardSessionOf(claim.JournalPath, board);
        }
        string journals = JournalDirectory(_script);
        return !Directory.Exists(journals) ? null
            : Directory.GetFiles(journals, "*.db").OrderByDescending(File.GetLastWriteTimeUtc).Select(j => SessionJournal.BoardSessionOf(j, board)).FirstOrDefault(t => t is not null);
    }

    /// <summary>The series continuation on board <paramref name="board"/> of the one programming step a dead run can have left in flight, or null.</summary>
    private SeriesClaim? ClaimSeriesContinuation(int board)
    {
        string journals = JournalDirectory(_script);
        if (!Directory.Exists(journals))
        {
            return null;
        }
        foreach (string path in Directory.GetFiles(journals, "*.db").Order(StringComparer.Ordinal))
        {
            if (SessionJournal.ClaimSeriesContinuation(path, board) is { } claim)
            {
                return claim;
            }
        }
        return null;
    }

    private SensitivityResult ComputeSensitivity(CurvatureKind curvature, bool gradients)
    {
        DataSet calibration = OpenData(_script.Calibration!, DataSplit.Train);
        return _reporter.Step("  sensitivity", calibration.Count, progress => SensitivityAnalysis.Run(_model, calibration,
            UswimPaperScore.PassBatch(_script.Steps.SelectMany(s => s.RankingMethods), SensitivityAnalysis.AutoBatch), curvature, 0, n => progress.Report(n), gradients));
    }

    /// <summary>The pass later steps share; with gradients only when some step of the script ranks by them.</summary>
    private SensitivityResult? SensitivityFor(IEnumerable<SelectionMethod> methods) =>
        methods.Any(SelectionMethods.NeedsSensitivity)
            ? _sensitivity ??= ComputeSensitivity(CurvatureKind.Obd, _script.Steps.SelectMany(s => s.RankingMethods).Any(SelectionMethods.NeedsGradient))
            : _sensitivity;

    private static DataSet OpenData(DataReference data, DataSplit split) => DataSet.Open(data.Path, split, splitRequired: false, null).Take(data.Samples);

    private async Task ProgramAsync(ProgramStep step, CancellationToken cancellationToken)
    {
        BoardInfo info = await BoardAsync(cancellationToken).ConfigureAwait(false);
        BoardSet boards = _boards!;
        SensitivityResult? sensitivity = SensitivityFor(step.RankingMethods);
        ProgrammingOptions options = OptionsFor(_script, step);
        string label = $"{++_programCount:D2}-{step.Label}";
        string journalPath = JournalPath(_script, label);
        Directory.CreateDirectory(Path.GetDirectoryName(journalPath)!);
        if (File.Exists(journalPath) && !_resume)
        {
            throw new SwimInputException($"journal '{journalPath}' exists from an earlier run of this script; continue it with 'swim run --resume', start over with --force, or choose a new output directory.");
        }
        if (_device!.Assumption(step.Method) is { } assumption)
        {
            _reporter.Line($"  note: {assumption}");
        }
        CrossbarMapping mapping = CrossbarMapping.Build(_model, info, options.Mapping);
        CellPlan plan = CellPlan.Build(options.Placement == Placement.Sensitivity ? mapping.Placed(Placements.Scores(mapping, sensitivity!)) : mapping, _model);
        SessionBoard[] sessionBoards = [.. boards.Split(plan).Select(share => new SessionBoard(_clients[share.Board], share,
            _connections[share.Board].HasVirtualClock ? _connections[share.Board].WaitAsync : null))];
        using (SessionJournal journal = JournalBinding.Open(journalPath, resume: File.Exists(journalPath), _model, _script.Model, options, boards, plan.Mapping))
        {
            ProgrammingResult result = await _reporter.StepAsync($"  programming ({step.Label})", SessionProgress.Phases.Count, progress =>
                ProgrammingSession.RunAsync(sessionBoards, _model, plan, sensitivity, _device.Complete(options), _device.VarianceModel(step.Method)?.Invoke(plan),
                    new ProgressCallback<SessionProgress>(p => progress.Report(p.AsStep)), journal, cancellationToken)).ConfigureAwait(false);
            string programmedPath = Path.Combine(_script.Output, "programmed", label + ".onnx");
            Directory.CreateDirectory(Path.GetDirectoryName(programmedPath)!);
            result.Programmed.Save(programmedPath);
            result.Mapping.Save(Path.Combine(_script.Output, "programmed", label + ".mapping.json"));
            _runs.Add(new ProgrammedRun(label, SelectionMethods.Name(step.Method), step.Budget is null ? step.Ratio : null, step.Budget?.TotalSeconds,
                result.CellsVerified, result.DeviceTimeNs / 1e9, result.Pulses, result.Reads, result.Layers, programmedPath, null, result.Notes));
            _reporter.Line($"  programmed {result.CellsProgrammed:N0} cells, verified {result.CellsVerified:N0}; device {result.DeviceTimeNs / 1e9:F3} s{(result.DeviceTimeEstimated ? " (estimated)" : "")}"
                + (result.Link.Replays > 0 ? $"; {result.Link.Replays:N0} commands answered from the board's response cache" : "") + $"; wrote {programmedPath}");
            foreach (string note in result.Notes)
            {
                _reporter.Line($"  note: {note}");
            }
        }
    }

    /// <summary>The options a program step runs its session with (and its journal records).</summary>
    internal static ProgrammingOptions OptionsFor(SessionScript script, ProgramStep step) => new()
    {
        Method = step.Method,
        Fraction = step.Ratio,
        VerifyBudget = step.Budget,
        Mapping = script.Programming.Mapping,
        ToleranceFraction = script.Programming.ToleranceFraction,
        MaxIterations = script.Programming.MaxIterations,
        Seed = step.Seed,
        SelectionCost = step.Cost,
        Placement = step.Placement,
        LineBaud = script.Board is { } board ? Boards.LineRate.Of(board).BaudRate : Boards.LineRate.ProtocolDefaultBaud,
    };

    /// <summary>Where the program step labelled <paramref name="label"/> (its number, then what it runs) journals its session.</summary>
    internal static string JournalPath(SessionScript script, string label) => Path.Combine(JournalDirectory(script), label + ".db");

    private static string JournalDirectory(SessionScript script) => Path.Combine(script.Output, "journals");

    private void Evaluate()
    {
        DataSet test = OpenData(_script.Test!, DataSplit.Test);
        if (_runs.Count == 0)
        {
            using var original = new Classifier(_model);
            _reporter.Line($"  the model as trained: {original.Evaluate(test, 500).Accuracy:P2} on {test.Count:N0} test samples");
            return;
        }
        ProgrammedRun last = _runs[^1];
        using var classifier = new Classifier(OnnxModel.Load(last.ProgrammedModel));
        double accuracy = classifier.Evaluate(test, 500).Accuracy;
        _runs[^1] = last with { Accuracy = accuracy };
        _reporter.Line($"  {last.Label}: {accuracy:P2} on {test.Count:N0} test samples");
    }

    private void Simulate(SimulateStep step)
    {
        string written = Path.Combine(_script.Output, $"simulate-{_simulateCount + 1}");
        if (_resume && File.Exists(Path.Combine(written, "results.json")))
        {
            _simulateCount++;
            _reporter.Line($"  the earlier run finished this study; its results are in {written}");
            return;
        }
        DataSet test = OpenData(_script.Test!, DataSplit.Test);
        SensitivityResult? sensitivity = SensitivityFor(step.RankingMethods);
        int evaluations = step.Options.Trials * step.Options.Methods.Count * step.Options.Ratios.Count;
        SimulationReport report = _reporter.Step("  simulate", evaluations, progress => MonteCarloSimulation.Run(_model, test, sensitivity, step.Options, n => progress.Report(n)));
        report = report with { Model = Path.GetFileName(_script.Model), Provenance = Provenance.Now() };
        string directory = Path.Combine(_script.Output, $"simulate-{++_simulateCount}");
        StudyFiles.Write(report, directory);
        foreach ((string method, SimulationPoint? p) in StudySummary.SmallestWithin(report))
        {
            _reporter.Line(p is null ? $"  {method}: no ratio within 0.3 points of full write-verify"
                : $"  {method}: within 0.3 points of full write-verify ({report.FullWriteVerifyAccuracy:P2}) from {p.Ratio:P0} verified, {p.Speedup:F2}x faster");
        }
        _reporter.Line($"  wrote {directory}");
    }

    private void Report()
    {
        using var staged = new StagedDirectory(_script.Output);
        var report = new { provenance = Provenance.Now(), script = _script.Source, model = _script.Model, board = _boards is null ? null : $"{_boards.Boards[0].DeviceModel} {string.Join(", ", _boards.Boards.Select(b => b.Serial))}", runs = _runs };
        File.WriteAllText(staged.PathOf("report.json"), JsonOutput.Serialize(report));
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Session report: {Path.GetFileName(_script.Source)}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Model {Path.GetFileName(_script.Model)}; board {report.board ?? "none"}.");
        md.AppendLine();
        md.AppendLine("| run | method | ratio or budget | cells verified | device time (s) | pulses | reads | accuracy |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (ProgrammedRun run in _runs)
        {
            string amount = run.BudgetSeconds is { } b ? $"{b:G4} s" : $"{run.Ratio:P0}";
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {run.Label} | {run.Method} | {amount} | {run.CellsVerified:N0} | {run.DeviceTimeS:F3} | {run.Pulses:N0} | {run.Reads:N0} | {(run.Accuracy is { } a ? $"{100 * a:F2} %" : "not evaluated")} |"));
        }
        foreach (ProgrammedRun run in _runs.Where(r => r.Notes.Count > 0))
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Note on {run.Label}: {string.Join(" ", run.Notes)}");
        }
        File.WriteAllText(staged.PathOf("report.md"), md.ToString());
        var plotted = _runs.Where(r => r.Accuracy is not null).Select(r => (r.Method, r.Label, r.DeviceTimeS, r.Accuracy!.Value)).ToList();
        if (plotted.Count > 0)
        {
            ReportPlots.AccuracyVersusDeviceTime(plotted, staged.PathOf("accuracy-vs-device-time.png"));
        }
        staged.Commit();
        _reporter.Line($"  wrote {Path.Combine(_script.Output, "report.md")} ({_runs.Count} runs)");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (BoardClient client in _clients)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
        foreach (BoardConnection connection in _connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
