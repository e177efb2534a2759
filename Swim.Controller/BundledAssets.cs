namespace Swim.Controller;

/// <summary>
/// Finds the files that ship in the repository (the MNIST digits, the trained LeNet-5) whether Swim runs
/// from the repository root, a subfolder, or its build output.
/// </summary>
public static class BundledAssets
{
    public const string MnistData = "data/mnist-10k.npz";

    public const string LeNetModel = "models/lenet5-mnist.onnx";

    /// <summary>The full path of a bundled file, or null when it cannot be found.</summary>
    public static string? Find(string relativePath)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    public static string Require(string relativePath) => Find(relativePath)
        ?? throw new SwimInputException(
            $"the bundled file '{relativePath}' was not found above '{Directory.GetCurrentDirectory()}' or '{AppContext.BaseDirectory}'; run Swim from a clone of the repository.");
}
