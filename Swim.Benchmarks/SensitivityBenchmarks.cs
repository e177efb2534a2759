using BenchmarkDotNet.Attributes;
using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Benchmarks;

/// <summary>
/// One SWIM sensitivity pass (OBD: forward, gradient pass, curvature pass) over the 10,000 bundled MNIST
/// digits with the bundled LeNet-5, against ONNX Runtime inference of the same samples. Both include
/// building their session, as a user running the command pays for it. Target: at most 3x. Also the same pass
/// without the gradients, which is what a programming session ranking by curvature alone runs. The ratio to quote
/// comes from <see cref="SensitivityRatio"/>, which pairs the passes within rounds; these are each pass's own figures.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
public class SensitivityBenchmarks
{
    private OnnxModel _model = null!;
    private DataSet _data = null!;

    [Params(256)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));
        _data = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.All);
    }

    [Benchmark(Baseline = true, Description = "inference, 10,000 samples")]
    public double Inference()
    {
        using var classifier = new Classifier(_model);
        return classifier.Evaluate(_data, Batch).Accuracy;
    }

    [Benchmark(Description = "sensitivity obd, 10,000 samples")]
    public double SensitivityObd() => SensitivityAnalysis.Run(_model, _data, Batch, CurvatureKind.Obd).MeanLoss;

    [Benchmark(Description = "sensitivity obd without gradients (swim program's pass for swim, uswim, cell-level), 10,000 samples")]
    public double SensitivityObdCurvatureOnly() => SensitivityAnalysis.Run(_model, _data, Batch, CurvatureKind.Obd, gradients: false).MeanLoss;

    [Benchmark(Description = "gradient only, 10,000 samples")]
    public double GradientOnly()
    {
        DerivativeGraph graph = DerivativeGraphBuilder.Build(_model, [1, 28, 28], Batch, CurvatureKind.None);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => _model.ReadWeights(p.Name));
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: false);
        foreach (DataBatch batch in _data.ReadBatches(graph.SamplesPerRun))
        {
            session.Accumulate(batch.Features, batch.Labels, batch.Count, parameters, totals);
        }
        return totals.MeanLoss;
    }
}
