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
using Swim.Controller.Workflows;
using Swim.Devices;

namespace Swim.Controller.Cli;

/// <summary>
/// <c>swim simulate MODEL.onnx --data TEST.npz --calib CALIB.npz --methods ... --ratios ... --out DIR</c>:
/// SWIM's Monte-Carlo evaluation of selection methods over sampled chips.
/// </summary>
internal sealed class SimulateCommand
{
    private static readonly SimulationOptions s_defaults = new();

    private readonly Argument<string> _model = new("model") { Description = "The ONNX classifier." };
    private readonly DataOptions _test = new("--data", "Test samples to measure accuracy on (.npz with x and y, or IDX with --labels).", DataSplit.Test, defaultBatch: 1000);
    private readonly Option<string?> _calib = new("--calib") { Description = "Calibration samples for the sensitivity pass (.npz; its train split where it has one)." };
    private readonly Option<string?> _sensitivityFile = new("--sensitivity") { Description = "Reuse derivatives written by 'swim sensitivity' instead of computing them from --calib." };
    private readonly Option<int?> _calibSamples = new("--calib-samples") { Description = "Use only the first N calibration samples." };
    private readonly Option<string> _curvature = SensitivityCommand.CurvatureOption();
    private readonly Option<string> _methods = new("--methods") { Description = $"Comma-separated selection methods: {string.Join(", ", SelectionMethods.Names)}.", DefaultValueFactory = _ => string.Join(",", s_defaults.Methods.Select(SelectionMethods.Name)) };
    private readonly Option<string> _ratios = new("--ratios") { Description = "Comma-separated verified fractions in [0, 1].", DefaultValueFactory = _ => string.Join(",", s_defaults.Ratios.Select(r => r.ToString(CultureInfo.InvariantCulture))) };
    private readonly Option<string> _noise = new("--noise-model") { Description = "paper: the SWIM authors' additive model; device: the emulator's device physics with its write-verify loop.", DefaultValueFactory = _ => "paper" };
    private readonly Option<string> _device = new("--device") { Description = $"Device preset of --noise-model device: {string.Join(", ", DevicePreset.Names)}.", DefaultValueFactory = _ => s_defaults.Device.Name };
    private readonly Option<int> _bits = new("--weight-bits") { Description = "N: magnitude bits per weight (step max|W_layer| / 2^N).", DefaultValueFactory = _ => s_defaults.WeightBits };
    private readonly Option<double?> _sigma = new("--sigma") { Description = "Paper model: each device's std as a fraction of its range (default 0.1). Device model: overrides the preset's programming sigma." };
    private readonly Option<double?> _sigmaWv = new("--sigma-wv") { Description = "Paper model: the std of a verified device (default sigma / 10)." };
    private readonly Option<double?> _stuck = new("--stuck-rate") { Description = "Device model: overrides the preset's fraction of stuck cells (0 studies variation alone)." };
    private readonly Option<double> _tolerance = new("--tolerance") { Description = "Device model: write-verify band as a fraction of the conductance window.", DefaultValueFactory = _ => s_defaults.ToleranceFraction };
    private readonly Option<string?> _readAfter = new("--read-after") { Description = "Device model: evaluate the chips this long after programming ended (0, 30s, 5m, 1h, 1d, 30d): relaxation, drift and 1/f read noise at that age. Default: each cell read right after it was written." };
    private readonly Option<string> _selectionCost = new("--selection-cost") { Description = "Device model: count (each method's top cells wherever they sit), parallel (whole crossbar rows in order of the score they hold: a row-parallel array verifies a row in one pass) or bench (cells by score per second of row-parallel device time plus link time at 3 Mbaud).", DefaultValueFactory = _ => "count" };
    private readonly Option<string> _placement = new("--placement") { Description = "Device model: natural (input i on row i) or sensitivity (each layer's inputs and outputs in order of the SWIM score they hold, so high-score weights share rows)." , DefaultValueFactory = _ => "natural" };
    private readonly Option<int> _trials = new("--trials") { Description = "Sampled chips; every method and ratio is evaluated on each.", DefaultValueFactory = _ => s_defaults.Trials };
    private readonly Option<int> _seed = new("--seed") { Description = "Seeds the chips and random selection.", DefaultValueFactory = _ => s_defaults.Seed };
    private readonly Option<int> _threads = new("--threads") { Description = "Trials run at once (one core each).", DefaultValueFactory = _ => s_defaults.Parallelism };
    private readonly Option<string> _output = new("--out") { Description = "Directory for results.json, results.csv and the plots (with --shard: for the slice's shard-I-of-N.json).", Required = true };
    private readonly Option<string?> _shard = new("--shard") { Description = "Run slice I of N (I from 0) of the study and write it to --out as shard-I-of-N.json, for a job array; 'swim simulate merge' joins the slices." };

