using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Cli;

/// <summary><c>swim program MODEL.onnx --board ... --method M --ratio P --journal J.db --out OUT.onnx --report DIR</c>.</summary>
internal static class ProgramCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX classifier to program." };
        var board = new Option<string>("--board") { Description = $"The board: {BoardSpec.Help}.", Required = true };
        var calib = new DataOptions("--calib", "Calibration samples for the sensitivity pass (not needed by magnitude and random).", DataSplit.Train);
        calib.Data.Required = false;
        var test = new Option<string?>("--data") { Description = "Test samples: evaluate the read-back model on them (test split when the file has one)." };
        var method = new Option<string>("--method") { Description = $"Selection: {string.Join(", ", SelectionMethods.Names)}.", DefaultValueFactory = _ => "swim" };
        method.AcceptOnlyFromAmong([.. SelectionMethods.Names]);
        var ratio = new Option<double>("--ratio") { Description = "Fraction of weights (cells for cell-level) to write-verify, 0..1.", DefaultValueFactory = _ => 0.1 };
        var budget = new Option<double?>("--budget") { Description = "Instead of --ratio: seconds of device time write-verify may spend; weights are verified in rank order until it is spent." };
        var mapping = new MappingCliOptions();
        var tolerance = new Option<double>("--tolerance") { Description = "Write-verify band as a fraction of the conductance window.", DefaultValueFactory = _ => 0.01 };
        var iterations = new Option<int>("--max-iterations") { Description = "Write-verify iteration limit per cell.", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seeds random selection.", DefaultValueFactory = _ => 1 };
        var sensitivityFile = new Option<string?>("--sensitivity") { Description = "Reuse derivatives written by 'swim sensitivity' instead of computing them from --calib." };
        var hostVerify = new Option<bool>("--host-verify") { Description = "Drive write-verify from the host (READ and WRITE_PULSE) even when the board has PROGRAM_VERIFY; boards without it always get the host's loop." };
        var journal = new Option<string?>("--journal") { Description = "SQLite journal of the session (docs/journal.md); required to --resume." };
        var resume = new Option<bool>("--resume") { Description = "Continue the session recorded in --journal after a crash, kill or disconnect." };
        var output = new Option<string>("--out") { Description = "Where to write the programmed model (read-back weights).", Required = true };
        var report = new Option<string?>("--report") { Description = "Directory for report.json, report.md and mapping.json." };
        var geometry = new Option<string>("--geometry") { Description = "Emulator geometry TILESxROWSxCOLUMNS.", DefaultValueFactory = _ => EmulatorSettings.DefaultGeometry };
        var emulatorSeed = new Option<ulong>("--emulator-seed") { Description = "Seed of the in-process emulator's physics.", DefaultValueFactory = _ => 1UL };
        var linkTimeout = new Option<int>("--link-timeout")
        {
            Description = "Milliseconds to wait for a board's answer before sending the request again (plus the device time its IDENTIFY gives the commands in flight).",
            DefaultValueFactory = _ => LinkSettings.Default.TimeoutMilliseconds,
        };
        var linkRetries = new Option<int>("--link-retries") { Description = "Attempts after the first before a request fails (each reuses its sequence number, so nothing runs twice).", DefaultValueFactory = _ => LinkSettings.Default.Retries };
        var stuckRate = new Option<double?>("--stuck-rate") { Description = "In-process emulator: overrides the preset's fraction of stuck cells (0 for a board with programming variation only)." };
        var command = new Command("program", "Map a model onto a board, program every cell, write-verify the selected ones, read back, rebuild and evaluate.");
        command.Arguments.Add(model);
        calib.AddTo(command);
        foreach (Option o in new Option[] { board, test, method, ratio, budget, mapping.Bits, mapping.Signs, tolerance, iterations, seed, sensitivityFile, hostVerify, journal, resume, output, report, geometry, emulatorSeed, stuckRate, linkTimeout, linkRetries })
        {
            command.Options.Add(o);
        }
        command.SetAction((result, cancellationToken) =>
        {
            CommandContext ctx = context();
            return ctx.RunOnBoardAsync(() => RunAsync(ctx, result, cancellationToken),
                () => result.GetValue(journal) is { } j && File.Exists(j) ? $"The journal '{j}' holds what was done; continue with --resume." : null);
        });
        return command;

        async Task<int> RunAsync(CommandContext ctx, ParseResult r, CancellationToken cancellationToken)
        {
            string outputPath = OutputPaths.File(r.GetRequiredValue(output), "--out", "programmed.onnx");
            string? reportDirectory = r.GetValue(report) is { } chosen ? OutputPaths.Directory(chosen, "--report") : null;
            string modelPath = r.GetRequiredValue(model);
            OnnxModel onnx = OnnxModel.Load(modelPath);
            SelectionMethod selection = SelectionMethods.Parse(r.GetValue(method)!);
            var options = new ProgrammingOptions
            {
                Method = selection,
                Fraction = r.GetValue(ratio),
                Mapping = mapping.Read(r),
                ToleranceFraction = r.GetValue(tolerance) is > 0 and < 1 and var t ? t : throw new SwimInputException("--tolerance must lie between 0 and 1 (a fraction of the window)."),
                MaxIterations = r.GetValue(iterations) is >= 1 and <= ushort.MaxValue and var n ? (ushort)n : throw new SwimInputException("--max-iterations must be 1 to 65535."),
                Seed = r.GetValue(seed),
                HostVerify = r.GetValue(hostVerify),
                VerifyBudget = r.GetValue(budget) is { } seconds
                    ? seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new SwimInputException($"--budget must be a positive number of seconds (got {seconds}).")
                    : null,
            };
            if (options.Fraction is < 0 or > 1)
            {
                throw new SwimInputException($"--ratio must lie in [0, 1] (got {options.Fraction}).");
            }
            if (options.VerifyBudget is not null && r.GetResult(ratio) is { Implicit: false })
            {
                throw new SwimInputException("give either --ratio (a fraction of weights) or --budget (seconds of device time), not both.");
            }
            var emulator = new EmulatorSettings(BoardGeometry.Parse(r.GetValue(geometry)!), r.GetValue(emulatorSeed), EmulatorSettings.CheckStuckRate(r.GetValue(stuckRate), "--stuck-rate"));
            BoardSpec.CheckEmulatorSettings(r.GetRequiredValue(board), emulator);
            LinkSettings link = new LinkSettings(r.GetValue(linkTimeout), r.GetValue(linkRetries)).Check("--link-timeout", "--link-retries");
            string? journalPath = r.GetValue(journal) is { } chosenJournal ? OutputPaths.File(chosenJournal, "--journal", "session.db") : null;
            if (r.GetValue(resume))
            {
                // Before the board is opened: a refused resume should not touch it (opening a serial port resets some boards).
                SessionLauncher.CheckResumable(journalPath ?? throw new SwimInputException("--resume needs the --journal of the session to continue."), onnx, options);
            }
            SensitivityResult? sensitivity = null;
            DataSet? calibration = null;
            if (SelectionMethods.NeedsSensitivity(selection) && r.GetValue(sensitivityFile) is { } file)
            {
                sensitivity = SensitivityAnalysis.Load(file, onnx);
            }
            else if (SelectionMethods.NeedsSensitivity(selection))
            {
                if (r.GetValue(calib.Data) is null)
                {
                    throw new SwimInputException($"--method {r.GetValue(method)} ranks weights by the sensitivity pass: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
                }
                calibration = calib.Open(r);
            }
            // The board before the sensitivity pass: an unreachable board, or a model that does not fit it, should not
            // cost the user that pass first.
            await using BoardSpec spec = await BoardSpec.OpenAsync(r.GetRequiredValue(board), emulator, cancellationToken).ConfigureAwait(false);
            BoardClientOptions clientOptions = link.ToClientOptions();
            SeriesClaim? claim = null;
            if (r.GetValue(resume))
            {
                // Before anything is sent: the resumed host continues the dead one's sequence numbers (docs/journal.md).
                claim = SessionJournal.ClaimSeriesContinuation(journalPath!);
                clientOptions.InitialSequence = claim?.NextSequence;
            }
            await using var client = new BoardClient(spec.Transport, clientOptions);
            BoardInfo info;
            SessionJournal? opened;
            try
            {
                info = await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
                CrossbarMapping layout = CrossbarMapping.Build(onnx, info, options.Mapping);
                if (calibration is not null)
                {
                    sensitivity = ProgressDisplay.Run(ctx, "sensitivity", calibration.Count, report => SensitivityAnalysis.Run(onnx, calibration, UswimPaperScore.PassBatch([selection], calib.BatchSize(r)), CurvatureKind.Obd, 0, n => report(n),
                        gradients: SelectionMethods.NeedsGradient(selection)));
                }
                opened = journalPath is null ? null : SessionLauncher.OpenJournal(journalPath, r.GetValue(resume), onnx, modelPath, options, info, layout);
            }
            catch when (claim is not null)
            {
                SessionJournal.ReleaseSeriesClaim(claim, client);
                throw;
            }
            using SessionJournal? record = opened;
            ctx.Out.WriteLine($"board      {info.DeviceModel} {info.Serial}: {info.Tiles} x {info.Rows} x {info.Columns}, {info.LevelsPerCell} levels, {info.ConductanceMinMicrosiemens}-{info.ConductanceMaxMicrosiemens} uS, over {client.LinkDescription}");
            if (SessionLauncher.VarianceAssumption(spec, info, selection) is { } assumption)
            {
                ctx.Out.WriteLine($"note       {assumption}");
            }
            ProgrammingResult programmed = await SessionLauncher.RunAsync(ctx, $"programming ({r.GetValue(method)} {options.Fraction:P0})", client, onnx, sensitivity,
                SessionLauncher.ForDevice(options, spec, info),
                SessionLauncher.VarianceModel(spec, info, selection), record, cancellationToken).ConfigureAwait(false);
            programmed.Programmed.Save(outputPath);
            double? accuracy = null;
            double? trainedAccuracy = null;
            if (r.GetValue(test) is { } testPath)
            {
                DataSet testData = DataSet.Open(testPath, DataSplit.Test);
                using var classifier = new Classifier(programmed.Programmed);
                accuracy = classifier.Evaluate(testData, 500).Accuracy;
                // The model as trained, on the same samples: what programming is measured against, and a low figure
                // here means the data does not suit the model (scaling, normalisation, labels), not that programming failed.
                using var trained = new Classifier(onnx);
                trainedAccuracy = trained.Evaluate(testData, 500).Accuracy;
            }
            var summary = new
            {
                model = modelPath,
                board = $"{info.DeviceModel} {info.Serial}",
                method = r.GetValue(method),
                ratio = options.Fraction,
                cells_programmed = programmed.CellsProgrammed,
                cells_verified = programmed.CellsVerified,
                verify_converged = programmed.VerifyConverged,
                verify_did_not_converge = programmed.VerifyDidNotConverge,
                verify_stuck = programmed.VerifyStuck,
                device_time_s = programmed.DeviceTimeNs / 1e9,
                device_time_estimated = programmed.DeviceTimeEstimated,
                pulses = programmed.Pulses,
                reads = programmed.Reads,
                verify_iterations = programmed.VerifyIterations,
                link = programmed.Link,
                layers = programmed.Layers,
                accuracy,
                accuracy_as_trained = trainedAccuracy,
                wall_s = programmed.WallSeconds,
                notes = programmed.Notes,
            };
            if (reportDirectory is { } directory)
            {
                Directory.CreateDirectory(directory);
                File.WriteAllText(Path.Combine(directory, "report.json"), JsonOutput.Serialize(summary));
                File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(summary.model, summary.board, summary.method, options.Fraction, programmed, accuracy, trainedAccuracy));
                programmed.Mapping.Save(Path.Combine(directory, "mapping.json"));
                Reports.ReportPlots.LayerErrors(programmed.Layers, Path.Combine(directory, "layer-errors.png"));
            }
            ctx.Out.WriteLine($"programmed {programmed.CellsProgrammed:N0} cells, verified {programmed.CellsVerified:N0} ({programmed.VerifyConverged:N0} in band, {programmed.VerifyDidNotConverge:N0} did not converge, {programmed.VerifyStuck:N0} stuck)");
            ctx.Out.WriteLine($"device     {programmed.DeviceTimeNs / 1e9:F3} s{(programmed.DeviceTimeEstimated ? " (estimated)" : "")}, {programmed.Pulses:N0} pulses, {programmed.Reads:N0} reads; link {programmed.Link.FramesSent:N0} frames out, {programmed.Link.Retransmissions:N0} resent"
                + (programmed.Link.Replays > 0 ? $", {programmed.Link.Replays:N0} answered from the board's response cache" : ""));
            foreach (string note in programmed.Notes)
            {
                ctx.Out.WriteLine($"note       {note}");
            }
            if (accuracy is { } a)
            {
                ctx.Out.WriteLine($"accuracy   {a:P2} on the read-back model ({trainedAccuracy:P2} as trained)");
            }
            ctx.Out.WriteLine($"wrote      {outputPath}");
            return ExitCodes.Success;
        }
    }

    internal static string Markdown(string model, string board, string? method, double ratio, ProgrammingResult p, double? accuracy, double? trainedAccuracy)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Programming report: {Path.GetFileName(model)}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Board {board}; selection {method} at {ratio:P1}; {p.Mapping.MagnitudeBits}-bit weights on {p.Mapping.Levels}-level cells, {p.Mapping.Signs.ToString().ToLowerInvariant()} signs.");
        md.AppendLine();
        md.AppendLine("| measure | value |");
        md.AppendLine("|---|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| cells programmed | {p.CellsProgrammed:N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| cells write-verified | {p.CellsVerified:N0} ({p.VerifyConverged:N0} in band, {p.VerifyDidNotConverge:N0} not converged, {p.VerifyStuck:N0} stuck) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| device time | {p.DeviceTimeNs / 1e9:F3} s{(p.DeviceTimeEstimated ? " (estimated)" : "")} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| pulses / reads / verify iterations | {p.Pulses:N0} / {p.Reads:N0} / {p.VerifyIterations:N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| link frames out / in / resent / corrupt / answered from the board's cache | {p.Link.FramesSent:N0} / {p.Link.FramesReceived:N0} / {p.Link.Retransmissions:N0} / {p.Link.CorruptFrames:N0} / {p.Link.Replays:N0} |");
        if (accuracy is { } a)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| accuracy of the read-back model | {a:P2} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| accuracy of the model as trained, same samples | {trainedAccuracy:P2} |");
        }
        if (p.Notes.Count > 0)
        {
            md.AppendLine();
            foreach (string note in p.Notes)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"Note: {note}");
                md.AppendLine();
            }
        }
        md.AppendLine();
        md.AppendLine("| layer | weights | RMS error (of full scale) | max error |");
        md.AppendLine("|---|---:|---:|---:|");
        foreach (LayerError layer in p.Layers)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {layer.Weight} | {layer.Elements:N0} | {layer.RmsError:P2} | {layer.MaxError:P2} |");
        }
        return md.ToString();
    }
}
