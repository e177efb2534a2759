using System.Globalization;
using Swim.Controller.Data;
using TorchSharp;

namespace Swim.Tools.TorchCheck;

/// <summary>
/// Seeded standard-normal samples with uniform random labels, as an NPZ (x float32, y int64) that Swim reads:
/// test data for a model whose own data is not at hand. The same arguments give the same file.
/// </summary>
internal static class RandomData
{
    public static int Write(string[] args)
    {
        if (args.Length < 5)
        {
            Console.Error.WriteLine("usage: torch-check random-data OUT.npz SAMPLES CLASSES SEED DIM [DIM ...]");
            return 2;
        }
        int samples = int.Parse(args[1], CultureInfo.InvariantCulture);
        int classes = int.Parse(args[2], CultureInfo.InvariantCulture);
        long seed = long.Parse(args[3], CultureInfo.InvariantCulture);
        long[] dims = [.. args[4..].Select(a => long.Parse(a, CultureInfo.InvariantCulture))];
        var generator = new torch.Generator((ulong)seed);
        float[] x = torch.randn([samples, .. dims], generator: generator).data<float>().ToArray();
        long[] y = torch.randint(classes, [samples], generator: generator).data<long>().ToArray();
        new NpzWriter()
            .AddFloat32("x", [samples, .. dims], x)
            .AddInt64("y", [samples], y)
            .Save(args[0]);
        return 0;
    }
}
