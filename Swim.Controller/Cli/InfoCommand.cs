using System.CommandLine;
using Spectre.Console;
using Swim.Controller.Onnx;

namespace Swim.Controller.Cli;

/// <summary><c>swim info MODEL.onnx</c>: interface, operators and crossbar-mapped weights of a model.</summary>
internal static class InfoCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX model." };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var command = new Command("info", "Operators, inputs, outputs and crossbar-mapped weights of an ONNX model.");
        command.Arguments.Add(model);
        command.Options.Add(json);
        command.SetAction(result => context().Run(() =>
        {
            CommandContext ctx = context();
            string path = result.GetRequiredValue(model);
            ModelSummary summary = ModelSummary.Of(OnnxModel.Load(path), path);
            if (result.GetValue(json))
            {
                ctx.Output.WriteLine(JsonOutput.Serialize(summary));
                return ExitCodes.Success;
            }
            Render(ctx.Out, summary);
            return ExitCodes.Success;
        }));
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
            table.AddRow(Markup.Escape(w.Name), string.Join(" x ", w.Shape), w.Elements.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), w.OpType, Markup.Escape(w.Node));
        }
        console.Write(table);
        console.WriteLine($"total      {s.MappedWeights.Count} mapped weights, {s.MappedElements:N0} elements ({s.Initializers} initializers in all)");
        if (s.MappedWeights.Count == 0)
        {
            console.WriteLine("note       no Conv, Gemm or MatMul node takes a float32 initializer as its weight: nothing here can be programmed.");
        }
    }
}
