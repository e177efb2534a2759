using Swim.Controller.Boards;
using Swim.Controller.Data;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;

namespace Swim.Controller.Workflows;

/// <summary>
/// Everything one programming run needs (what <c>swim program</c> takes): the model, the board, how to select and
/// verify, where the derivatives come from, and where results go. <see cref="Validate"/> checks it all before a
/// board is opened or a pass is run.
/// </summary>
public sealed record ProgrammingRequest
{
    public required string ModelPath { get; init; }

    public required BoardAddress Board { get; init; }

    /// <summary>Further boards the model is spread over with <see cref="Board"/>: a session over several boards (<c>--board</c> given again).</summary>
    public IReadOnlyList<BoardAddress> MoreBoards { get; init; } = [];

    /// <summary><see cref="Board"/> and <see cref="MoreBoards"/>, in order.</summary>
    public IReadOnlyList<BoardAddress> Boards => [Board, .. MoreBoards];

    /// <summary>How an in-process emulator is built; refused for other boards when it sets anything they cannot honour.</summary>
    public EmulatorSettings Emulator { get; init; } = EmulatorSettings.Default;

    public LinkSettings Link { get; init; } = LinkSettings.Default;

    public ProgrammingOptions Options { get; init; } = new();

    /// <summary>Calibration samples for the sensitivity pass, when the selection needs one and <see cref="SensitivityFile"/> is not given.</summary>
    public DataSet? Calibration { get; init; }

    /// <summary>
    /// Samples per batch of the sensitivity pass, or <see cref="SensitivityAnalysis.AutoBatch"/> (the default) for the pass's
    /// choice from the model's activation memory (uswim-paper runs in the authors' batches whatever this says).
    /// </summary>
    public int CalibrationBatch { get; init; } = SensitivityAnalysis.AutoBatch;

    /// <summary>Derivatives saved by an earlier sensitivity pass, used instead of <see cref="Calibration"/>.</summary>
    public string? SensitivityFile { get; init; }

    /// <summary>Test samples: the read-back model and the model as trained are evaluated on them.</summary>
    public DataSet? Test { get; init; }

    /// <summary>The SQLite journal of the session; required to <see cref="Resume"/>.</summary>
    public string? JournalPath { get; init; }

    /// <summary>Continue the session recorded in <see cref="JournalPath"/>.</summary>
    public bool Resume { get; init; }

    /// <summary>
    /// With <see cref="Resume"/>: the boards (positions in <see cref="Boards"/>, from 1) replaced by blank ones since the session
    /// stopped, whose cells are to be programmed afresh. The user's explicit consent to drop the journal's record of them.
    /// </summary>
    public IReadOnlyList<int> ReplacedBoards { get; init; } = [];

    /// <summary>Resume on the in-process emulator although it starts blank (to exercise a journal, not to program a model).</summary>
    public bool ResumeOnBlankBoard { get; init; }

    /// <summary>Where the programmed (read-back) model is written.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Directory for report.json, report.md, mapping.json and the per-layer plot; none when null.</summary>
    public string? ReportDirectory { get; init; }

    /// <summary>The command line that asked for the run, kept in the report's provenance (null from a script or a program).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>How the run was set up, for report.json: provenance, the board, the data and every option.</summary>
    public object Describe() => new
    {
        provenance = Provenance.Now(Command),
        model = ModelPath,
        board = Board.ToString(),
        more_boards = MoreBoards.Count > 0 ? MoreBoards.Select(b => b.ToString()).ToArray() : null,
        emulator = Boards.Any(b => b is EmulatorAddress) ? new { geometry = Emulator.Geometry.ToString(), seed = Emulator.Seed, stuck_rate = Emulator.StuckRate, boards = Emulator.Boards } : null,
        link = new { timeout_ms = Link.TimeoutMilliseconds, retries = Link.Retries },
        options = Reports.ProgrammingReport.Describe(Options),
        calibration = Calibration?.Description,
        calibration_batch = Calibration is null ? (int?)null : CalibrationBatch,
        sensitivity_file = SensitivityFile,
        test = Test?.Description,
        journal = JournalPath,
        resume = Resume,
    };

    /// <summary>Checks what can be checked without the model or the board; refuses with the option to fix.</summary>
    public ProgrammingRequest Validate()
    {
        Options.Validate();
        Emulator.CheckFor(Boards);
        if (Boards.Count > 1 || Emulator.Boards > 1)
        {
            if (Options.VerifyBudget is not null)
            {
                throw new SwimInputException("--budget stops one board's write-verify when its device time is spent; over several boards, give --ratio instead (or program one board).");
            }
        }
        OutputPaths.File(OutputPath, "--out", "programmed.onnx");
        if (ReportDirectory is not null)
        {
            OutputPaths.Directory(ReportDirectory, "--report");
        }
        if (JournalPath is not null)
        {
            OutputPaths.File(JournalPath, "--journal", "session.db");
        }
        if (!Resume && JournalPath is not null && File.Exists(JournalPath))
        {
            throw new SwimInputException($"journal '{JournalPath}' already exists; continue that session with --resume, or give a new --journal file.");
        }
        if (Resume && JournalPath is not null && !File.Exists(JournalPath))
        {
            throw new SwimInputException($"--resume: journal '{JournalPath}' does not exist; give the journal the interrupted session wrote, or leave out --resume to start one.");
        }
        if (Resume && JournalPath is null)
        {
            throw new SwimInputException("--resume needs the --journal of the session to continue.");
        }
        if (ReplacedBoards.Count > 0 && !Resume)
        {
            throw new SwimInputException("--replaced-board says which board of a stopped session was replaced: give it with --resume and that session's --journal.");
        }
        // In the order the session opens them: the --board options, each in-process emulator's boards in turn.
        int boards = Boards.Sum(b => b is EmulatorAddress ? Emulator.Boards : 1);
        foreach (int outside in ReplacedBoards.Where(b => b < 1 || b > boards))
        {
            throw new SwimInputException($"--replaced-board {outside}: the session's boards are numbered 1 to {boards}, in the order of the --board options.");
        }
        if (Calibration is not null && SensitivityFile is not null)
        {
            throw new SwimInputException("give either --calib (samples for a sensitivity pass) or --sensitivity (derivatives from an earlier pass), not both.");
        }
        if (CalibrationBatch < 1 && CalibrationBatch != SensitivityAnalysis.AutoBatch)
        {
            throw new SwimInputException($"--batch must be at least 1 (got {CalibrationBatch}).");
        }
        return this;
    }
}
