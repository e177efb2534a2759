using System.CommandLine;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Controller.Workflows;

namespace Swim.Controller.Cli;

/// <summary>
/// <c>swim program MODEL.onnx --board ... --method M --ratio P --journal J.db --out OUT.onnx --report DIR</c>: the
/// options, translated into a <see cref="ProgrammingRequest"/> for <see cref="ProgrammingWorkflow"/>.
/// </summary>
internal sealed class ProgramCommand
{
    private static readonly ProgrammingOptions s_defaults = new();

    private readonly Argument<string> _model = new("model") { Description = "The ONNX classifier to program." };
    private readonly BoardCliOptions _board = new(required: true, "The board");
    private readonly DataOptions _calib = new("--calib", "Calibration samples for the sensitivity pass (not needed by magnitude and random).", DataSplit.Train, DataOptions.AutoBatch, required: false);
    private readonly Option<string?> _test = new("--data") { Description = "Test samples: evaluate the read-back model on them (test split when the file has one)." };
    private readonly Option<string> _method = new("--method") { Description = $"Selection: {string.Join(", ", SelectionMethods.Names)}.", DefaultValueFactory = _ => SelectionMethods.Name(s_defaults.Method) };
    private readonly Option<double> _ratio = new("--ratio") { Description = "Fraction of weights (cells for cell-level) to write-verify, 0..1.", DefaultValueFactory = _ => s_defaults.Fraction };
    private readonly Option<double?> _budget = new("--budget") { Description = "Instead of --ratio: seconds of device time write-verify may spend; weights are verified in rank order until it is spent." };
    private readonly MappingCliOptions _mapping = new();
    private readonly Option<double> _tolerance = new("--tolerance") { Description = "Write-verify band as a fraction of the conductance window.", DefaultValueFactory = _ => s_defaults.ToleranceFraction };
    private readonly Option<string?> _readAfter = new("--read-after") { Description = "Read back and evaluate this long after write-verify ends (30s, 1h, 1d, 30d): the emulator's virtual clock moves on at once, a real board waits in wall time. Default: read back at once." };
    private readonly Option<string> _selectionCost = new("--selection-cost") { Description = "count (the method's top cells wherever they sit), parallel (whole crossbar rows in order of the score they hold, for a board that verifies a row in one pass) or bench (cells by score per second of row-parallel device time plus link time at the board's line rate).", DefaultValueFactory = _ => "count" };
    private readonly Option<string> _placement = new("--placement") { Description = "natural (input i on row i) or sensitivity (each layer's inputs and outputs in order of the SWIM score they hold, so high-score weights share rows; needs --calib or --sensitivity).", DefaultValueFactory = _ => "natural" };
    private readonly Option<int> _iterations = new("--max-iterations") { Description = "Write-verify iteration limit per cell.", DefaultValueFactory = _ => s_defaults.MaxIterations };
    private readonly Option<int> _seed = new("--seed") { Description = "Seeds random selection.", DefaultValueFactory = _ => s_defaults.Seed };
    private readonly Option<string?> _sensitivityFile = new("--sensitivity") { Description = "Reuse derivatives written by 'swim sensitivity' instead of computing them from --calib." };
    private readonly Option<bool> _hostVerify = new("--host-verify") { Description = "Drive write-verify from the host (READ and WRITE_PULSE) even when the board has PROGRAM_VERIFY; boards without it always get the host's loop." };
    private readonly Option<string?> _journal = new("--journal") { Description = "SQLite journal of the session (docs/journal.md); required to --resume." };
    private readonly Option<bool> _resume = new("--resume") { Description = "Continue the session recorded in --journal after a crash, kill or disconnect." };
    private readonly Option<int[]> _replaced = new("--replaced-board")
    {
        Description = "With --resume over several boards: board N (its position among the --board options, from 1) was replaced by a blank one since the session stopped; its cells are programmed afresh and the journal's record of the old board is dropped. Once for each board replaced.",
    };

