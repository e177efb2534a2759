using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Boards;
using Swim.Controller.Workflows;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Cli;

/// <summary>
/// <c>swim info MODEL.onnx [--board SPEC]</c>: interface, operators and crossbar-mapped weights of a model; with a
/// board, what it reports in IDENTIFY and how the model would map onto it, without programming a cell.
/// </summary>
internal static class InfoCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model." };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var board = new Option<string[]>("--board")
        {
            Description = $"Also ask this board for its IDENTIFY and map the model onto it (nothing is programmed): {BoardAddress.Forms}. Again for each further board a session would spread the model over.",
        };
        var emulatorBoards = new Option<int>("--emulator-boards") { Description = "With --board emulator: how many boards of --geometry it stands for.", DefaultValueFactory = _ => EmulatorSettings.Default.Boards };
        var mapping = new MappingCliOptions("With --board: ");
        var geometry = new Option<string>("--geometry") { Description = "With --board emulator: its geometry TILESxROWSxCOLUMNS.", DefaultValueFactory = _ => EmulatorSettings.DefaultGeometry };
        var command = new Command("info", "Operators, inputs, outputs and crossbar-mapped weights of an ONNX model; with --board, how it maps onto that board.");
        command.Arguments.Add(model);
        foreach (Option o in new Option[] { json, board, mapping.Bits, mapping.Signs, geometry, emulatorBoards })
        {
            command.Options.Add(o);
        }
        command.SetAction((result, cancellationToken) =>
        {
            CommandContext ctx = context();
            return ctx.RunOnBoardAsync(async () =>
            {
                string path = result.GetRequiredValue(model);
                OnnxModel onnx = OnnxModel.Load(path);
                ModelSummary summary = ModelSummary.Of(onnx, path);
                BoardAddress[] addresses = [.. (result.GetValue(board) ?? []).Select(BoardAddress.Parse)];
                var emulator = new EmulatorSettings(EmulatorSettings.ParseGeometry(result.GetValue(geometry)!, "--geometry"),
                    Boards: EmulatorSettings.CheckBoards(result.GetValue(emulatorBoards), "--emulator-boards"));
                if (addresses.Length == 0 && emulator.Boards != 1)
                {
                    throw new SwimInputException("--emulator-boards describes in-process boards: give --board emulator[:PRESET] with it.");
                }
                BoardFit? fit = addresses.Length > 0
                    ? await BoardFit.MeasureAsync(onnx, addresses, emulator, mapping.Read(result), cancellationToken).ConfigureAwait(false)
                    : null;
                if (result.GetValue(json))
                {
                    ctx.Output.WriteLine(fit is null ? JsonOutput.Serialize(summary) : JsonOutput.Serialize(new { model = summary, board = fit }));
                    return ExitCodes.Success;
                }
                Render(ctx.Out, summary);
                if (fit is not null)
                {
                    Render(ctx.Out, fit);
                }
                return ExitCodes.Success;
            }, () => null);
        });
        return command;
    }

    private static void Render(IAnsiConsole console, ModelSummary s)
    {
        console.WriteLine($"model      {s.Model}");
        console.WriteLine($"format     ONNX IR {s.IrVersion}, opset {s.Opset}{(s.Producer.Length > 0 ? $", made by {s.Producer}" : "")}");
        foreach (ModelSummary.TensorInfo input in s.Inputs)
        {
            console.WriteLine($"input      {input.Name}: {input.ElementType} [{string.Join(" x ", input.Shape)}]");
        }
        foreach (ModelSummary.TensorInfo output in s.Outputs)
        {
            console.WriteLine($"output     {output.Name}: {output.ElementType} [{string.Join(" x ", output.Shape)}]");
        }
        console.WriteLine($"operators  {string.Join(", ", s.Operators.Select(o => $"{o.OpType} x{o.Count}"))}");
        console.WriteLine();
        var table = new Table().Border(TableBorder.Simple).Title("crossbar-mapped weights");
        table.AddColumn("weight");
        table.AddColumn("shape");
        table.AddColumn(new TableColumn("elements").RightAligned());
        table.AddColumn("op");
        table.AddColumn("node");
        foreach (ModelSummary.WeightInfo w in s.MappedWeights)
        {
            table.AddRow(Markup.Escape(w.Name), string.Join(" x ", w.Shape), w.Elements.ToString("N0", CultureInfo.InvariantCulture), w.OpType, Markup.Escape(w.Node));
        }
        console.Write(table);
        console.WriteLine($"total      {s.MappedWeights.Count} mapped weights, {s.MappedElements:N0} elements ({s.Initializers} initializers in all)");
        if (s.MappedWeights.Count == 0)
        {
            console.WriteLine("note       no Conv, Gemm or MatMul node takes a float32 initializer as its weight: nothing here can be programmed.");
        }
        if (s.Unmapped.Count > 0)
        {
            console.WriteLine($"note       {s.Unmapped.Count} weight tensors stay off the crossbar and keep their trained values: " +
                string.Join(", ", s.Unmapped.Select(u => u.ConsumedBy.Length > 0 ? $"{u.Name} ({u.ConsumedBy})" : u.Name)));
        }
    }

    private static void Render(IAnsiConsole console, BoardFit f)
    {
        if (f.Placement.Count > 1)
        {
            console.WriteLine($"boards     {f.Placement.Count} of {f.Device}, firmware {f.Firmware}: {f.Tiles} tiles of {f.Rows} x {f.Columns} between them, {f.Levels} levels, {f.ConductanceMin}-{f.ConductanceMax} uS, {f.Capabilities}");
            var table = new Table().Border(TableBorder.Simple).Title("placement across boards");
            foreach (string column in new[] { "board", "serial", "link", "tiles used", "blocks", "cells", "of the board" })
            {
                table.AddColumn(column is "board" or "serial" or "link" ? new TableColumn(column) : new TableColumn(column).RightAligned());
            }
            for (int b = 0; b < f.Placement.Count; b++)
            {
                BoardPlacement p = f.Placement[b];
                table.AddRow((b + 1).ToString(CultureInfo.InvariantCulture), Markup.Escape(p.Serial), Markup.Escape(p.Link), $"{p.TilesUsed} of {p.Tiles}", p.Blocks.ToString("N0", CultureInfo.InvariantCulture),
                    p.Cells.ToString("N0", CultureInfo.InvariantCulture), ((double)p.Cells / p.CellsOnBoard).ToString("P1", CultureInfo.InvariantCulture));
            }
            console.Write(table);
        }
        else
        {
            console.WriteLine($"board      {f.Device} {f.Serial}, firmware {f.Firmware}: {f.Tiles} x {f.Rows} x {f.Columns}, {f.Levels} levels, {f.ConductanceMin}-{f.ConductanceMax} uS, {f.Capabilities}, over {f.Link}");
        }
        console.WriteLine($"mapping    {f.CellsPerWeight} cells a weight ({f.BitsPerCell} bits a cell): {f.CellsNeeded:N0} of {f.CellsOnBoard:N0} cells ({(double)f.CellsNeeded / f.CellsOnBoard:P1}) " +
            $"in {f.Blocks} blocks{(f.CutToFit ? ", cut to fit (whole tile-sized blocks do not)" : ", tile-sized")}");
    }
}
