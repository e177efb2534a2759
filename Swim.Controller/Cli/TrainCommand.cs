using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Training;

namespace Swim.Controller.Cli;

/// <summary><c>swim train [MODEL.onnx] --data DATA.npz --out OUT.onnx</c>: trains an ONNX classifier or the built-in LeNet-5.</summary>
internal sealed class TrainCommand
{
    private static readonly TrainingOptions s_defaults = new();

    private readonly Argument<string?> _model = new("model") { Description = "An ONNX classifier to start from; omit it to train the built-in LeNet-5.", Arity = ArgumentArity.ZeroOrOne };
    private readonly DataOptions _data = new("--data", "Training samples: .npz with x and y, or IDX images (with --labels).", DataSplit.Train, defaultBatch: s_defaults.BatchSize);
    private readonly Option<string?> _validate = new("--validate") { Description = "Samples to report accuracy on after each epoch (default: the test split of --data, when it has one)." };
    private readonly Option<int> _epochs = new("--epochs") { DefaultValueFactory = _ => s_defaults.Epochs, Description = "Passes over the training samples." };
    private readonly Option<string> _optimizer = new("--optimizer") { DefaultValueFactory = _ => s_defaults.Optimizer, Description = "adam, or sgd with momentum." };
    private readonly Option<double> _learningRate = new("--lr") { DefaultValueFactory = _ => s_defaults.LearningRate, Description = "Learning rate; halved at 50 % and 75 % of the epochs." };
    private readonly Option<double> _momentum = new("--momentum") { DefaultValueFactory = _ => s_defaults.Momentum, Description = "Momentum for sgd." };
    private readonly Option<double> _weightDecay = new("--weight-decay") { DefaultValueFactory = _ => s_defaults.WeightDecay, Description = "L2 weight decay." };
    private readonly Option<double> _noise = new("--noise-sigma")
    {
        DefaultValueFactory = _ => s_defaults.NoiseSigma,
        Description = "Hardware-aware training: perturb mapped weights by the SWIM device model with this per-device sigma while taking gradients.",
    };
    private readonly Option<int> _seed = new("--seed") { DefaultValueFactory = _ => 1, Description = "Seeds the initial weights, the sample order and the noise." };
    private readonly Option<string> _output = new("--out") { Required = true, Description = "Where to write the trained model (.onnx)." };
    private readonly Option<bool> _json = new("--json") { Description = "Print the result as one JSON object (every epoch's figures) instead of a line per epoch." };

    public static Command Create(Func<CommandContext> context) => new TrainCommand().Build(context);

    private Command Build(Func<CommandContext> context)
    {
        var command = new Command("train", "Train an ONNX classifier (or the built-in LeNet-5) with Swim's derivative graph.");
        command.Arguments.Add(_model);
        _data.AddTo(command);
        _optimizer.AcceptOnlyFromAmong("adam", "sgd");
        foreach (Option option in new Option[] { _validate, _epochs, _optimizer, _learningRate, _momentum, _weightDecay, _noise, _seed, _output, _json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result => context().Run(() => Train(context(), result)));
        return command;
    }

    private int Train(CommandContext ctx, ParseResult result)
    {
        string outputPath = OutputPaths.File(result.GetRequiredValue(_output), "--out", "model.onnx");
        string? modelPath = result.GetValue(_model);
        OnnxModel start = modelPath is null ? LeNet5.Create(result.GetValue(_seed)) : OnnxModel.Load(modelPath);
        DataSet train = _data.Open(result);
        DataSet? validation = result.GetValue(_validate) is { } v
            ? DataSet.Open(v, DataSplit.Test)
            : TryTestSplit(result.GetRequiredValue(_data.Data), result.GetValue(_data.Labels));
        TrainingOptions options = Options(result);
        bool asJson = result.GetValue(_json);
        bool commentary = !asJson && !ctx.Quiet;
        if (commentary)
        {
            PrintPlan(ctx, modelPath, train, validation, options);
        }
        (OnnxModel trained, IReadOnlyList<EpochReport> reports) = ProgressDisplay.Run(ctx, "training (epochs)", options.Epochs, report =>
            Trainer.Train(start, train, validation, options, e =>
            {
                if (commentary)
                {
                    ctx.Out.WriteLine($"epoch {e.Epoch,3}/{options.Epochs}  lr {e.LearningRate.ToString("0.0e0", CultureInfo.InvariantCulture)}  loss {e.TrainLoss:F4}  train {e.TrainAccuracy:P2}" +
                        (e.ValidationAccuracy is { } a ? $"  validation {a:P2}" : "") + $"  {e.Seconds:F1} s");
                }
            }, done => report(done)));
        trained.Save(outputPath);
        if (asJson)
        {
            ctx.Output.WriteLine(JsonOutput.Serialize(new { provenance = Provenance.Now(ctx.Arguments), model = modelPath ?? "built-in LeNet-5", data = train.Description, validation = validation?.Description, options, epochs = reports, wrote = outputPath }));
            return ExitCodes.Success;
        }
        ctx.Out.WriteLine($"wrote      {outputPath}" + (reports[^1].ValidationAccuracy is { } final ? $" (validation accuracy {final:P2})" : ""));
        return ExitCodes.Success;
    }

    private TrainingOptions Options(ParseResult result) => new()
    {
        Epochs = result.GetValue(_epochs),
        BatchSize = _data.BatchSize(result),
        Optimizer = result.GetValue(_optimizer)!,
        LearningRate = result.GetValue(_learningRate),
        Momentum = result.GetValue(_momentum),
        WeightDecay = result.GetValue(_weightDecay),
        NoiseSigma = result.GetValue(_noise),
        Seed = result.GetValue(_seed),
    };

    private static void PrintPlan(CommandContext ctx, string? modelPath, DataSet train, DataSet? validation, TrainingOptions options)
    {
        ctx.Out.WriteLine($"model      {(modelPath ?? "built-in LeNet-5")}");
        ctx.Out.WriteLine($"training   {train.Description}: {train.Count} samples; validation {(validation is null ? "none" : $"{validation.Description}: {validation.Count} samples")}");
        ctx.Out.WriteLine($"optimizer  {options.Optimizer}, lr {options.LearningRate.ToString("G3", CultureInfo.InvariantCulture)}, batch {options.BatchSize}, {options.Epochs} epochs" +
            (options.NoiseSigma > 0 ? $", device noise sigma {options.NoiseSigma.ToString("G3", CultureInfo.InvariantCulture)}" : ""));
    }

    private static DataSet? TryTestSplit(string path, string? labels)
    {
        try
        {
            return DataSet.Open(path, DataSplit.Test, splitRequired: true, labels);
        }
        catch (DataSetException)
        {
            return null;
        }
    }
}