    private readonly Option<bool> _resumeOnBlank = new("--resume-on-blank-board") { Description = "With --resume: go on although the board does not hold the cells the journal says were programmed (the in-process emulator starts blank; a board restarted without its state). Exercises a journal; the model read back is not the one programmed." };
    private readonly Option<string> _output = new("--out") { Description = "Where to write the programmed model (read-back weights).", Required = true };
    private readonly Option<string?> _report = new("--report") { Description = "Directory for report.json, report.md and mapping.json." };
    private readonly Option<bool> _json = new("--json") { Description = "Print the result as one JSON object (report.json's content) on the output; commentary goes to the error stream." };

    public static Command Create(Func<CommandContext> context) => new ProgramCommand().Build(context);

    private Command Build(Func<CommandContext> context)
    {
        var command = new Command("program", "Map a model onto a board, program every cell, write-verify the selected ones, read back, rebuild and evaluate.");
        command.Arguments.Add(_model);
        _calib.AddTo(command);
        _method.AcceptOnlyFromAmong([.. SelectionMethods.Names]);
        _board.AddTo(command);
        foreach (Option o in new Option[] { _test, _method, _ratio, _budget, _mapping.Bits, _mapping.Signs, _tolerance, _iterations, _readAfter, _selectionCost, _placement, _seed, _sensitivityFile, _hostVerify, _journal, _resume, _replaced, _resumeOnBlank, _output, _report, _json })
        {
            command.Options.Add(o);
        }
        command.SetAction((r, cancellationToken) =>
        {
            CommandContext ctx = context();
            return ctx.RunOnBoardAsync(async () =>
            {
                ProgrammingRequest request = Request(r) with { Command = ctx.Arguments };
                bool json = r.GetValue(_json);
                ProgrammingOutcome outcome = await ProgrammingWorkflow.RunAsync(request, new ConsoleReporter(ctx, linesToError: json), cancellationToken).ConfigureAwait(false);
                if (json)
                {
                    ctx.Output.WriteLine(JsonOutput.Serialize(Reports.ProgrammingReport.Summary(request.ModelPath, request.Options, outcome, outcome.Run)));
                }
                else
                {
                    Print(ctx, request, outcome);
                }
                return ExitCodes.Success;
            }, () => r.GetValue(_journal) is { } j && File.Exists(j) ? $"The journal '{j}' holds what was done; continue with: {ctx.ResumeCommand()}" : null);
        });
        return command;
    }

    private ProgrammingRequest Request(ParseResult r) => new ProgrammingRequest
    {
        ModelPath = r.GetRequiredValue(_model),
        Board = _board.Addresses(r)[0],
        MoreBoards = [.. _board.Addresses(r).Skip(1)],
        Emulator = _board.Emulator(r),
        Link = _board.Link(r),
        Options = Options(r),
        Calibration = r.GetValue(_calib.Data) is null ? null : _calib.Open(r),
        CalibrationBatch = _calib.BatchSize(r),
        SensitivityFile = r.GetValue(_sensitivityFile),
        Test = r.GetValue(_test) is { } testPath ? DataSet.Open(testPath, DataSplit.Test) : null,
        JournalPath = r.GetValue(_journal),
        Resume = r.GetValue(_resume),
        ResumeOnBlankBoard = r.GetValue(_resumeOnBlank),
        ReplacedBoards = r.GetValue(_replaced) ?? [],
        OutputPath = r.GetRequiredValue(_output),
        ReportDirectory = r.GetValue(_report),
    }.Validate();

