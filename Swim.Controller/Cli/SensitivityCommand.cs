using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Controller.Cli;

/// <summary><c>swim sensitivity MODEL.onnx --data CALIB.npz --out SENS.npz</c>: SWIM's per-weight second derivatives.</summary>
internal static class SensitivityCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX classifier." };
        var data = new DataOptions("--data", "Calibration samples: .npz with x and y, or IDX images (with --labels).", DataSplit.Train, DataOptions.AutoBatch);
        var curvature = CurvatureOption();
        var output = new Option<string>("--out") { Description = "Where to write grad/NAME, hess/NAME and score/NAME (an .npz).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed of the Monte-Carlo labels for --curvature ggn-mc.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads")
        {
            Description = $"ONNX Runtime sessions run at once, one core each (default: one per core, up to {SensitivityAnalysis.MaxWorkers}, and with --batch left out only as many as fit {SensitivityAnalysis.SessionsBudgetBytes >> 20} MiB together); each holds a batch's activations and a copy of the sums. The result does not depend on it.",
        };
        var command = new Command("sensitivity", "Gradient and second-derivative diagonal of the loss for every mapped weight (SWIM's score).");
        command.Arguments.Add(model);
        data.AddTo(command);
        command.Options.Add(curvature);
        command.Options.Add(output);
        command.Options.Add(seed);
        command.Options.Add(threads);
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object (per-layer figures included)." };
        command.Options.Add(json);
        command.SetAction(result => context().Run(() =>
        {
            CommandContext ctx = context();
            string outputPath = OutputPaths.File(result.GetRequiredValue(output), "--out", "sensitivity.npz");
            OnnxModel onnx = OnnxModel.Load(result.GetRequiredValue(model));
            DataSet samples = data.Open(result);
            CurvatureKind kind = CurvatureKinds.Parse(result.GetValue(curvature)!);
            int sessions = result.GetValue(threads);
            if (result.GetResult(threads) is not null && sessions < 1)
            {
                throw new SwimInputException($"--threads must be at least 1 (got {sessions}); leave it out for one session per core, up to {SensitivityAnalysis.MaxWorkers}.");
            }
            if (sessions > Environment.ProcessorCount)
            {
                // Sessions beyond the cores only wait for each other, each holding a batch's activations.
                throw new SwimInputException($"--threads {sessions} is more than this machine's {Environment.ProcessorCount} cores; give at most {Environment.ProcessorCount}.");
            }
            var clock = Stopwatch.StartNew();
            SensitivityResult sensitivity = ProgressDisplay.Run(ctx, $"sensitivity ({CurvatureKinds.Name(kind)})", samples.Count,
                report => SensitivityAnalysis.Run(onnx, samples, data.BatchSize(result), kind, result.GetValue(seed), n => report(n), workers: sessions));
            SensitivityAnalysis.Save(sensitivity, outputPath);
            if (result.GetValue(json))
            {
                ctx.Output.WriteLine(JsonOutput.Serialize(Summary(ctx, result.GetRequiredValue(model), samples, sensitivity, kind, clock.Elapsed.TotalSeconds, outputPath)));
                return ExitCodes.Success;
            }
            ctx.Out.WriteLine($"model      {result.GetRequiredValue(model)}");
            ctx.Out.WriteLine($"data       {samples.Description}: {sensitivity.Samples} samples, mean loss {sensitivity.MeanLoss:F4}, accuracy {sensitivity.Accuracy:P2}");
            ctx.Out.WriteLine($"curvature  {CurvatureKinds.Name(kind)}, {clock.Elapsed.TotalSeconds:F2} s");
            ctx.Out.Write(LayerTable(sensitivity));
            ctx.Out.WriteLine($"wrote      {outputPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static object Summary(CommandContext ctx, string model, DataSet samples, SensitivityResult sensitivity, CurvatureKind kind, double seconds, string output) => new
    {
        provenance = Provenance.Now(ctx.Arguments),
        model,
        data = samples.Description,
        samples = sensitivity.Samples,
        mean_loss = sensitivity.MeanLoss,
        accuracy = sensitivity.Accuracy,
        curvature = CurvatureKinds.Name(kind),
        seconds,
        layers = sensitivity.MappedWeights.Select(p => new
        {
            weight = p.Parameter.Name,
            elements = p.Parameter.ElementCount,
            full_scale = p.FullScale,
            mean_score = p.Score!.Average(s => (double)s),
            top_10_percent_share = SensitivityResult.TopShare(p.Score!, 0.1),
        }),
        wrote = output,
    };

    private static Table LayerTable(SensitivityResult sensitivity)
    {
        var table = new Table().Border(TableBorder.Simple).Title("per layer");
        table.AddColumn("weight");
        table.AddColumn(new TableColumn("elements").RightAligned());
        table.AddColumn(new TableColumn("max|W|").RightAligned());
        table.AddColumn(new TableColumn("mean score").RightAligned());
        table.AddColumn(new TableColumn("top 10 % share").RightAligned());
        foreach (ParameterSensitivity p in sensitivity.MappedWeights)
        {
            table.AddRow(Markup.Escape(p.Parameter.Name), p.Parameter.ElementCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                p.FullScale.ToString("G4", System.Globalization.CultureInfo.InvariantCulture),
                p.Score!.Average(s => (double)s).ToString("E3", System.Globalization.CultureInfo.InvariantCulture),
                SensitivityResult.TopShare(p.Score!, 0.1).ToString("P1", System.Globalization.CultureInfo.InvariantCulture));
        }
        return table;
    }

    public static Option<string> CurvatureOption()
    {
        var option = new Option<string>("--curvature")
        {
            Description = "obd: SWIM's (Optimal Brain Damage, Gauss-Newton form); ggn: the exact Gauss-Newton diagonal; ggn-mc: its one-sample Monte-Carlo estimate.",
            DefaultValueFactory = _ => "obd",
        };
        option.AcceptOnlyFromAmong([.. CurvatureKinds.Names]);
        return option;
    }
}
