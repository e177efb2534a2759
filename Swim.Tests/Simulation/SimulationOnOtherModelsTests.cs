using Google.Protobuf;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;
using Swim.Devices;
using Swim.Tests.Support;
using static Swim.Tests.Support.FormatWriters;

namespace Swim.Tests.Simulation;

/// <summary>
/// The simulation on a model unlike LeNet: a fixed batch of 4 (so the evaluator pads the last run), a Gemm with
/// transB and a MatMul whose weight passes through a Transpose node, both fed as overridden inputs.
/// </summary>
public sealed class SimulationOnOtherModelsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TinyMlp _mlp = new(11);

    public void Dispose() => _dir.Dispose();

    private (OnnxModel Model, DataSet Data) Setup()
    {
        var random = new Random(5);
        const int Count = 37;
        float[] x = [.. Enumerable.Range(0, Count * TinyMlp.Features).Select(_ => (float)random.NextDouble())];
        long[] labels = [.. Enumerable.Range(0, Count).Select(n => n % 2 == 0 ? (long)_mlp.Predict(x.AsSpan(n * TinyMlp.Features, TinyMlp.Features)) : random.Next(TinyMlp.Classes))];
        string path = _dir.File("data.npz");
        File.WriteAllBytes(path, LabelledSamples(x, [1, 4, 4], labels));
        return (OnnxModel.FromBytes(_mlp.Build(batch: 4).ToByteArray(), "tiny mlp", null), DataSet.Open(path));
    }

    [Fact]
    public void Without_noise_every_point_scores_the_quantized_model_as_plain_inference_does()
    {
        (OnnxModel model, DataSet data) = Setup();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, data, 4, CurvatureKind.Obd);

        SimulationReport report = MonteCarloSimulation.Run(model, data, sensitivity, new SimulationOptions
        {
            Methods = [SelectionMethod.Swim, SelectionMethod.CellLevel, SelectionMethod.Posterior],
            Ratios = [0, 0.3, 1],
            Sigma = 0,
            SigmaVerified = 0,
            WeightBits = 1,
            Trials = 2,
        });

        OnnxModel quantized = model.Clone();
        foreach (MappedWeight weight in model.RequireMappedWeights())
        {
            float[] w = model.ReadWeights(weight.Name);
            quantized.ReplaceWeights(weight.Name, PaperVariation.Quantize(w, w.Max(MathF.Abs), 1));
        }
        using var classifier = new Classifier(quantized);
        double expected = classifier.Evaluate(data, 4).Accuracy;
        Assert.All(report.Results, p => Assert.Equal(expected, p.MeanAccuracy, 12));
        // 1-bit weights score differently from the float ones here, so the check sees whether the overrides took effect.
        using var original = new Classifier(model);
        Assert.NotEqual(original.Evaluate(data, 4).Accuracy, expected);
        Assert.Equal(37, report.TestSamples);
    }

    [Fact]
    public void The_device_model_maps_gemm_and_transposed_matmul_weights_and_charges_more_time_for_more_verification()
    {
        (OnnxModel model, DataSet data) = Setup();
        SensitivityResult sensitivity = SensitivityAnalysis.Run(model, data, 4, CurvatureKind.Obd);

        SimulationReport report = MonteCarloSimulation.Run(model, data, sensitivity, new SimulationOptions
        {
            NoiseModel = NoiseModelKind.Device,
            Device = DevicePreset.FeFet,
            Methods = [SelectionMethod.USwim, SelectionMethod.Magnitude],
            Ratios = [0, 0.5, 1],
            Trials = 3,
        });

        foreach (string method in new[] { "uswim", "magnitude" })
        {
            double[] costs = [.. report.Results.Where(p => p.Method == method).OrderBy(p => p.Ratio).Select(p => p.Cost)];
            Assert.True(costs[0] < costs[1] && costs[1] < costs[2], string.Join(", ", costs));
        }
        Assert.All(report.Results, p => Assert.InRange(p.MeanAccuracy, 0, 1));
        Assert.Equal("fefet", report.Device);
    }
}