    private ProgrammingOptions Options(ParseResult r)
    {
        if (r.GetValue(_budget) is not null && r.GetResult(_ratio) is { Implicit: false })
        {
            throw new SwimInputException("give either --ratio (a fraction of weights) or --budget (seconds of device time), not both.");
        }
        return new ProgrammingOptions
        {
            Method = SelectionMethods.Parse(r.GetValue(_method)!),
            Fraction = r.GetValue(_ratio),
            Mapping = _mapping.Read(r),
            ToleranceFraction = r.GetValue(_tolerance),
            MaxIterations = ProgrammingOptions.IterationLimit(r.GetValue(_iterations)),
            Seed = r.GetValue(_seed),
            HostVerify = r.GetValue(_hostVerify),
            VerifyBudget = r.GetValue(_budget) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            ReadAfter = SimulateCommand.ParseReadAfter(r.GetValue(_readAfter), "--read-after"),
            SelectionCost = SelectionCosts.Parse(r.GetValue(_selectionCost)!),
            Placement = Mapping.Placements.Parse(r.GetValue(_placement)!),
        }.Validate();
    }

    private static void Print(CommandContext ctx, ProgrammingRequest request, ProgrammingOutcome outcome)
    {
        ProgrammingResult programmed = outcome.Result;
        ctx.Out.WriteLine($"programmed {programmed.CellsProgrammed:N0} cells, verified {programmed.CellsVerified:N0} ({programmed.VerifyConverged:N0} in band, {programmed.VerifyDidNotConverge:N0} did not converge, {programmed.VerifyStuck:N0} stuck)");
        ctx.Out.WriteLine($"device     {programmed.DeviceTimeNs / 1e9:F3} s{(programmed.DeviceTimeEstimated ? " (estimated)" : "")}, {programmed.Pulses:N0} pulses, {programmed.Reads:N0} reads");
        if (programmed.Boards.Count > 1)
        {
            for (int b = 0; b < programmed.Boards.Count; b++)
            {
                BoardWork w = programmed.Boards[b];
                ctx.Out.WriteLine($"board {b + 1,-4} {w.Serial}: {w.Cells:N0} cells, {w.Verified:N0} verified, {w.DeviceTimeNs / 1e9:F3} s device time, {w.Pulses:N0} pulses, {w.Reads:N0} reads");
            }
            ctx.Out.WriteLine($"side by side {programmed.DeviceTimeNs / 1e9:F3} s of device time (the slowest board); one board after another {programmed.SerialDeviceTimeNs / 1e9:F3} s ({programmed.SerialDeviceTimeNs / (double)Math.Max(1, programmed.DeviceTimeNs):F2}x)");
        }
        if (programmed.Modelled is { } modelled)
        {
            ctx.Out.WriteLine($"modelled   {modelled.SerialSeconds:F3} s serial, {modelled.ParallelSeconds:F3} s row-parallel ({outcome.Board.CellsPerRead:N0} cells a read, {outcome.Board.CellsPerPulse:N0} a pulse)");
        }
        ctx.Out.WriteLine($"link       {outcome.LinkSeconds:F3} s at {outcome.Line.BaudRate:N0} baud{(outcome.Line.Assumed ? " (assumed)" : "")}: {programmed.Link.BytesSent:N0} bytes out, {programmed.Link.BytesReceived:N0} in, "
            + $"{programmed.Link.FramesSent:N0} frames out, {programmed.Link.Retransmissions:N0} resent"
            + (programmed.Link.Replays > 0 ? $", {programmed.Link.Replays:N0} answered from the board's response cache" : "")
            + $"; wall {programmed.WallSeconds:F1} s");
        foreach (string note in programmed.Notes)
        {
            ctx.Out.WriteLine($"note       {note}");
        }
        if (outcome.Accuracy is { } a)
        {
            ctx.Out.WriteLine($"accuracy   {a:P2} on the read-back model ({outcome.TrainedAccuracy:P2} as trained)");
        }
        if (request.ReportDirectory is { } directory)
        {
            ctx.Out.WriteLine($"report     {Path.Combine(directory, "report.md")}");
        }
        ctx.Out.WriteLine($"wrote      {request.OutputPath}");
    }
}
