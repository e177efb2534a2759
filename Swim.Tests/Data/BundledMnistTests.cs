using System.Security.Cryptography;
using Swim.Controller;
using Swim.Controller.Data;

namespace Swim.Tests.Data;

public sealed class BundledMnistTests
{
    private static readonly string s_path = BundledAssets.Require(BundledAssets.MnistData);

    [Fact]
    public void Holds_ten_thousand_uint8_digits_split_8000_2000()
    {
        DataSet train = DataSet.Open(s_path, DataSplit.Train, splitRequired: true);
        DataSet test = DataSet.Open(s_path, DataSplit.Test, splitRequired: true);

        Assert.Equal(8000, train.Count);
        Assert.Equal(2000, test.Count);
        Assert.Equal([1, 28, 28], test.SampleShape);
        Assert.Equal(10, train.ClassCount);
        Assert.All(test.Labels, l => Assert.InRange(l, 0, 9));
        // Both splits mix all classes: no class is under 5 % of either split.
        Assert.All(Enumerable.Range(0, 10), c => Assert.True(test.Labels.Count(l => l == c) > 100));
        float[] pixels = test.Take(50).ReadBatches(50).Single().Features;
        Assert.All(pixels, p => Assert.InRange(p, 0f, 1f));
        // Pixels are whole grey levels: uint8 scaled by 1/255.
        Assert.All(pixels, p => Assert.Equal(Math.Round(p * 255), p * 255, 3));
    }

    [Fact]
    public void Is_the_file_tools_make_mnist_sh_produces()
    {
        // data/README.md records this digest; a changed file must come with a changed conversion script.
        string digest = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(s_path)));
        Assert.Equal("641f4c3efcb799906027e618cc6a83c050f47f2c49190795af09631e041049f7", digest);
    }
}
