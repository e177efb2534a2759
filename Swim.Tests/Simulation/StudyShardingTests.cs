using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Reports;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;
using Swim.Devices;
using Swim.Tests.Support;

namespace Swim.Tests.Simulation;

/// <summary>A study cut into slices (a Slurm job array's tasks) and merged must be the unsharded study, number for number.</summary>
[Trait("Speed", "Slow")]
public sealed class StudyShardingTests : IDisposable
{
    private static readonly DataSet s_test = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Test).Take(200);
    private static readonly string s_model = BundledAssets.Require(BundledAssets.LeNetModel);
    private static readonly string s_data = BundledAssets.Require(BundledAssets.MnistData);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Random and posterior rank per chip, uswim-paper by its own count: the slices must draw chip k as the whole study does.</summary>
    private static SimulationOptions Study(string noise) => new()
    {
        Methods = [SelectionMethod.Swim, SelectionMethod.Random, SelectionMethod.Posterior, SelectionMethod.USwimPaper],
        Ratios = [0, 0.05, 0.2, 1],
        NoiseModel = noise == "paper" ? NoiseModelKind.Paper : NoiseModelKind.Device,
        Device = DevicePreset.FeFet,
        WeightBits = noise == "paper" ? 4 : 8,
        Trials = 3,
        Seed = 5,
    };

    /// <summary>results.json without the one figure that is a measurement of this machine, not of the study.</summary>
    private static string Numbers(SimulationReport report)
    {
        JsonNode json = JsonNode.Parse(JsonOutput.Serialize(report))!;
        json.AsObject().Remove("seconds");
        json.AsObject().Remove("provenance");
        return json.ToJsonString();
    }

    /// <summary>
    /// The paper model on LeNet-5; the device model (each chip's every cell written and verified by the emulator's
    /// physics: minutes on LeNet-5 for the 36 chips the slices draw) on a 64-32-10 classifier labelled by its own
    /// predictions, where the draws per chip are the same code and take milliseconds.
    /// </summary>
    private (OnnxModel Model, DataSet Test, SensitivityResult Sensitivity) Subject(string noise)
    {
        if (noise == "paper")
        {
            return (BundledLeNet.Model, s_test, BundledLeNet.Sensitivity(300, 128));
        }
        OnnxModel model = OnnxModel.FromBytes(TestNets.Mlp(9, 64, 32, 10).ToByteArray(), "mlp 64-32-10", null);
        const int Count = 300;
        var random = new Random(9);
        float[] x = [.. Enumerable.Range(0, Count * 64).Select(_ => (float)random.NextDouble())];
        using var classifier = new Classifier(model);
        int[] predicted = classifier.Predict(x, Count, [64]);
        string path = _dir.File("mlp-data.npz");
        File.WriteAllBytes(path, FormatWriters.LabelledSamples(x, [64], [.. predicted.Select(p => (long)p)]));
        DataSet data = DataSet.Open(path);
        return (model, data.Take(200), SensitivityAnalysis.Run(model, data, 128, CurvatureKind.Obd));
    }

    [Theory]
    [InlineData("paper")]
    [InlineData("device")]
    public void Merged_slices_equal_the_unsharded_study_exactly_for_1_3_7_and_16_slices(string noise)
    {
        SimulationOptions options = Study(noise);
        (OnnxModel model, DataSet test, SensitivityResult sensitivity) = Subject(noise);
        SimulationReport whole = MonteCarloSimulation.Run(model, test, sensitivity, options);

        foreach (int count in new[] { 1, 3, 7, 16 })
        {
            string dir = _dir.File($"{noise}-{count}");
            for (int i = 0; i < count; i++)
            {
                StudyPart part = MonteCarloSimulation.RunSlice(model, test, sensitivity, options, new StudySlice(i, count));
                StudyPartFiles.Write(part, dir);
            }
            SimulationReport merged = StudyMerge.Merge(StudyPartFiles.ReadAll([dir]));

            Assert.Equal(Numbers(whole), Numbers(merged));
        }
    }

    [Theory]
    [InlineData("1/3", 1, 3)]
    [InlineData(" 0/1 ", 0, 1)]
    [InlineData("15/16", 15, 16)]
    public void Slice_specs_parse(string text, int index, int count)
    {
        Assert.Equal(new StudySlice(index, count), StudySlice.Parse(text));
    }

    [Theory]
    [InlineData("3/3", "0 to 2")]
    [InlineData("-1/3", "0 to 2")]
    [InlineData("0/0", "at least 1")]
    [InlineData("1", "I/N")]
    [InlineData("a/b", "I/N")]
    [InlineData("1/2/3", "I/N")]
    public void Bad_slice_specs_are_refused_naming_the_form(string text, string expected)
    {
        var ex = Assert.Throws<SwimInputException>(() => StudySlice.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("--shard", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_slices_than_units_of_work_are_refused()
    {
        SimulationOptions options = Study("paper") with { Methods = [SelectionMethod.Swim], Ratios = [0.1], Trials = 2 };
        var ex = Assert.Throws<SwimInputException>(() =>
            MonteCarloSimulation.RunSlice(BundledLeNet.Model, s_test, BundledLeNet.Sensitivity(300, 128), options, new StudySlice(0, 3)));
        Assert.Contains("2 units of work", ex.Message, StringComparison.Ordinal);
    }

    private string[] SimulateArgs(string output, params string[] more) =>
        ["simulate", s_model, "--data", s_data, "--samples", "200", "--calib", s_data, "--calib-samples", "200", "--noise-model", "paper",
         "--weight-bits", "4", "--methods", "swim,random", "--ratios", "0,0.1,1", "--trials", "3", "--seed", "2", "--out", output, .. more];

    [Fact]
    public void The_command_line_shards_and_merges_to_the_unsharded_files()
    {
        CliRun whole = CliRun.Of(SimulateArgs(_dir.File("whole")));
        Assert.True(whole.ExitCode == ExitCodes.Success, whole.Error);
        string parts = _dir.File("parts");
        for (int i = 0; i < 3; i++)
        {
            CliRun slice = CliRun.Of(SimulateArgs(parts, "--shard", $"{i}/3"));
            Assert.True(slice.ExitCode == ExitCodes.Success, slice.Error);
            Assert.True(File.Exists(Path.Combine(parts, $"shard-{i}-of-3.json")));
        }

        CliRun merge = CliRun.Of("simulate", "merge", parts, "--out", _dir.File("merged"));

        Assert.True(merge.ExitCode == ExitCodes.Success, merge.Error);
        JsonNode Read(string dir)
        {
            JsonNode json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
            json.AsObject().Remove("seconds");
            // Each file says which command wrote it: the merge, or the unsharded run.
            Assert.Contains(json["provenance"]!["command"]!.AsArray(), a => a!.GetValue<string>() == (dir.EndsWith("merged", StringComparison.Ordinal) ? "merge" : "simulate"));
            json.AsObject().Remove("provenance");
            return json;
        }
        Assert.Equal(Read(_dir.File("whole")).ToJsonString(), Read(_dir.File("merged")).ToJsonString());
        Assert.Equal(File.ReadAllText(Path.Combine(_dir.File("whole"), "results.csv")), File.ReadAllText(Path.Combine(_dir.File("merged"), "results.csv")));
        Assert.Contains("3 slices", merge.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_a_duplicated_or_a_foreign_slice_is_refused_and_nothing_is_merged()
    {
        string parts = _dir.File("parts");
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ExitCodes.Success, CliRun.Of(SimulateArgs(parts, "--shard", $"{i}/3")).ExitCode);
        }
        string one = Path.Combine(parts, "shard-1-of-3.json");
        string aside = _dir.File("shard-1-of-3.json");
        File.Move(one, aside);

        CliRun missing = CliRun.Of("simulate", "merge", parts, "--out", _dir.File("merged"));

        Assert.Equal(ExitCodes.BadInput, missing.ExitCode);
        Assert.Contains("slice 1 of 3 is missing", missing.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("merged")));

        // The same slice twice (a requeued task written to a second directory).
        File.Copy(aside, one);
        string again = _dir.File("again");
        Directory.CreateDirectory(again);
        File.Copy(aside, Path.Combine(again, "shard-1-of-3.json"));
        CliRun duplicated = CliRun.Of("simulate", "merge", parts, again, "--out", _dir.File("merged"));
        Assert.Equal(ExitCodes.BadInput, duplicated.ExitCode);
        Assert.Contains("slice 1 of 3 appears twice", duplicated.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("merged")));

        // A slice of another study: another seed.
        string other = _dir.File("other");
        Assert.Equal(ExitCodes.Success, CliRun.Of([.. SimulateArgs(other, "--shard", "1/3").Select(a => a == "2" ? "3" : a)]).ExitCode);
        File.Copy(Path.Combine(other, "shard-1-of-3.json"), one, overwrite: true);
        CliRun foreign = CliRun.Of("simulate", "merge", parts, "--out", _dir.File("merged"));
        Assert.Equal(ExitCodes.BadInput, foreign.ExitCode);
        Assert.Contains("another study", foreign.Error, StringComparison.Ordinal);
        Assert.Contains("seed", foreign.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("merged")));

        // Slices cut for another count.
        File.Copy(aside, one, overwrite: true);
        Assert.Equal(ExitCodes.Success, CliRun.Of(SimulateArgs(parts, "--shard", "0/2")).ExitCode);
        CliRun counts = CliRun.Of("simulate", "merge", parts, "--out", _dir.File("merged"));
        Assert.Equal(ExitCodes.BadInput, counts.ExitCode);
        Assert.Contains("cut into 2 and into 3", counts.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_dir.File("merged")));
    }

    [Theory]
    [InlineData("3/3", "I must be 0 to 2")]
    [InlineData("1-of-3", "not of the form I/N")]
    [InlineData("0/100", "cut it into at most 18 slices")]
    public void A_bad_shard_is_refused_before_anything_runs_and_nothing_is_written(string shard, string expected)
    {
        string parts = _dir.File("parts");

        CliRun run = CliRun.Of(SimulateArgs(parts, "--shard", shard));

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(parts) && Directory.EnumerateFileSystemEntries(parts).Any());
    }

    [Fact]
    public void Merge_of_a_directory_without_slices_names_what_it_looked_for()
    {
        Directory.CreateDirectory(_dir.File("empty"));
        CliRun run = CliRun.Of("simulate", "merge", _dir.File("empty"), "--out", _dir.File("merged"));
        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("shard-I-of-N.json", run.Error, StringComparison.Ordinal);
    }
}
