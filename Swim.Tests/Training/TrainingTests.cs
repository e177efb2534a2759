using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Training;
using Swim.Tests.Support;

namespace Swim.Tests.Training;

[Trait("Speed", "Slow")]
public sealed class TrainingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Built_in_lenet5_has_the_published_shape()
    {
        OnnxModel lenet = LeNet5.Create(1);

        Assert.Equal(61_470, lenet.FindMappedWeights().Sum(w => w.ElementCount));
        Assert.Equal(61_706, Controller.Sensitivity.TrainableParameter.Find(lenet).Sum(p => p.ElementCount));
    }

    [Theory]
    [InlineData("adam", 0.0)]
    [InlineData("sgd", 0.0)]
    [InlineData("adam", 0.1)]
    public void Training_on_mnist_lowers_the_loss_and_beats_chance_by_far(string optimizer, double noise)
    {
        string data = BundledAssets.Require(BundledAssets.MnistData);
        DataSet train = DataSet.Open(data, DataSplit.Train).Take(1500);
        DataSet test = DataSet.Open(data, DataSplit.Test).Take(500);

        (OnnxModel model, IReadOnlyList<EpochReport> epochs) = Trainer.Train(LeNet5.Create(2), train, test,
            new TrainingOptions { Epochs = 3, Optimizer = optimizer, LearningRate = optimizer == "sgd" ? 0.05 : 2e-3, NoiseSigma = noise, Seed = 3 });

        Assert.True(epochs[^1].TrainLoss < 0.6 * epochs[0].TrainLoss, $"loss {epochs[0].TrainLoss:F3} -> {epochs[^1].TrainLoss:F3}");
        using var classifier = new Classifier(model);
        Assert.True(classifier.Evaluate(test, 250).Accuracy > 0.85);
    }

    [Fact]
    public void Train_command_writes_a_model_that_evaluates_as_reported()
    {
        string data = BundledAssets.Require(BundledAssets.MnistData);
        string output = _dir.File("trained.onnx");

        CliRun run = CliRun.Of("train", "--data", data, "--samples", "600", "--epochs", "2", "--out", output);

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        Assert.Contains("epoch   2/2", run.Output);
        CliRun eval = CliRun.Of("eval", output, "--data", data, "--json");
        Assert.Equal(ExitCodes.Success, eval.ExitCode);
        double reported = double.Parse(System.Text.RegularExpressions.Regex.Match(run.Output, @"validation accuracy ([0-9.]+) %\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        double evaluated = System.Text.Json.JsonDocument.Parse(eval.Output).RootElement.GetProperty("accuracy").GetDouble();
        Assert.Equal(reported / 100, evaluated, 4);
    }

    /// <summary>--noise-sigma trains at perturbed weights: the same seed and data give other weights and a higher training loss (measured at the noisy weights).</summary>
    [Fact]
    public void Noise_sigma_changes_what_training_does()
    {
        string data = BundledAssets.Require(BundledAssets.MnistData);
        string clean = _dir.File("clean.onnx"), noisy = _dir.File("noisy.onnx");

        CliRun plain = CliRun.Of("train", "--data", data, "--samples", "600", "--epochs", "3", "--seed", "4", "--out", clean);
        CliRun aware = CliRun.Of("train", "--data", data, "--samples", "600", "--epochs", "3", "--seed", "4", "--noise-sigma", "0.3", "--out", noisy);

        Assert.True(plain.ExitCode == ExitCodes.Success, plain.Error);
        Assert.True(aware.ExitCode == ExitCodes.Success, aware.Error);
        OnnxModel a = OnnxModel.Load(clean), b = OnnxModel.Load(noisy);
        Assert.Contains(a.FindMappedWeights(), w => !a.ReadWeights(w.Name).SequenceEqual(b.ReadWeights(w.Name)));
        // The last epoch's training loss.
        static double Loss(string output) => double.Parse(System.Text.RegularExpressions.Regex.Matches(output, @"loss ([0-9.]+)")[^1].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Well beyond what thread timing could move: sigma 0.3 perturbs every weight by about a sixth of its layer's full scale.
        Assert.True(Loss(aware.Output) > 1.1 * Loss(plain.Output), $"loss with noise {Loss(aware.Output)}, without {Loss(plain.Output)}");
    }

    [Fact]
    public void Invalid_training_options_are_refused()
    {
        string data = BundledAssets.Require(BundledAssets.MnistData);

        CliRun run = CliRun.Of("train", "--data", data, "--epochs", "0", "--out", _dir.File("x.onnx"));

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("--epochs", run.Error);
        Assert.False(File.Exists(_dir.File("x.onnx")));
    }
}

public sealed class BundledModelTests
{
    [Fact]
    public void Lenet5_reaches_97_percent_on_the_test_split()
    {
        string data = BundledAssets.Require(BundledAssets.MnistData);
        using var classifier = new Classifier(OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel)));

        EvaluationResult result = classifier.Evaluate(DataSet.Open(data, DataSplit.Test, splitRequired: true), 500);

        Assert.Equal(2000, result.Samples);
        Assert.True(result.Accuracy >= 0.97, $"accuracy {result.Accuracy:P2}");
    }
}
