using System.Globalization;
using System.Text;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;

namespace Swim.Controller.Reports;

/// <summary>A programming run's report directory: report.json, report.md, mapping.json and layer-errors.png.</summary>
public static class ProgrammingReport
{
    /// <param name="run">How the run was set up (provenance, board, data, every option), written into report.json as it is.</param>
    public static void Write(string directory, string modelPath, ProgrammingOptions options, ProgrammingOutcome outcome, object? run = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outcome);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.json"), JsonOutput.Serialize(Summary(modelPath, options, outcome, run)));
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(modelPath, options, outcome));
        outcome.Result.Mapping.Save(Path.Combine(directory, "mapping.json"));
        ReportPlots.LayerErrors(outcome.Result.Layers, Path.Combine(directory, "layer-errors.png"));
    }

    /// <summary>report.json's content (snake_case through <see cref="JsonOutput"/>).</summary>
    public static object Summary(string modelPath, ProgrammingOptions options, ProgrammingOutcome outcome, object? run = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outcome);
        ProgrammingResult p = outcome.Result;
        return new
        {
            model = modelPath,
            board = BoardName(outcome),
            protocol_version = outcome.Board.ProtocolVersion,
            method = SelectionMethods.Name(options.Method),
            ratio = options.Fraction,
            cells_programmed = p.CellsProgrammed,
            cells_verified = p.CellsVerified,
            verify_converged = p.VerifyConverged,
            verify_did_not_converge = p.VerifyDidNotConverge,
            verify_stuck = p.VerifyStuck,
            device_time_s = p.DeviceTimeNs / 1e9,
            device_time_estimated = p.DeviceTimeEstimated,
            modelled_serial_s = p.Modelled?.SerialSeconds,
            modelled_row_parallel_s = p.Modelled?.ParallelSeconds,
            pulses = p.Pulses,
            reads = p.Reads,
            verify_iterations = p.VerifyIterations,
            link = p.Link,
            link_time_s = outcome.LinkSeconds,
            link_baud = outcome.Line.BaudRate,
            link_baud_assumed = outcome.Line.Assumed,
            layers = p.Layers,
            accuracy = outcome.Accuracy,
            accuracy_as_trained = outcome.TrainedAccuracy,
            wall_s = p.WallSeconds,
            notes = p.Notes,
            boards = p.Boards.Count > 1 ? p.Boards.Select(b => new { serial = b.Serial, cells = b.Cells, verified = b.Verified, device_time_s = b.DeviceTimeNs / 1e9, b.Pulses, b.Reads,
                link_time_s = outcome.Line.Seconds(b.Link) }).ToArray() : null,
            device_time_one_after_another_s = p.Boards.Count > 1 ? p.SerialDeviceTimeNs / 1e9 : (double?)null,
            run,
        };
    }

    /// <summary>Every programming option by the name the command line and scripts give it, enums by name.</summary>
    public static object Describe(ProgrammingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new
        {
            method = SelectionMethods.Name(options.Method),
            ratio = options.VerifyBudget is null ? options.Fraction : (double?)null,
            budget_s = options.VerifyBudget?.TotalSeconds,
            weight_bits = options.Mapping.MagnitudeBits,
            signs = options.Mapping.Signs.ToString().ToLowerInvariant(),
            tolerance = options.ToleranceFraction,
            max_iterations = options.MaxIterations,
            selection_cost = SelectionCosts.Name(options.SelectionCost),
            placement = Mapping.Placements.Name(options.Placement),
            read_after = options.ReadAfter is { } readAfter ? Devices.ReadAfterParser.Format(readAfter) : null,
            seed = options.Seed,
            host_verify = options.HostVerify,
            state_sigma_ratio = options.StateSigmaRatio,
            chunk_cells = options.ChunkCells,
        };
    }

    public static string Markdown(string modelPath, ProgrammingOptions options, ProgrammingOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outcome);
        ProgrammingResult p = outcome.Result;
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Programming report: {Path.GetFileName(modelPath)}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Board {BoardName(outcome)}; selection {SelectionMethods.Name(options.Method)} at {options.Fraction:P1}; {p.Mapping.MagnitudeBits}-bit weights on {p.Mapping.Levels}-level cells, {p.Mapping.Signs.ToString().ToLowerInvariant()} signs.");
        md.AppendLine();
        md.AppendLine("| measure | value |");
        md.AppendLine("|---|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| cells programmed | {p.CellsProgrammed:N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| cells write-verified | {p.CellsVerified:N0} ({p.VerifyConverged:N0} in band, {p.VerifyDidNotConverge:N0} not converged, {p.VerifyStuck:N0} stuck) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| device time (the board's clock) | {p.DeviceTimeNs / 1e9:F3} s{(p.DeviceTimeEstimated ? " (estimated)" : "")} |");
        if (p.Boards.Count > 1)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| device time had the {p.Boards.Count} boards run one after another | {p.SerialDeviceTimeNs / 1e9:F3} s ({p.SerialDeviceTimeNs / (double)Math.Max(1, p.DeviceTimeNs):F2}x) |");
        }
        if (p.Modelled is { } modelled)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| device time by the array's time model: serial / row-parallel ({outcome.Board.CellsPerRead:N0} cells a read, {outcome.Board.CellsPerPulse:N0} a pulse) | {modelled.SerialSeconds:F3} s / {modelled.ParallelSeconds:F3} s |");
        }
        md.AppendLine(CultureInfo.InvariantCulture, $"| pulses / reads / verify iterations | {p.Pulses:N0} / {p.Reads:N0} / {p.VerifyIterations:N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| link time at {outcome.Line.BaudRate:N0} baud{(outcome.Line.Assumed ? " (the protocol's default rate; the address states none)" : "")} | {outcome.LinkSeconds:F3} s ({p.Link.BytesSent:N0} bytes out, {p.Link.BytesReceived:N0} in) |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| link frames out / in / resent / corrupt / answered from the board's cache | {p.Link.FramesSent:N0} / {p.Link.FramesReceived:N0} / {p.Link.Retransmissions:N0} / {p.Link.CorruptFrames:N0} / {p.Link.Replays:N0} |");
        if (outcome.Accuracy is { } a)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| accuracy of the read-back model{(options.ReadAfter is { } t && t > TimeSpan.Zero ? $", read back {Devices.ReadAfterParser.Format(t)} after write-verify" : "")} | {a:P2} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| accuracy of the model as trained, same samples | {outcome.TrainedAccuracy:P2} |");
        }
        foreach (string note in p.Notes)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Note: {note}");
        }
        if (p.Boards.Count > 1)
        {
            md.AppendLine();
            md.AppendLine("| board | serial | cells | verified | device time | pulses | reads |");
            md.AppendLine("|---:|---|---:|---:|---:|---:|---:|");
            for (int b = 0; b < p.Boards.Count; b++)
            {
                BoardWork w = p.Boards[b];
                md.AppendLine(CultureInfo.InvariantCulture, $"| {b + 1} | {w.Serial} | {w.Cells:N0} | {w.Verified:N0} | {w.DeviceTimeNs / 1e9:F3} s | {w.Pulses:N0} | {w.Reads:N0} |");
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

    private static string BoardName(ProgrammingOutcome outcome) => $"{outcome.Board.DeviceModel} {outcome.Board.Serial}";
}
