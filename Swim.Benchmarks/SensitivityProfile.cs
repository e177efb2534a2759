using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;

namespace Swim.Benchmarks;

/// <summary>
/// Where a derivative graph spends its time: one batch run once to warm up and once under ONNX Runtime's profiler
/// (one thread, as the sensitivity pass runs each session), node times summed by operator and by the node's
/// output name, largest first. The way to choose a rule's formulation by measurement.
/// </summary>
public static class SensitivityProfile
{
    public static int Run(TextWriter output, string[] args)
    {
        if (args.Length < 2)
        {
            output.WriteLine("usage: sensitivity-profile MODEL.onnx DATA.npz [BATCH (32)] [no-gradients] [unsplit] [TOP (25)]");
            return 2;
        }
        int batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
        bool gradients = !args.Contains("no-gradients");
        int top = args.Length > 3 && int.TryParse(args[^1], CultureInfo.InvariantCulture, out int t) ? t : 25;
        OnnxModel model = OnnxModel.Load(args[0]);
        DataSet data = model.Arrange(DataSet.Open(args[1]).Take(batch));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, model.ResolveSampleShape(data.SampleShape), batch, CurvatureKind.Obd, gradients);
        // As the pass runs it, unless asked for the graph that redoes its parameter-only work every batch.
        if (!args.Contains("unsplit"))
        {
            graph = ParameterWork.Split(graph);
        }
        IReadOnlyDictionary<string, float[]> parameters = ParameterWork.Prepare(graph, graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal));
        DataBatch first = data.ReadBatches(batch).First();
        string prefix = Path.Combine(Path.GetTempPath(), $"swim-profile-{Environment.ProcessId}");
        output.WriteLine($"graph built: {clock.Elapsed.TotalMilliseconds:N0} ms ({graph.Model.Graph.Node.Count:N0} nodes)");
        clock.Restart();
        using (SessionOptions plain = DerivativeSession.PassOptions())
        using (var warm = new DerivativeSession(graph, plain))
        {
            output.WriteLine($"session created: {clock.Elapsed.TotalMilliseconds:N0} ms");
            BatchSums[] sums = [warm.NewSums(), warm.NewSums()];
            for (int run = 1; run <= 5; run++)
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                warm.Sum(first.Features, first.Labels, first.Count, parameters, sums[run % 2]);
                output.WriteLine($"one batch of {first.Count}, unprofiled, run {run}: {started.Elapsed.TotalMilliseconds:N0} ms");
            }
        }
        string file;
        using (var options = new SessionOptions { IntraOpNumThreads = 1, EnableMemoryPattern = false, ProfileOutputPathPrefix = prefix, EnableProfiling = true })
        using (var session = new DerivativeSession(graph, options))
        {
            BatchSums sums = session.NewSums();
            session.Sum(first.Features, first.Labels, first.Count, parameters, sums);
            session.Sum(first.Features, first.Labels, first.Count, parameters, sums);
        }
        // ONNX Runtime writes the profile when the session closes (the prefix must be set before profiling is enabled).
        file = Directory.GetFiles(Path.GetTempPath(), $"swim-profile-{Environment.ProcessId}*.json").Single();
        Summarise(output, file, top);
        File.Delete(file);
        return 0;
    }

    private static void Summarise(TextWriter output, string file, int top)
    {
        var byOp = new Dictionary<string, double>(StringComparer.Ordinal);
        var byNode = new Dictionary<string, (string Op, double Us)>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
        // Events of the second run only: the first of a profiled session still builds kernels' caches.
        var runs = doc.RootElement.EnumerateArray().Where(e => e.GetProperty("cat").GetString() == "Session" && e.GetProperty("name").GetString() == "model_run").ToArray();
        long from = runs.Length > 1 ? runs[^1].GetProperty("ts").GetInt64() : 0;
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)
                || e.GetProperty("ts").GetInt64() < from)
            {
                continue;
            }
            string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
            string node = e.GetProperty("name").GetString()![..^"_kernel_time".Length];
            double us = e.GetProperty("dur").GetDouble();
            byOp[op] = byOp.GetValueOrDefault(op) + us;
            byNode[node] = (op, byNode.GetValueOrDefault(node).Us + us);
        }
        double total = byOp.Values.Sum();
        output.WriteLine($"profiled run: {total / 1000:N0} ms in kernels");
        foreach ((string op, double us) in byOp.OrderByDescending(kv => kv.Value))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-22}{us / 1000,10:N1} ms {100 * us / total,6:F1} %"));
        }
        output.WriteLine($"top {top} nodes:");
        foreach ((string node, (string op, double us)) in byNode.OrderByDescending(kv => kv.Value.Us).Take(top))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-16}{us / 1000,10:N1} ms  {node}"));
        }
    }
}
