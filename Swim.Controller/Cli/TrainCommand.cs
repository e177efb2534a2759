using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Training;

namespace Swim.Controller.Cli;

/// <summary><c>swim train [MODEL.onnx] --data DATA.npz --out OUT.onnx</c>: trains an ONNX classifier or the built-in LeNet-5.</summary>
internal static class TrainCommand
{
    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string?>("model") { Description = "An ONNX classifier to start from; omit it to train the built-in LeNet-5.", Arity = ArgumentArity.ZeroOrOne };
        var data = new DataOptions("--data", "Training samples: .npz with x and y, or IDX images (with --labels).", DataSplit.Train, defaultBatch: 64);
        var validate = new Option<string?>("--validate") { Description = "Samples to report accuracy on after each epoch (default: the test split of --data, when it has one)." };
        var defaults = new TrainingOptions();
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaults.Epochs, Description = "Passes over the training samples." };
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => defaults.Optimizer, Description = "adam, or sgd with momentum." };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var learningRate = new Option<double>("--lr") { DefaultValueFactory = _ => defaults.LearningRate, Description = "Learning rate; halved at 50 % and 75 % of the epochs." };
        var momentum = new Option<double>("--momentum") { DefaultValueFactory = _ => defaults.Momentum, Description = "Momentum for sgd." };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => defaults.WeightDecay, Description = "L2 weight decay." };
        var noise = new Option<double>("--noise-sigma")
        {
            DefaultValueFactory = _ => defaults.NoiseSigma,
            Description = "Hardware-aware training: perturb mapped weights by the SWIM device model with this per-device sigma while taking gradients.",
        };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1, Description = "Seeds the initial weights, the sample order and the noise." };
        var output = new Option<string>("--out") { Required = true, Description = "Where to write the trained model (.onnx)." };
        var command = new Command("train", "Train an ONNX classifier (or the built-in LeNet-5) with Swim's derivative graph.");
        command.Arguments.Add(model);
        data.AddTo(command);
        foreach (Option option in new Option[] { validate, epochs, optimizer, learningRate, momentum, weightDecay, noise, seed, output })
        {
            command.Options.Add(option);
        }
        command.SetAction(result => context().Run(() =>
        {
            CommandContext ctx = context();
            string outputPath = OutputPaths.File(result.GetRequiredValue(output), "--out", "model.onnx");
            string? modelPath = result.GetValue(model);
            OnnxModel start = modelPath is null ? LeNet5.Create(result.GetValue(seed)) : OnnxModel.Load(modelPath);
            DataSet train = data.Open(result);
            string dataPath = result.GetRequiredValue(data.Data);
            DataSet? validation = result.GetValue(validate) is { } v
                ? DataSet.Open(v, DataSplit.Test)
                : TryTestSplit(dataPath, result.GetValue(data.Labels));
            var options = new TrainingOptions
            {
                Epochs = result.GetValue(epochs),
                BatchSize = data.BatchSize(result),
                Optimizer = result.GetValue(optimizer)!,
                LearningRate = result.GetValue(learningRate),
                Momentum = result.GetValue(momentum),
                WeightDecay = result.GetValue(weightDecay),
                NoiseSigma = result.GetValue(noise),
                Seed = result.GetValue(seed),
            };
            PrintPlan(ctx, modelPath, train, validation, options);
            (OnnxModel trained, IReadOnlyList<EpochReport> reports) = ProgressDisplay.Run(ctx, "training (epochs)", options.Epochs, report =>
                Trainer.Train(start, train, validation, options, e => ctx.Out.WriteLine(
                    $"epoch {e.Epoch,3}/{options.Epochs}  lr {e.LearningRate.ToString("0.0e0", CultureInfo.InvariantCulture)}  loss {e.TrainLoss:F4}  train {e.TrainAccuracy:P2}" +
                    (e.ValidationAccuracy is { } a ? $"  validation {a:P2}" : "") + $"  {e.Seconds:F1} s"), report));
            trained.Save(outputPath);
            ctx.Out.WriteLine($"wrote      {outputPath}" + (reports[^1].ValidationAccuracy is { } final ? $" (validation accuracy {final:P2})" : ""));
            return ExitCodes.Success;
        }));
        return command;
    }

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