    public static Command Create(Func<CommandContext> context) => new SimulateCommand().Build(context);

    private Command Build(Func<CommandContext> context)
    {
        var command = new Command("simulate", "Monte-Carlo study of write-verify selection: accuracy and programming cost per method and verified fraction.");
        command.Arguments.Add(_model);
        _test.AddTo(command);
        _noise.AcceptOnlyFromAmong("paper", "device");
        foreach (Option o in new Option[] { _calib, _sensitivityFile, _calibSamples, _curvature, _methods, _ratios, _noise, _device, _bits, _sigma, _sigmaWv, _stuck, _tolerance, _readAfter, _selectionCost, _placement, _trials, _seed, _threads, _output, _shard })
        {
            command.Options.Add(o);
        }
        command.Subcommands.Add(MergeCommand(context));
        command.SetAction(r => context().Run(() =>
        {
            CommandContext ctx = context();
            Print(ctx, StudyWorkflow.Run(Request(r) with { Command = ctx.Arguments }, new ConsoleReporter(ctx)));
            return ExitCodes.Success;
        }));
        return command;
    }

    private StudyRequest Request(ParseResult r)
    {
        SimulationOptions options = new SimulationOptions
        {
            Methods = [.. SplitList(r.GetValue(_methods)!, "--methods").Select(SelectionMethods.Parse)],
            Ratios = [.. SplitList(r.GetValue(_ratios)!, "--ratios").Select(ParseRatio)],
            WeightBits = r.GetValue(_bits),
            ToleranceFraction = r.GetValue(_tolerance),
            Trials = r.GetValue(_trials),
            Seed = r.GetValue(_seed),
            Parallelism = r.GetValue(_threads),
            ReadAfter = ParseReadAfter(r.GetValue(_readAfter), "--read-after"),
            SelectionCost = SelectionCosts.Parse(r.GetValue(_selectionCost)!),
            Placement = Placements.Parse(r.GetValue(_placement)!),
        }.WithNoise(r.GetValue(_noise) == "paper" ? NoiseModelKind.Paper : NoiseModelKind.Device, r.GetValue(_device)!, r.GetValue(_sigma), r.GetValue(_sigmaWv), r.GetValue(_stuck));
        options.Validate();
        if (r.GetValue(_calibSamples) is <= 0)
        {
            throw new SwimInputException("--calib-samples must be at least 1.");
        }
        string? sensitivityFile = r.GetValue(_sensitivityFile);
        return new StudyRequest
        {
            ModelPath = r.GetRequiredValue(_model),
            Test = _test.Open(r),
            Options = options,
            Calibration = r.GetValue(_calib) is { } calibPath
                ? DataSet.Open(calibPath, DataSplit.Train, splitRequired: false, null).Take(r.GetValue(_calibSamples))
                : null,
            SensitivityFile = sensitivityFile,
            Curvature = CurvatureKinds.Parse(r.GetValue(_curvature)!),
            Slice = r.GetValue(_shard) is { } shardText ? StudySlice.Parse(shardText) : null,
            OutputDirectory = r.GetRequiredValue(_output),
        }.Validate();
    }

