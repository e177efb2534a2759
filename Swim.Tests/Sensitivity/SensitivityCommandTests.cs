using Google.Protobuf;
using Swim.Controller.Cli;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;

namespace Swim.Tests.Sensitivity;

public sealed class SensitivityCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Model, string Data) Write(int samples)
    {
        string model = _dir.File("net.onnx");
        File.WriteAllBytes(model, TestNets.SmallLeNet(3).ToByteArray());
        var random = new Random(5);
        float[] x = Enumerable.Range(0, samples * 64).Select(_ => (float)random.NextDouble()).ToArray();
        long[] y = Enumerable.Range(0, samples).Select(_ => (long)random.Next(3)).ToArray();
        string data = _dir.File("calib.npz");
        File.WriteAllBytes(data, LabelledSamples(x, [1, 8, 8], y, deflate: true));
        return (model, data);
    }

    [Fact]
    public void Writes_grad_hess_and_score_for_every_mapped_weight_in_its_shape()
    {
        (string model, string data) = Write(23);
        string output = _dir.File("sens.npz");

        CliRun run = CliRun.Of("sensitivity", model, "--data", data, "--out", output, "--batch", "8");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        NpzArchive npz = NpzArchive.Open(output);
        OnnxModel onnx = OnnxModel.Load(model);
        foreach (MappedWeight w in onnx.FindMappedWeights())
        {
            Assert.Equal(w.Dims, npz.Arrays["grad/" + w.Name].Shape);
            Assert.Equal(w.Dims, npz.Arrays["hess/" + w.Name].Shape);
            float[] hess = npz.ReadFloat32("hess/" + w.Name);
            float[] score = npz.ReadFloat32("score/" + w.Name);
            float fullScale = onnx.ReadWeights(w.Name).Max(MathF.Abs);
            Assert.All(hess, h => Assert.True(h >= 0, "the OBD diagonal of a cross-entropy loss is never negative"));
            for (int i = 0; i < hess.Length; i++)
            {
                Assert.Equal(hess[i] * fullScale * fullScale, score[i], 1e-6f * Math.Max(1, score[i]));
            }
        }
        Assert.Contains("top 10 % share", run.Output);
    }

    [Fact]
    public void Without_batch_the_pass_chooses_one_from_activation_memory_and_leaves_each_session_a_batch()
    {
        (string model, string data) = Write(23);
        string output = _dir.File("auto.npz");

        CliRun run = CliRun.Of("sensitivity", model, "--data", data, "--out", output, "--threads", "2");
        CliRun zero = CliRun.Of("sensitivity", model, "--data", data, "--out", _dir.File("zero.npz"), "--batch", "0");

        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        // This net's activations are a few kilobytes a sample: the limit is 23 samples over 2 sessions.
        Assert.Equal(12, SensitivityAnalysis.Load(output, OnnxModel.Load(model)).BatchSize);
        Assert.Equal(ExitCodes.BadInput, zero.ExitCode);
        Assert.Contains("--batch must be 1", zero.Error);
        Assert.False(File.Exists(_dir.File("zero.npz")));
    }

    [Theory]
    [InlineData(5_673_000L, 256, 8)] // a CIFAR ResNet-18: 5.7 MB of forward values a sample
    [InlineData(60_008L, 256, 256)] // LeNet-5
    [InlineData(60_008L, 12, 12)]
    [InlineData(1L << 30, 256, 1)] // larger than the budget: one sample a run
    public void The_chosen_batch_fits_the_activation_budget(long bytesPerSample, int limit, int expected)
    {
        int batch = DerivativeGraphBuilder.ChooseBatch(bytesPerSample, limit);

        Assert.Equal(expected, batch);
        Assert.True(batch == 1 || batch * bytesPerSample <= DerivativeGraphBuilder.ActivationBudgetBytes);
    }

    [Fact]
    public void Results_do_not_depend_on_the_batch_size()
    {
        // 23 samples in batches of 5 leaves a short last batch padded with zero-weight samples.
        (string model, string data) = Write(23);
        OnnxModel onnx = OnnxModel.Load(model);
        DataSet samples = DataSet.Open(data);

        SensitivityResult small = SensitivityAnalysis.Run(onnx, samples, 5, CurvatureKind.Obd);
        SensitivityResult whole = SensitivityAnalysis.Run(onnx, samples, 64, CurvatureKind.Obd);

        Assert.Equal(23, small.Samples);
        Assert.Equal(whole.MeanLoss, small.MeanLoss, 5);
        foreach ((ParameterSensitivity a, ParameterSensitivity b) in small.Parameters.Zip(whole.Parameters))
        {
            for (int i = 0; i < a.Curvature.Length; i++)
            {
                Assert.Equal(b.Curvature[i], a.Curvature[i], 1e-5f + 1e-4f * Math.Abs(b.Curvature[i]));
                Assert.Equal(b.Gradient![i], a.Gradient![i], 1e-5f + 1e-4f * Math.Abs(b.Gradient[i]));
            }
        }
    }

    [Fact]
    public void A_pass_for_the_curvature_alone_gives_the_same_curvature_and_no_gradients()
    {
        (string model, string data) = Write(23);
        OnnxModel onnx = OnnxModel.Load(model);
        DataSet samples = DataSet.Open(data);

        SensitivityResult full = SensitivityAnalysis.Run(onnx, samples, 8, CurvatureKind.Obd);
        SensitivityResult curvatureOnly = SensitivityAnalysis.Run(onnx, samples, 8, CurvatureKind.Obd, gradients: false);

        Assert.Equal(full.MeanLoss, curvatureOnly.MeanLoss, 6);
        foreach ((ParameterSensitivity a, ParameterSensitivity b) in curvatureOnly.Parameters.Zip(full.Parameters))
        {
            Assert.Null(a.Gradient);
            Assert.NotNull(b.Gradient);
            Assert.Equal(b.Curvature, a.Curvature, (x, y) => Math.Abs(x - y) <= 1e-6f * Math.Max(Math.Abs(x), Math.Abs(y)) + 1e-12f);
        }
        // A file of derivatives holds the gradients, and ranking by them needs them: both say what is missing.
        Assert.Contains("without gradients", Assert.Throws<ArgumentException>(() => SensitivityAnalysis.Save(curvatureOnly, _dir.File("s.npz"))).Message);
        Assert.False(File.Exists(_dir.File("s.npz")));
    }

    [Fact]
    public void A_classifier_that_lists_its_predicted_label_first_is_scored_by_its_float_output()
    {
        // skl2onnx and Keras label heads put an int64 label before the scores.
        (string model, string data) = Write(23);
        ModelProto proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(model));
        string scores = proto.Graph.Output[0].Name;
        proto.Graph.Node.Add(new NodeProto
        {
            OpType = "ArgMax", Input = { scores }, Output = { "label" },
            Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 }, new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 } },
        });
        proto.Graph.Output.Insert(0, GraphBuilder.ValueInfo("label", TensorProto.Types.DataType.Int64, ["batch"]));
        string labelFirst = _dir.File("label-first.onnx");
        File.WriteAllBytes(labelFirst, proto.ToByteArray());
        DataSet samples = DataSet.Open(data);

        SensitivityResult expected = SensitivityAnalysis.Run(OnnxModel.Load(model), samples, 8, CurvatureKind.Obd);
        SensitivityResult actual = SensitivityAnalysis.Run(OnnxModel.Load(labelFirst), samples, 8, CurvatureKind.Obd);

        Assert.Equal(expected.MeanLoss, actual.MeanLoss);
        Assert.Equal(expected.Parameters.Select(p => p.Curvature), actual.Parameters.Select(p => p.Curvature));
        using var plain = new Classifier(OnnxModel.Load(model));
        using var withLabel = new Classifier(OnnxModel.Load(labelFirst));
        Assert.Equal(plain.Evaluate(samples, 8).Correct, withLabel.Evaluate(samples, 8).Correct);

        proto.Graph.Output.RemoveAt(1);
        OnnxModel labelOnly = OnnxModel.FromBytes(proto.ToByteArray(), "label-only", null);
        Assert.Contains("no float32 output ('label' int64)", Assert.Throws<OnnxModelException>(() => labelOnly.ScoresOutput).Message);
    }

    [Fact]
    public void Threads_set_the_session_count_without_changing_the_file_and_bad_counts_are_refused()
    {
        (string model, string data) = Write(10);
        CliRun one = CliRun.Of("sensitivity", model, "--data", data, "--batch", "3", "--out", _dir.File("one.npz"), "--threads", "1");
        CliRun every = CliRun.Of("sensitivity", model, "--data", data, "--batch", "3", "--out", _dir.File("every.npz"));

        Assert.Equal(ExitCodes.Success, one.ExitCode);
        Assert.Equal(ExitCodes.Success, every.ExitCode);
        NpzArchive a = NpzArchive.Open(_dir.File("one.npz")), b = NpzArchive.Open(_dir.File("every.npz"));
        Assert.Equal(a.ReadFloat32("hess/c1.weight"), b.ReadFloat32("hess/c1.weight"));
        Assert.Equal(a.ReadFloat32("grad/c1.weight"), b.ReadFloat32("grad/c1.weight"));
        foreach (string bad in new[] { "0", "-2", (Environment.ProcessorCount + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            string output = _dir.File($"bad{bad}.npz");
            CliRun run = CliRun.Of("sensitivity", model, "--data", data, "--out", output, "--threads", bad);

            Assert.Equal(ExitCodes.BadInput, run.ExitCode);
            Assert.Contains("--threads", run.Error);
            Assert.False(File.Exists(output));
        }
    }

    [Fact]
    public void Ggn_and_ggn_mc_curvatures_are_selectable_and_mc_is_seeded()
    {
        (string model, string data) = Write(10);
        CliRun ggn = CliRun.Of("sensitivity", model, "--data", data, "--out", _dir.File("g.npz"), "--curvature", "ggn");
        CliRun mc1 = CliRun.Of("sensitivity", model, "--data", data, "--out", _dir.File("m1.npz"), "--curvature", "ggn-mc", "--seed", "4");
        CliRun mc2 = CliRun.Of("sensitivity", model, "--data", data, "--out", _dir.File("m2.npz"), "--curvature", "ggn-mc", "--seed", "4");

        Assert.Equal(ExitCodes.Success, ggn.ExitCode);
        Assert.Equal(ExitCodes.Success, mc1.ExitCode);
        Assert.Equal(NpzArchive.Open(_dir.File("m1.npz")).ReadFloat32("hess/c1.weight"), NpzArchive.Open(_dir.File("m2.npz")).ReadFloat32("hess/c1.weight"));
    }

    [Fact]
    public void Passes_split_over_several_sessions_repeat_bit_for_bit_with_any_session_count()
    {
        // Eight batches of 3 are shared between the parallel sessions; neither timing nor the number of sessions
        // (a machine's core count) may reach the sums or the Monte-Carlo labels.
        (string model, string data) = Write(23);
        OnnxModel onnx = OnnxModel.Load(model);
        DataSet samples = DataSet.Open(data);
        SensitivityResult reference = SensitivityAnalysis.Run(onnx, samples, 3, CurvatureKind.GgnMonteCarlo, seed: 9, workers: 1);

        foreach (int workers in new[] { 1, 2, 3, 4, 2, 3 })
        {
            SensitivityResult again = SensitivityAnalysis.Run(onnx, samples, 3, CurvatureKind.GgnMonteCarlo, seed: 9, workers: workers);

            Assert.Equal(reference.MeanLoss, again.MeanLoss);
            Assert.Equal(reference.Samples, again.Samples);
            foreach ((ParameterSensitivity a, ParameterSensitivity b) in reference.Parameters.Zip(again.Parameters))
            {
                Assert.Equal(a.Gradient, b.Gradient);
                Assert.Equal(a.Curvature, b.Curvature);
            }
        }
        SensitivityResult otherSeed = SensitivityAnalysis.Run(onnx, samples, 3, CurvatureKind.GgnMonteCarlo, seed: 10, workers: 3);
        Assert.NotEqual(reference.Parameters[0].Curvature, otherSeed.Parameters[0].Curvature);
    }

    /// <summary>
    /// A batch's sums go back to the pool once added; another session may take, clear and refill them at once (a
    /// 20 ms delay after the hand-back once showed progress [... 9, 11, 14, 17 ...]). The hook does that clearing
    /// itself, every time, so anything read from them after the hand-back comes out zero: progress must still climb
    /// by whole batches and the sums equal a single session's.
    /// </summary>
    [Fact]
    public void Progress_and_sums_are_read_before_a_batchs_sums_go_back_to_the_pool()
    {
        (string model, string data) = Write(23);
        OnnxModel onnx = OnnxModel.Load(model);
        DataSet samples = DataSet.Open(data);
        SensitivityResult reference = SensitivityAnalysis.Run(onnx, samples, 3, CurvatureKind.Obd, workers: 1);
        var progress = new System.Collections.Concurrent.ConcurrentQueue<int>();

        SensitivityAnalysis.AfterHandBack.Value = sums => sums.Clear();
        SensitivityResult raced;
        try
        {
            raced = SensitivityAnalysis.Run(onnx, samples, 3, CurvatureKind.Obd, samplesDone: progress.Enqueue, workers: 3);
        }
        finally
        {
            SensitivityAnalysis.AfterHandBack.Value = null;
        }

        Assert.Equal([3, 6, 9, 12, 15, 18, 21, 23], progress.ToArray());
        Assert.Equal(reference.Samples, raced.Samples);
        foreach ((ParameterSensitivity a, ParameterSensitivity b) in reference.Parameters.Zip(raced.Parameters))
        {
            Assert.Equal(a.Curvature, b.Curvature);
        }
    }

    [Fact]
    public async Task Many_small_batches_over_more_sessions_than_cores_finish()
    {
        // Sessions finish out of order and wait for each other's earlier batches; with one-sample batches and
        // more sessions than this machine has cores, a session is often preempted between taking a batch and
        // starting it. Each pass must still end, here within a minute (a pass takes about a tenth of a second).
        (string model, string data) = Write(200);
        OnnxModel onnx = OnnxModel.Load(model);
        DataSet samples = DataSet.Open(data);

        for (int repeat = 0; repeat < 20; repeat++)
        {
            Task<SensitivityResult> pass = Task.Run(() => SensitivityAnalysis.Run(onnx, samples, 1, CurvatureKind.Obd, workers: SensitivityAnalysis.MaxWorkers));
            Task first = await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(first == pass, $"pass {repeat} did not finish within a minute");
            Assert.Equal(200, (await pass).Samples);
        }
    }

    [Fact]
    public void Progress_counts_up_in_batch_order_to_every_sample()
    {
        (string model, string data) = Write(23);
        var reported = new List<int>();

        SensitivityResult result = SensitivityAnalysis.Run(OnnxModel.Load(model), DataSet.Open(data), 3, CurvatureKind.Obd, samplesDone: reported.Add, workers: 3);

        Assert.Equal([3, 6, 9, 12, 15, 18, 21, 23], reported);
        Assert.Equal(23, result.Samples);
    }

    [Fact]
    public void A_file_that_ends_early_is_named_and_nothing_is_written()
    {
        // The header promises 40 digits, the file holds 20: the reader finds out mid-pass, while both sessions
        // are busy, and the error must still be the file's own, not a wrapper from the worker threads.
        string model = _dir.File("net.onnx");
        File.WriteAllBytes(model, TestNets.SmallLeNet(3).ToByteArray());
        var random = new Random(7);
        string images = _dir.File("images.idx");
        File.WriteAllBytes(images, Idx(0x08, [40, 8, 8], [.. Enumerable.Range(0, 20 * 64).Select(_ => (byte)random.Next(256))]));
        string labels = _dir.File("labels.idx");
        File.WriteAllBytes(labels, Idx(0x08, [40], [.. Enumerable.Range(0, 40).Select(_ => (byte)random.Next(3))]));
        string output = _dir.File("sens.npz");

        CliRun run = CliRun.Of("sensitivity", model, "--data", images, "--labels", labels, "--batch", "4", "--out", output);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("truncated", run.Error);
        Assert.DoesNotContain("AggregateException", run.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Bad_curvature_and_missing_output_are_refused()
    {
        (string model, string data) = Write(4);

        Assert.Equal(ExitCodes.BadInput, CliRun.Of("sensitivity", model, "--data", data, "--out", _dir.File("x.npz"), "--curvature", "exact").ExitCode);
        CliRun noOut = CliRun.Of("sensitivity", model, "--data", data);
        Assert.Equal(ExitCodes.BadInput, noOut.ExitCode);
        Assert.Contains("--out", noOut.Error);
        Assert.False(File.Exists(_dir.File("x.npz")));
    }
}
