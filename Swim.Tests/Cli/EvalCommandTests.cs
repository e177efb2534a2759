using System.Text.Json;
using Google.Protobuf;
using Swim.Controller.Cli;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;

namespace Swim.Tests.Cli;

public sealed class EvalCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TinyMlp _mlp = new(11);

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes samples whose labels agree with the model on a known subset; returns the expected accuracy.</summary>
    private (string Path, double Expected, int Count) WriteData(int count, long[] sampleShape, int seed)
    {
        var random = new Random(seed);
        float[] x = Enumerable.Range(0, count * TinyMlp.Features).Select(_ => (float)random.NextDouble()).ToArray();
        var labels = new long[count];
        int correct = 0;
        for (int n = 0; n < count; n++)
        {
            int predicted = _mlp.Predict(x.AsSpan(n * TinyMlp.Features, TinyMlp.Features));
            labels[n] = n % 3 == 0 ? predicted : random.Next(TinyMlp.Classes);
            correct += labels[n] == predicted ? 1 : 0;
        }
        string path = _dir.File($"data-{seed}.npz");
        File.WriteAllBytes(path, LabelledSamples(x, sampleShape, labels, deflate: true));
        return (path, (double)correct / count, count);
    }

    private string WriteModel(long? batch = null, bool softmax = false)
    {
        string path = _dir.File($"mlp-{batch}-{softmax}.onnx");
        File.WriteAllBytes(path, _mlp.Build(batch, softmax).ToByteArray());
        return path;
    }

    private static JsonElement Json(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.Error);
        return JsonDocument.Parse(run.Output).RootElement;
    }

    [Theory]
    [InlineData(null, false, 8)]
    [InlineData(null, false, 1000)]
    [InlineData(4L, false, 8)]
    [InlineData(null, true, 5)]
    public void Accuracy_matches_an_independent_computation(long? fixedBatch, bool softmax, int batch)
    {
        (string data, double expected, int count) = WriteData(37, [1, 4, 4], 1);

        JsonElement result = Json(CliRun.Of("eval", WriteModel(fixedBatch, softmax), "--data", data, "--batch", batch.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"));

        Assert.Equal(expected, result.GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(count, result.GetProperty("samples").GetInt32());
        Assert.InRange(expected, 0.34, 0.99);
    }

    [Fact]
    public void Flat_feature_rows_are_reshaped_to_the_model_input()
    {
        (string data, double expected, _) = WriteData(20, [16], 2);

        JsonElement result = Json(CliRun.Of("eval", WriteModel(), "--data", data, "--json"));

        Assert.Equal(expected, result.GetProperty("accuracy").GetDouble(), 12);
    }

    [Fact]
    public void Samples_limits_evaluation_to_the_first_n()
    {
        (string data, _, _) = WriteData(30, [1, 4, 4], 3);

        JsonElement result = Json(CliRun.Of("eval", WriteModel(), "--data", data, "--samples", "7", "--json"));

        Assert.Equal(7, result.GetProperty("samples").GetInt32());
    }

    [Fact]
    public void Plain_output_names_accuracy_and_counts()
    {
        (string data, _, int count) = WriteData(12, [1, 4, 4], 4);

        CliRun run = CliRun.Of("eval", WriteModel(), "--data", data);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains($"/ {count})", run.Output);
    }

    [Fact]
    public void Data_that_does_not_fit_the_model_is_refused_with_both_shapes()
    {
        string path = _dir.File("wrong.npz");
        File.WriteAllBytes(path, LabelledSamples(new float[30], [15], [0, 1]));

        CliRun run = CliRun.Of("eval", WriteModel(), "--data", path);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("1 x 4 x 4", run.Error);
        Assert.Contains("15 values", run.Error);
    }

    [Fact]
    public void Missing_files_and_bad_options_exit_non_zero_with_a_message()
    {
        CliRun missing = CliRun.Of("eval", _dir.File("nope.onnx"), "--data", _dir.File("nope.npz"));
        Assert.Equal(ExitCodes.BadInput, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error);

        CliRun noData = CliRun.Of("eval", WriteModel());
        Assert.Equal(ExitCodes.BadInput, noData.ExitCode);
        Assert.Contains("--data", noData.Error);

        (string data, _, _) = WriteData(3, [1, 4, 4], 5);
        CliRun badSplit = CliRun.Of("eval", WriteModel(), "--data", data, "--split", "test");
        Assert.Equal(ExitCodes.BadInput, badSplit.ExitCode);
        Assert.Contains("no train/test split", badSplit.Error);
    }

    [Fact]
    public void Labels_beyond_the_model_classes_are_refused()
    {
        string path = _dir.File("labels.npz");
        File.WriteAllBytes(path, LabelledSamples(new float[16], [16], [5]));

        CliRun run = CliRun.Of("eval", WriteModel(), "--data", path);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("scores 3 classes", run.Error);
    }
}