    private static void Print(CommandContext ctx, StudyOutcome outcome)
    {
        if (outcome.Part is { } part)
        {
            int units = part.Trials * part.Methods.Count * part.Ratios.Count;
            (long first, long end) = part.Slice.Range(units);
            ctx.Out.WriteLine($"slice {part.Slice}: units {first} to {end - 1} of {units} (trials x methods x ratios), chips {part.Chips[0].Trial} to {part.Chips[^1].Trial}, in {part.Seconds:F1} s");
            ctx.Out.WriteLine($"wrote      {outcome.Written}");
            return;
        }
        PrintStudy(ctx, outcome.Report!, outcome.Written);
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
            (SimulationReport report, int slices) = StudyWorkflow.Merge(r.GetRequiredValue(directories), r.GetRequiredValue(output), context().Arguments);
            ctx.Out.WriteLine($"merged     {slices} slices of {report.Trials} chips x {report.Results.Select(p => p.Method).Distinct().Count()} methods x {report.Results.Select(p => p.Ratio).Distinct().Count()} ratios; slices took {report.Seconds:F1} s together");
            PrintStudy(ctx, report, r.GetRequiredValue(output));
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Prints a written study's table and the within-0.3-points answer per method.</summary>
    private static void PrintStudy(CommandContext ctx, SimulationReport report, string directory)
    {
        string what = StudyFiles.Describe(report);
        var table = new Table().Border(TableBorder.Simple).Title($"{report.Model}, {what}, {report.Trials} trials, {report.TestSamples} test samples");
        bool parallel = report.Results.Any(p => p.ParallelSpeedup > 0);
        string[] columns = parallel
            ? ["method", "ratio", "accuracy", "std", "relative cost", "speedup (serial)", "speedup (row-parallel)", "with link (3 Mbaud)"]
            : ["method", "ratio", "accuracy", "std", "relative cost", "speedup"];
        foreach (string column in columns)
        {
            table.AddColumn(column == "method" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }
        foreach (SimulationPoint p in report.Results)
        {
            string[] cells = [p.Method, p.Ratio.ToString("P0", CultureInfo.InvariantCulture), p.MeanAccuracy.ToString("P2", CultureInfo.InvariantCulture),
                p.StdAccuracy.ToString("P2", CultureInfo.InvariantCulture), p.RelativeCost.ToString("P1", CultureInfo.InvariantCulture), p.Speedup.ToString("F2", CultureInfo.InvariantCulture) + "x"];
            table.AddRow(parallel ? [.. cells, p.ParallelSpeedup.ToString("F2", CultureInfo.InvariantCulture) + "x", p.BenchSpeedup.ToString("F2", CultureInfo.InvariantCulture) + "x"] : cells);
        }
        ctx.Out.Write(table);
        ctx.Out.WriteLine($"full write-verify {report.FullWriteVerifyAccuracy:P2}, none {report.NoWriteVerifyAccuracy:P2}; {report.Evaluations} evaluations in {report.Seconds:F1} s");
        foreach ((string name, SimulationPoint? p) in StudySummary.SmallestWithin(report))
        {
            ctx.Out.WriteLine(p is null
                ? $"{name}: no ratio within 0.3 points of full write-verify"
                : $"{name}: within 0.3 points of full write-verify from {p.Ratio:P0} verified, {p.Speedup:F2}x faster than full" + (p.ParallelSpeedup > 0 ? $" serially, {p.ParallelSpeedup:F2}x row-parallel, {p.BenchSpeedup:F2}x with the link" : ""));
        }
        ctx.Out.WriteLine($"wrote      {directory}/results.json, results.csv, results.md, accuracy-vs-ratio.png, accuracy-vs-cost.png");
    }

    /// <summary>A --read-after value, or null when none was given.</summary>
    public static TimeSpan? ParseReadAfter(string? text, string option) =>
        text is null ? null
        : ReadAfterParser.TryParse(text, out TimeSpan duration) ? duration
        : throw new SwimInputException($"{option} '{text}' is not a duration; give a number and a unit of s, m, h or d, e.g. 1s, 1h, 1d or 30d (0 for right after programming).");

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
