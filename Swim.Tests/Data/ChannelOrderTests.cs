using Google.Protobuf;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Tests.Data;

/// <summary>
/// Images saved channels-last (Keras: N x H x W x C) for a channels-first model (PyTorch: N x C x H x W), and the
/// other way round: same sizes, so only the declared shapes tell them apart.
/// </summary>
public sealed class ChannelOrderTests : IDisposable
{
    private const int Samples = 12, C = 3, H = 4, W = 5, Classes = 3;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>One conv net, taking C x H x W, or H x W x C and transposing it first.</summary>
    private static OnnxModel Net(bool channelsLast)
    {
        var random = new Random(11);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5))];
        var g = new GraphBuilder();
        string x = channelsLast
            ? g.Node("Transpose", [g.Input("x", DataType.Float, ["batch", (long)H, (long)W, (long)C])], ("perm", new long[] { 0, 3, 1, 2 }))
            : g.Input("x", DataType.Float, ["batch", (long)C, (long)H, (long)W]);
        string conv = g.Node("Conv", [x, g.Initializer("conv.weight", [2, C, 3, 3], Values(2 * C * 9)), g.Initializer("conv.bias", [2], Values(2))], ("pads", new long[] { 1, 1, 1, 1 }));
        string flat = g.Node("Flatten", [g.Node("Relu", [conv])], ("axis", 1));
        string logits = g.Node("Gemm", [flat, g.Initializer("fc.weight", [Classes, 2 * H * W], Values(Classes * 2 * H * W)), g.Initializer("fc.bias", [Classes], Values(Classes))], ("transB", 1));
        g.Output(logits, DataType.Float, "batch", (long)Classes);
        return OnnxModel.FromBytes(g.ToModel().ToByteArray(), channelsLast ? "channels-last net" : "channels-first net", null);
    }

    /// <summary>The same images written in both orders.</summary>
    private (DataSet ChannelsFirst, DataSet ChannelsLast) Data()
    {
        var random = new Random(5);
        float[] chw = [.. Enumerable.Range(0, Samples * C * H * W).Select(_ => (float)random.NextDouble())];
        var hwc = new float[chw.Length];
        for (int n = 0; n < Samples; n++)
        {
            for (int c = 0; c < C; c++)
            {
                for (int h = 0; h < H; h++)
                {
                    for (int w = 0; w < W; w++)
                    {
                        hwc[((n * H + h) * W + w) * C + c] = chw[((n * C + c) * H + h) * W + w];
                    }
                }
            }
        }
        byte[] labels = Npy("<i8", [Samples], Int64s([.. Enumerable.Range(0, Samples).Select(i => (long)(i % Classes))]));
        File.WriteAllBytes(_dir.File("chw.npz"), Zip(false, ("x.npy", Npy("<f4", [Samples, C, H, W], Floats(chw))), ("y.npy", labels)));
        File.WriteAllBytes(_dir.File("hwc.npz"), Zip(false, ("x.npy", Npy("<f4", [Samples, H, W, C], Floats(hwc))), ("y.npy", labels)));
        return (DataSet.Open(_dir.File("chw.npz")), DataSet.Open(_dir.File("hwc.npz")));
    }

    private static int[] Predictions(OnnxModel model, DataSet data)
    {
        DataSet arranged = model.Arrange(data);
        using var classifier = new Classifier(model);
        var predicted = new List<int>();
        foreach (DataBatch batch in arranged.ReadBatches(5))
        {
            predicted.AddRange(classifier.Predict(batch.Features, batch.Count, arranged.SampleShape));
        }
        return [.. predicted];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Images_in_either_channel_order_reach_the_model_in_its_own(bool channelsLastModel)
    {
        OnnxModel model = Net(channelsLastModel);
        (DataSet chw, DataSet hwc) = Data();

        Assert.Equal(Predictions(model, channelsLastModel ? hwc : chw), Predictions(model, channelsLastModel ? chw : hwc));
        Assert.Equal(Predictions(Net(!channelsLastModel), chw), Predictions(model, chw));
        using var classifier = new Classifier(model);
        Assert.Equal(classifier.Evaluate(chw, 5).Correct, classifier.Evaluate(hwc, 5).Correct);
        SensitivityResult own = SensitivityAnalysis.Run(model, channelsLastModel ? hwc : chw, 4, CurvatureKind.Obd);
        SensitivityResult moved = SensitivityAnalysis.Run(model, channelsLastModel ? chw : hwc, 4, CurvatureKind.Obd);
        Assert.Equal(own.MeanLoss, moved.MeanLoss);
        Assert.Equal(own.Parameters.Select(p => p.Curvature), moved.Parameters.Select(p => p.Curvature));
        Assert.Contains("read channels-", model.Arrange(channelsLastModel ? chw : hwc).Description);
        Assert.Same(channelsLastModel ? hwc : chw, model.Arrange(channelsLastModel ? hwc : chw));
        // A library caller who skips Arrange is stopped rather than fed scrambled images.
        DataSet other = channelsLastModel ? chw : hwc;
        DataBatch first = other.ReadBatches(5).First();
        Assert.Contains("OnnxModel.Arrange", Assert.Throws<ArgumentException>(() => classifier.Predict(first.Features, first.Count, other.SampleShape)).Message);
    }

    [Fact]
    public void A_monte_carlo_study_on_either_channel_order_gives_the_same_results()
    {
        OnnxModel model = Net(channelsLast: true);
        (DataSet chw, DataSet hwc) = Data();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, hwc, 4, CurvatureKind.Obd);
        var options = new Swim.Controller.Simulation.SimulationOptions
        {
            Methods = [Swim.Controller.Selection.SelectionMethod.Swim],
            Ratios = [0, 0.5],
            Sigma = 0.2,
            WeightBits = 4,
            Trials = 2,
        };

        Swim.Controller.Simulation.SimulationReport own = Swim.Controller.Simulation.MonteCarloSimulation.Run(model, hwc, sensitivity, options);
        Swim.Controller.Simulation.SimulationReport moved = Swim.Controller.Simulation.MonteCarloSimulation.Run(model, chw, sensitivity, options);

        Assert.Equal(own.Results.Select(r => r.MeanAccuracy), moved.Results.Select(r => r.MeanAccuracy));
    }

    [Fact]
    public void Training_on_either_channel_order_gives_the_same_model()
    {
        OnnxModel model = Net(channelsLast: false);
        (DataSet chw, DataSet hwc) = Data();
        var options = new Swim.Controller.Training.TrainingOptions { Epochs = 2, BatchSize = 4, Seed = 3 };

        (OnnxModel fromOwn, _) = Swim.Controller.Training.Trainer.Train(model, chw, chw, options);
        (OnnxModel fromMoved, _) = Swim.Controller.Training.Trainer.Train(model, hwc, hwc, options);

        Assert.Equal(fromOwn.ReadWeights("conv.weight"), fromMoved.ReadWeights("conv.weight"));
        Assert.Equal(fromOwn.ReadWeights("fc.weight"), fromMoved.ReadWeights("fc.weight"));
    }
}
