using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Reports;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;
using Swim.Devices;

namespace Swim.Controller.Cli;

/// <summary>
/// <c>swim simulate MODEL.onnx --data TEST.npz --calib CALIB.npz --methods ... --ratios ... --out DIR</c>:
/// SWIM's Monte-Carlo evaluation of selection methods over sampled chips.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX classifier." };
        var test = new DataOptions("--data", "Test samples to measure accuracy on (.npz with x and y, or IDX with --labels).", DataSplit.Test, defaultBatch: 1000);
        var calib = new Option<string?>("--calib") { Description = "Calibration samples for the sensitivity pass (.npz; its train split where it has one)." };
        var sensitivityFile = new Option<string?>("--sensitivity") { Description = "Reuse derivatives written by 'swim sensitivity' instead of computing them from --calib." };
        var calibSamples = new Option<int?>("--calib-samples") { Description = "Use only the first N calibration samples." };
        var curvature = SensitivityCommand.CurvatureOption();
        var methods = new Option<string>("--methods") { Description = $"Comma-separated selection methods: {string.Join(", ", SelectionMethods.Names)}.", DefaultValueFactory = _ => "swim,magnitude,random" };
        var ratios = new Option<string>("--ratios") { Description = "Comma-separated verified fractions in [0, 1].", DefaultValueFactory = _ => "0,0.01,0.02,0.05,0.1,0.2,0.3,0.5,1" };
        var noise = new Option<string>("--noise-model") { Description = "paper: the SWIM authors' additive model; device: the emulator's device physics with its write-verify loop.", DefaultValueFactory = _ => "paper" };
        noise.AcceptOnlyFromAmong("paper", "device");
        var device = new Option<string>("--device") { Description = $"Device preset of --noise-model device: {string.Join(", ", DevicePreset.Names)}.", DefaultValueFactory = _ => "rram" };
        var bits = new Option<int>("--weight-bits") { Description = "N: magnitude bits per weight (step max|W_layer| / 2^N).", DefaultValueFactory = _ => 8 };
        var sigma = new Option<double?>("--sigma") { Description = "Paper model: each device's std as a fraction of its range (default 0.1). Device model: overrides the preset's programming sigma." };
        var sigmaWv = new Option<double?>("--sigma-wv") { Description = "Paper model: the std of a verified device (default sigma / 10)." };
        var stuck = new Option<double?>("--stuck-rate") { Description = "Device model: overrides the preset's fraction of stuck cells (0 studies variation alone)." };
        var tolerance = new Option<double>("--tolerance") { Description = "Device model: write-verify band as a fraction of the conductance window.", DefaultValueFactory = _ => 0.01 };
        var trials = new Option<int>("--trials") { Description = "Sampled chips; every method and ratio is evaluated on each.", DefaultValueFactory = _ => 30 };
        var seed = new Option<int>("--seed") { Description = "Seeds the chips and random selection.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Trials run at once (one core each).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var output = new Option<string>("--out") { Description = "Directory for results.json, results.csv and the plots (with --shard: for the slice's shard-I-of-N.json).", Required = true };
        var shard = new Option<string?>("--shard") { Description = "Run slice I of N (I from 0) of the study and write it to --out as shard-I-of-N.json, for a job array; 'swim simulate merge' joins the slices." };
        var command = new Command("simulate", "Monte-Carlo study of write-verify selection: accuracy and programming cost per method and verified fraction.");
        command.Arguments.Add(model);
        test.AddTo(command);
        foreach (Option o in new Option[] { calib, sensitivityFile, calibSamples, curvature, methods, ratios, noise, device, bits, sigma, sigmaWv, stuck, tolerance, trials, seed, threads, output, shard })
        {
            command.Options.Add(o);
        }
        command.Subcommands.Add(MergeCommand(context));
        command.SetAction(r => context().Run(() =>
        {
            CommandContext ctx = context();
            bool paper = r.GetValue(noise) == "paper";
            if (!paper && r.GetValue(sigmaWv) is not null)
            {
                throw new SwimInputException("--sigma-wv belongs to --noise-model paper; under the device model write-verify is the board's loop: set its band with --tolerance.");
            }
            DevicePreset preset = ParsePreset(r.GetValue(device)!);
            double s = r.GetValue(sigma) ?? (paper ? 0.1 : preset.ProgramSigma);
            if (!paper && r.GetValue(sigma) is { } programSigma)
            {
                preset = preset with { ProgramSigma = programSigma };
            }
            if (r.GetValue(stuck) is { } stuckRate)
            {
                preset = paper ? throw new SwimInputException("--stuck-rate belongs to --noise-model device; the paper model has no stuck cells.")
                    : stuckRate is >= 0 and <= 1 ? preset with { StuckRate = stuckRate } : throw new SwimInputException($"--stuck-rate must be a fraction in [0, 1] (got {stuckRate}).");
            }
            var options = new SimulationOptions
            {
                Methods = [.. SplitList(r.GetValue(methods)!, "--methods").Select(SelectionMethods.Parse)],
                Ratios = [.. SplitList(r.GetValue(ratios)!, "--ratios").Select(ParseRatio)],
                NoiseModel = paper ? NoiseModelKind.Paper : NoiseModelKind.Device,
                Device = preset,
                WeightBits = r.GetValue(bits),
                Sigma = s,
                SigmaVerified = r.GetValue(sigmaWv) ?? s / 10,
                ToleranceFraction = r.GetValue(tolerance),
                Trials = r.GetValue(trials),
                Seed = r.GetValue(seed),
                Parallelism = r.GetValue(threads),
            };
            options.Validate();
            int evaluations = options.Trials * options.Methods.Count * options.Ratios.Count;
            StudySlice? slice = r.GetValue(shard) is { } shardText ? StudySlice.Parse(shardText) : null;
            slice?.CheckFits(evaluations);
            OutputPaths.Directory(r.GetRequiredValue(output), "--out");
            string modelPath = r.GetRequiredValue(model);
            OnnxModel onnx = OnnxModel.Load(modelPath);
            DataSet testData = test.Open(r);
            CurvatureKind kind = SensitivityCommand.ParseCurvature(r.GetValue(curvature)!);
            if (r.GetValue(calibSamples) is <= 0)
            {
                throw new SwimInputException("--calib-samples must be at least 1.");
            }
            SensitivityResult? sensitivity = null;
            if (options.Methods.Any(SelectionMethods.NeedsSensitivity))
            {
                if (r.GetValue(sensitivityFile) is { } file)
                {
                    sensitivity = SensitivityAnalysis.Load(file, onnx);
                }
                else
                {
                    string calibPath = r.GetValue(calib) ?? throw new SwimInputException(
                        $"--methods {r.GetValue(methods)} rank weights by the sensitivity pass: give calibration samples with --calib, or a file from 'swim sensitivity' with --sensitivity.");
                    DataSet calibration = DataSet.Open(calibPath, DataSplit.Train, splitRequired: false, null).Take(r.GetValue(calibSamples));
                    sensitivity = ProgressDisplay.Run(ctx, "sensitivity", calibration.Count, report => SensitivityAnalysis.Run(onnx, calibration, UswimPaperScore.PassBatch(options.Methods, 256), kind, options.Seed, n => report(n),
                        gradients: options.Methods.Any(SelectionMethods.NeedsGradient)));
                }
            }
            if (slice is { } part)
            {
                (long first, long end) = part.Range(evaluations);
                StudyPart result = ProgressDisplay.Run(ctx, $"simulate (slice {part})", (int)(end - first),
                    progress => MonteCarloSimulation.RunSlice(onnx, testData, sensitivity, options, part, n => progress(n)));
                string written = StudyPartFiles.Write(result with { Model = Path.GetFileName(modelPath) }, r.GetRequiredValue(output));
                ctx.Out.WriteLine($"slice {part}: units {first} to {end - 1} of {evaluations} (trials x methods x ratios), chips {result.Chips[0].Trial} to {result.Chips[^1].Trial}, in {result.Seconds:F1} s");
                ctx.Out.WriteLine($"wrote      {written}");
                return ExitCodes.Success;
            }
            SimulationReport report = ProgressDisplay.Run(ctx, $"simulate ({options.Trials} trials)", evaluations,
                progress => MonteCarloSimulation.Run(onnx, testData, sensitivity, options, n => progress(n)));
            report = report with { Model = Path.GetFileName(modelPath) };
            WriteStudy(ctx, report, r.GetRequiredValue(output));
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary><c>swim simulate merge DIR... --out DIR</c>: one study's slices joined into the files an unsharded run writes.</summary>
    private static Command MergeCommand(Func<CommandContext> context)
    {
        var directories = new Argument<string[]>("directories") { Description = "Directories holding the slices' shard-I-of-N.json files.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Directory for results.json, results.csv, results.md and the plots.", Required = true };
        var command = new Command("merge", "Joins the slices of a sharded study (swim simulate --shard I/N), after checking they are one study's and cover it exactly once.");
        command.Arguments.Add(directories);
        command.Options.Add(output);
        command.SetAction(r => context().Run(() =>
        {
            CommandContext ctx = context();
            OutputPaths.Directory(r.GetRequiredValue(output), "--out");
            IReadOnlyList<StudyPart> parts = StudyPartFiles.ReadAll(r.GetRequiredValue(directories));
            SimulationReport report = StudyMerge.Merge(parts);
            ctx.Out.WriteLine($"merged     {parts.Count} slices of {report.Trials} chips x {report.Results.Select(p => p.Method).Distinct().Count()} methods x {report.Results.Select(p => p.Ratio).Distinct().Count()} ratios; slices took {report.Seconds:F1} s together");
            WriteStudy(ctx, report, r.GetRequiredValue(output));
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Writes a study's files and prints its table and the within-0.3-points answer per method.</summary>
    private static void WriteStudy(CommandContext ctx, SimulationReport report, string directory)
    {
        StudyFiles.Write(report, directory);
        string what = StudyFiles.Describe(report);
        var table = new Table().Border(TableBorder.Simple).Title($"{report.Model}, {what}, {report.Trials} trials, {report.TestSamples} test samples");
        foreach (string column in new[] { "method", "ratio", "accuracy", "std", "relative cost", "speedup" })
        {
            table.AddColumn(column == "method" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }
        foreach (SimulationPoint p in report.Results)
        {
            table.AddRow(p.Method, p.Ratio.ToString("P0", CultureInfo.InvariantCulture), p.MeanAccuracy.ToString("P2", CultureInfo.InvariantCulture),
                p.StdAccuracy.ToString("P2", CultureInfo.InvariantCulture), p.RelativeCost.ToString("P1", CultureInfo.InvariantCulture), p.Speedup.ToString("F2", CultureInfo.InvariantCulture) + "x");
        }
        ctx.Out.Write(table);
        ctx.Out.WriteLine($"full write-verify {report.FullWriteVerifyAccuracy:P2}, none {report.NoWriteVerifyAccuracy:P2}; {report.Evaluations} evaluations in {report.Seconds:F1} s");
        foreach ((string name, SimulationPoint? p) in StudySummary.SmallestWithin(report))
        {
            ctx.Out.WriteLine(p is null
                ? $"{name}: no ratio within 0.3 points of full write-verify"
                : $"{name}: within 0.3 points of full write-verify from {p.Ratio:P0} verified, {p.Speedup:F2}x faster than full");
        }
        ctx.Out.WriteLine($"wrote      {directory}/results.json, results.csv, results.md, accuracy-vs-ratio.png, accuracy-vs-cost.png");
    }

    private static DevicePreset ParsePreset(string name)
    {
        try
        {
            return DevicePreset.ByName(name);
        }
        catch (ArgumentException ex)
        {
            throw new SwimInputException($"--device: {ex.Message}");
        }
    }

    private static string[] SplitList(string text, string option)
    {
        string[] items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return items.Length > 0 ? items : throw new SwimInputException($"{option} is empty; give a comma-separated list.");
    }

    private static double ParseRatio(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value is >= 0 and <= 1
            ? value
            : throw new SwimInputException($"--ratios: '{text}' is not a fraction in [0, 1] (write 10 % as 0.1).");

}
