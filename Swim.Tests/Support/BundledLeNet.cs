using System.Collections.Concurrent;
using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Tests.Support;

/// <summary>
/// The bundled LeNet-5 and OBD sensitivity passes over its first training digits, loaded once for every test that
/// programs or simulates it. Read-only: sessions, simulations and derivative graphs work on clones.
/// </summary>
public static class BundledLeNet
{
    private static readonly ConcurrentDictionary<(int Samples, int Batch), Lazy<SensitivityResult>> s_passes = new();

    public static OnnxModel Model { get; } = OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));

    /// <summary>The OBD pass over the first <paramref name="samples"/> training digits in runs of <paramref name="batch"/>.</summary>
    public static SensitivityResult Sensitivity(int samples, int batch) =>
        s_passes.GetOrAdd((samples, batch), key => new Lazy<SensitivityResult>(() =>
            SensitivityAnalysis.Run(Model, DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Train).Take(key.Samples), key.Batch, CurvatureKind.Obd))).Value;
}
