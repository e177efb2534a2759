using System.Diagnostics;
using System.Globalization;
using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Benchmarks;

/// <summary>
/// Swim's sensitivity pass beside PyTorch, in one run, on LeNet-5 (the 10,000 bundled digits) and the CIFAR-sized
/// ResNet-18 (256 random images): each pass is a fresh process, so its wall time is what a user waits and its peak
/// resident memory (VmHWM, polled) is its own. Rounds run the passes in rotated order, and the ratio to PyTorch's
/// forward and backward is taken within each round (this VM's speed drifts by tens of percent within a minute).
/// Swim's figure is the whole command (start-up, model load, graph build, every batch, the file written);
/// PyTorch's is the script's timed region after a warm-up round (tools/sensitivity-peer/peer.py), which leaves out
/// Python's start-up and the import of torch: the comparison is tilted towards PyTorch.
/// </summary>
public static class SensitivityPeer
{
    private sealed record Pass(string Network, string Name, bool IsPeer, Func<string[]> Command);

    private sealed record Measurement(double Seconds, double ProcessSeconds, long PeakKb);

    public static int Run(TextWriter output, int rounds)
    {
        string directory = Directory.CreateTempSubdirectory("swim-peer-").FullName;
        try
        {
            string resnet = Path.Combine(directory, "resnet18.onnx");
            string images = Path.Combine(directory, "images.npz");
            CifarResNet18.Write(TextWriter.Null, [resnet, images, "256", "1"]);
            string lenet = BundledAssets.Require(BundledAssets.LeNetModel);
            string digits = BundledAssets.Require(BundledAssets.MnistData);
            string? python = FindPython(output);
            string peer = BundledAssets.Require("tools/sensitivity-peer/peer.py");
            var passes = new List<Pass>();
            var work = new Dictionary<string, (ProductWork Work, int Samples)>(StringComparer.Ordinal);
            foreach ((string network, string model, string data, string[] peerData) in new[]
            {
                ("LeNet-5, 10,000 digits", lenet, digits, new[] { "lenet5", digits }),
                ("ResNet-18 (CIFAR), 256 images", resnet, images, new[] { "resnet18", "256" }),
            })
            {
                DataSet samples = DataSet.Open(data);
                work[network] = (ProductWork.Of(OnnxModel.Load(model), samples.SampleShape), samples.Count);
                string output1 = Path.Combine(directory, "sensitivity.npz");
                passes.Add(new(network, "swim sensitivity (gradients and OBD)", false, () => Swim("sensitivity", model, "--data", data, "--out", output1)));
                passes.Add(new(network, "OBD without gradients (swim program's pass)", false, () => Benchmarks("sensitivity-pass", model, data, "no-gradients")));
                if (python is not null)
                {
                    string[] tail = network.StartsWith("LeNet", StringComparison.Ordinal) ? [peerData[1], "256"] : [peerData[1], "64"];
                    passes.Add(new(network, "PyTorch forward and backward", true, () => [python, peer, peerData[0], "backward", .. tail]));
                    passes.Add(new(network, "PyTorch forward", true, () => [python, peer, peerData[0], "forward", .. tail]));
                }
            }
            var results = passes.ToDictionary(p => p, _ => new List<Measurement>());
            for (int round = 0; round < rounds; round++)
            {
                for (int k = 0; k < passes.Count; k++)
                {
                    Pass pass = passes[(round + k) % passes.Count];
                    results[pass].Add(Measure(pass));
                }
            }
            Report(output, rounds, passes, results, work, ProductWork.FmaPeakGflops());
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Report(TextWriter output, int rounds, List<Pass> passes, Dictionary<Pass, List<Measurement>> results,
        Dictionary<string, (ProductWork Work, int Samples)> work, double? peakGflops)
    {
        output.WriteLine($"{rounds} rounds, passes in rotated order, cores: {Environment.ProcessorCount}; median (quartiles) over rounds");
        foreach (IGrouping<string, Pass> network in passes.GroupBy(p => p.Network))
        {
            output.WriteLine();
            output.WriteLine(network.Key);
            output.WriteLine("pass                                            wall s                 peak MB   / PyTorch fwd+bwd (same round)");
            Pass? yardstick = network.FirstOrDefault(p => p.Name == "PyTorch forward and backward");
            foreach (Pass pass in network)
            {
                double[] seconds = [.. results[pass].Select(m => m.Seconds)];
                string ratio = yardstick is null ? "(no PyTorch)"
                    : Spread([.. seconds.Zip(results[yardstick], (s, y) => s / y.Seconds)], "F2") + "x";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{pass.Name,-48}{Spread(seconds, "F2"),-23}{results[pass].Max(m => m.PeakKb) / 1024.0,8:F0}   {ratio}"));
            }
            ReportProducts(output, work[network.Key], yardstick is null ? null : SensitivityRatio.Median([.. results[yardstick].Select(m => m.Seconds)]), peakGflops);
        }
        output.WriteLine();
        output.WriteLine("Swim: the whole process. PyTorch: its timed region after a warm-up (its process, with Python's start-up, took " +
            string.Join(", ", passes.Where(p => p.IsPeer).Select(p => string.Create(CultureInfo.InvariantCulture, $"{SensitivityRatio.Median([.. results[p].Select(m => m.ProcessSeconds)]):F1} s")))
            + ").");
    }

    /// <summary>
    /// The passes' matrix products beside PyTorch's: the ratio each pass would have at equal kernel speed and no
    /// other work, and what the products alone would take at this machine's multiply-add peak.
    /// </summary>
    private static void ReportProducts(TextWriter output, (ProductWork Work, int Samples) network, double? peerSeconds, double? peakGflops)
    {
        ProductWork w = network.Work;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"matrix products, multiply-adds a sample (the model's probed shapes): forward {w.Forward / 1e6:N2} M; PyTorch's forward and backward {w.ForwardAndBackward / 1e6:N2} M; Swim's pass {w.SwimPass(true) / 1e6:N2} M with gradients, {w.SwimPass(false) / 1e6:N2} M without"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"so at equal kernel speed and no other work, the passes would be {w.SwimPass(true) / w.ForwardAndBackward:F2}x and {w.SwimPass(false) / w.ForwardAndBackward:F2}x PyTorch's forward and backward"));
        double flops = 2 * network.Samples;
        if (peerSeconds is { } seconds && peakGflops is { } peak)
        {
            double peerRate = flops * w.ForwardAndBackward / seconds / 1e9;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"PyTorch ran its products at {peerRate:N1} GFLOP/s, {peerRate / peak:P0} of this machine's multiply-add peak ({peak:N0} GFLOP/s on {Environment.ProcessorCount} cores, measured); at that peak Swim's products alone take {flops * w.SwimPass(true) / peak / 1e9:F2} s with gradients, {flops * w.SwimPass(false) / peak / 1e9:F2} s without"));
        }
    }

    private static string Spread(double[] values, string format)
    {
        double[] sorted = [.. values.Order()];
        return string.Create(CultureInfo.InvariantCulture,
            $"{SensitivityRatio.Quantile(sorted, 0.5).ToString(format, CultureInfo.InvariantCulture)} ({SensitivityRatio.Quantile(sorted, 0.25).ToString(format, CultureInfo.InvariantCulture)}-{SensitivityRatio.Quantile(sorted, 0.75).ToString(format, CultureInfo.InvariantCulture)})");
    }

    /// <summary>Runs one pass as its own process; a peer's time is the one it prints, Swim's the process's.</summary>
    private static Measurement Measure(Pass pass)
    {
        string[] command = pass.Command();
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }
        long begun = Stopwatch.GetTimestamp();
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(20))
        {
            peak = Math.Max(peak, PeakResidentKb(process.Id));
        }
        double wall = Stopwatch.GetElapsedTime(begun).TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{string.Join(' ', command)}' exited {process.ExitCode}: {stderr.Result}");
        }
        if (!pass.IsPeer)
        {
            return new Measurement(wall, wall, peak);
        }
        // peer.py prints: PHASE SECONDS PEAK_RSS_KB THREADS
        string[] fields = stdout.Result.Trim().Split(' ');
        return new Measurement(double.Parse(fields[1], CultureInfo.InvariantCulture), wall, Math.Max(peak, long.Parse(fields[2], CultureInfo.InvariantCulture)));
    }

    /// <summary>A process's peak resident set so far (Linux's VmHWM), 0 where /proc is not there.</summary>
    private static long PeakResidentKb(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process ended between the poll and the read.
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }

    private static string[] Swim(params string[] arguments) => ["dotnet", Path.Combine(AppContext.BaseDirectory, "swim.dll"), .. arguments];

    private static string[] Benchmarks(params string[] arguments) => ["dotnet", Path.Combine(AppContext.BaseDirectory, "Swim.Benchmarks.dll"), .. arguments];

    /// <summary>A Python that imports torch: $SWIM_PYTHON, python3 on the path, or Debian's /usr/bin/python3.</summary>
    private static string? FindPython(TextWriter output)
    {
        string?[] candidates = [Environment.GetEnvironmentVariable("SWIM_PYTHON"), "python3", "/usr/bin/python3"];
        foreach (string? candidate in candidates.Where(c => !string.IsNullOrEmpty(c)))
        {
            try
            {
                using Process? check = Process.Start(new ProcessStartInfo(candidate!, ["-c", "import torch"]) { RedirectStandardError = true, UseShellExecute = false });
                if (check is not null && check.WaitForExit(120_000) && check.ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }
        output.WriteLine("PyTorch not measured: no Python here imports torch (set SWIM_PYTHON, or on Debian: apt-get install python3-torch python3-numpy).");
        return null;
    }

    /// <summary>
    /// <c>sensitivity-pass MODEL DATA [no-gradients]</c>: one sensitivity pass in this process at the default batch, as
    /// <c>swim program</c> runs it (without gradients), for <see cref="SensitivityPeer"/> to time as a process.
    /// </summary>
    public static int RunPass(string[] args)
    {
        OnnxModel model = OnnxModel.Load(args[0]);
        DataSet data = DataSet.Open(args[1]);
        int workers = Environment.GetEnvironmentVariable("SWIM_PASS_WORKERS") is { } w ? int.Parse(w, CultureInfo.InvariantCulture) : 0;
        var clock = Stopwatch.StartNew();
        int batches = 0;
        SensitivityResult result = SensitivityAnalysis.Run(model, data, SensitivityAnalysis.AutoBatch, CurvatureKind.Obd, gradients: !args.Contains("no-gradients"), workers: workers,
            samplesDone: n => { if (batches++ < 3 || n == data.Count) Console.Error.WriteLine($"{clock.Elapsed.TotalSeconds:F2} s: {n} samples"); });
        Console.Error.WriteLine($"pass {clock.Elapsed.TotalSeconds:F2} s, batch {result.BatchSize}");
        return 0;
    }
}
