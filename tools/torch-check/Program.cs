// Checks a `swim sensitivity` file against PyTorch (LibTorch 2.10 through TorchSharp) running the same ONNX
// graph: grad/ against PyTorch's autograd of its own mean cross-entropy, hess/ against an OBD diagonal built
// from PyTorch's vector-Jacobian products (ObdReference). Prints, per parameter, the largest absolute difference
// over the largest magnitude (the pass criterion, 1e-3) and the root-sum-square ratio; exits 1 above tolerance.
// Usage: torch-check MODEL.onnx DATA.npz SENS.npz SAMPLES [--float64]
//        torch-check random-data OUT.npz SAMPLES CLASSES SEED DIM [DIM ...]
//        torch-check op-nets DIR [SAMPLES]
using System.Diagnostics;
using System.Globalization;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Tools.TorchCheck;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length > 0 && args[0] == "random-data")
{
    return RandomData.Write(args[1..]);
}
if (args.Length > 0 && args[0] == "op-nets")
{
    return OpNets.Write(args[1..]);
}
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: torch-check MODEL.onnx DATA.npz SENS.npz SAMPLES [--float64]");
    return 2;
}
string modelPath = args[0], dataPath = args[1], sensitivityPath = args[2];
int samples = int.Parse(args[3], CultureInfo.InvariantCulture);
bool float64 = args.Contains("--float64");
const double Tolerance = 1e-3;
var clock = Stopwatch.StartNew();

var model = OnnxModel.Load(modelPath);
// The first SAMPLES of the training split, as `swim sensitivity --samples` takes them.
DataSet data = DataSet.Open(dataPath, DataSplit.Train).Take(samples);
DataBatch batch = data.ReadBatches(samples).First();
long[] sampleShape = model.ResolveSampleShape(data.SampleShape);
ScalarType dtype = float64 ? ScalarType.Float64 : ScalarType.Float32;
Tensor input = torch.tensor(batch.Features, [batch.Count, .. sampleShape]).to_type(dtype);
Tensor labels = torch.tensor(batch.Labels);

NpzArchive swim = NpzArchive.Open(sensitivityPath);
string[] names = [.. swim.Arrays.Keys.Where(k => k.StartsWith("grad/", StringComparison.Ordinal)).Select(k => k[5..])];
Reference reference = Reference.Compute(model, dtype, input, labels, names);
// With --float64, PyTorch's own float32 run against its float64 run shows how far two correct float32
// computations of this model drift apart: the scale against which Swim's differences are read.
Reference? float32 = float64 ? Reference.Compute(model, ScalarType.Float32, input.to_type(ScalarType.Float32), labels, names) : null;

Console.WriteLine($"PyTorch {torch.__version__} ({(float64 ? "float64" : "float32")}), {batch.Count} samples, loss {reference.Loss:F6}");
Console.WriteLine("parameter                  elements   grad: max rel.   rms rel.   obd: max rel.   rms rel."
    + (float32 is null ? "" : "   PyTorch f32 vs f64: grad   obd"));
double worst = 0;
foreach (string name in names)
{
    (double g, double gRms) = Compare(swim.ReadFloat32("grad/" + name), reference.Gradient[name]);
    (double o, double oRms) = reference.Obd.TryGetValue(name, out Tensor? obd)
        ? Compare(swim.ReadFloat32("hess/" + name), obd)
        : (double.PositiveInfinity, double.PositiveInfinity);
    worst = Math.Max(worst, Math.Max(g, o));
    string line = string.Create(CultureInfo.InvariantCulture,
        $"{name,-24} {reference.Gradient[name].numel(),10}   {g,14:E2}   {gRms,8:E2}   {o,13:E2}   {oRms,8:E2}");
    if (float32 is not null)
    {
        double g32 = Compare(Floats(float32.Gradient[name]), reference.Gradient[name]).Max;
        double o32 = float32.Obd.TryGetValue(name, out Tensor? obd32) && obd is not null ? Compare(Floats(obd32), obd).Max : double.NaN;
        line += string.Create(CultureInfo.InvariantCulture, $"   {g32,24:E2}   {o32,8:E2}");
    }
    Console.WriteLine(line);
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"worst relative error {worst:E2} (tolerance {Tolerance:E0}); {clock.Elapsed.TotalSeconds:F1} s"));
return worst <= Tolerance ? 0 : 1;

static float[] Floats(Tensor t) => t.detach().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

static (double Max, double Rms) Compare(float[] ours, Tensor theirs)
{
    double[] reference = theirs.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
    if (reference.Length != ours.Length)
    {
        return (double.PositiveInfinity, double.PositiveInfinity);
    }
    double diff = 0, scale = 0, diff2 = 0, scale2 = 0;
    for (int i = 0; i < ours.Length; i++)
    {
        double d = Math.Abs(ours[i] - reference[i]);
        diff = Math.Max(diff, d);
        scale = Math.Max(scale, Math.Abs(reference[i]));
        diff2 += d * d;
        scale2 += reference[i] * reference[i];
    }
    return scale == 0 ? (diff, Math.Sqrt(diff2)) : (diff / scale, Math.Sqrt(diff2 / scale2));
}
