using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Data;
using Swim.Controller.Onnx;

namespace Swim.Controller.Sensitivity;

/// <summary>SWIM's sensitivity pass: one forward and one backward pass over calibration data, streamed in batches.</summary>
public static class SensitivityAnalysis
{
    /// <param name="batchSize">Samples per ONNX Runtime run (the model's own when it fixes one).</param>
    /// <param name="seed">Seeds the Monte-Carlo labels of <see cref="CurvatureKind.GgnMonteCarlo"/>.</param>
    /// <param name="samplesDone">Called after each batch with the samples processed so far.</param>
    /// <param name="gradients">
    /// Whether to compute the gradients too; without them the pass costs about a third less, and the results carry
    /// the curvature alone (enough for swim, uswim and cell-level ranking, see <see cref="Selection.SelectionMethods.NeedsGradient"/>).
    /// </param>
    public static SensitivityResult Run(OnnxModel model, DataSet data, int batchSize, CurvatureKind curvature, int seed = 0, Action<int>? samplesDone = null, bool gradients = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (curvature == CurvatureKind.None)
        {
            throw new ArgumentException("a sensitivity pass needs a curvature.", nameof(curvature));
        }
        data = model.Arrange(data);
        long[] sampleShape = model.ResolveSampleShape(data.SampleShape);
        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, sampleShape, Math.Min(batchSize, Math.Max(1, data.Count)), curvature, gradients);
        if (data.ClassCount > graph.Classes)
        {
            throw new SwimInputException($"model {model.Description} scores {graph.Classes} classes, but the data has labels up to {data.ClassCount - 1}; check that data and model belong together.");
        }
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        DerivativeTotals totals = Accumulate(graph, data, parameters, seed, samplesDone);
        if (totals.Samples == 0)
        {
            throw new SwimInputException($"{data.Description} has no samples to calibrate on.");
        }
        var results = new List<ParameterSensitivity>();
        foreach (TrainableParameter p in graph.Parameters)
        {
            float fullScale = parameters[p.LayerWeight].Max(MathF.Abs);
            float[] curvatureMean = totals.Mean(totals.Curvature, p.Name);
            float[]? score = p.IsMappedWeight ? curvatureMean.Select(h => h * fullScale * fullScale).ToArray() : null;
            results.Add(new ParameterSensitivity(p, gradients ? totals.Mean(totals.Gradient, p.Name) : null, curvatureMean, score, fullScale));
        }
        return new SensitivityResult(results, curvature, totals.Samples, totals.MeanLoss, totals.Accuracy);
    }

    /// <summary>
    /// Runs the derivative graph over every batch and sums the results. Two sessions of one thread each take
    /// alternate batches (measured on LeNet-5: about 20 % faster than one session with two threads, whose kernels
    /// scale poorly). The partition count is fixed, not taken from the core count, and each partition sums its own
    /// batches in order, so a given seed gives the same result on any machine and under any timing. It differs from
    /// a pass in one session in the last float bits only (3e-7 relative measured on LeNet-5), because ONNX Runtime's
    /// kernels split their sums by thread count. The file is read once, on the calling thread, which hands batch i
    /// to partition i mod 2 through a short queue; so a bad file fails here with its own error, and the other
    /// partition stops.
    /// </summary>
    private static DerivativeTotals Accumulate(DerivativeGraph graph, DataSet data, Dictionary<string, float[]> parameters, int seed, Action<int>? samplesDone)
    {
        const int Partitions = 2;
        long batches = (data.Count + graph.SamplesPerRun - 1) / graph.SamplesPerRun;
        int parts = (int)Math.Clamp(batches, 1, Partitions);
        var partials = new DerivativeTotals[parts];
        int done = 0;
        var progress = new object();
        using var stop = new CancellationTokenSource();
        var queues = new BlockingCollection<DataBatch>[parts];
        for (int part = 0; part < parts; part++)
        {
            queues[part] = new BlockingCollection<DataBatch>(boundedCapacity: 2);
        }
        var workers = new Task[parts];
        for (int part = 0; part < parts; part++)
        {
            int mine = part;
            workers[part] = Task.Factory.StartNew(() =>
            {
                try
                {
                    using var options = new SessionOptions { IntraOpNumThreads = parts == 1 ? 0 : 1 };
                    using var session = new DerivativeSession(graph, options);
                    var totals = new DerivativeTotals(graph.Parameters, curvature: true, gradients: graph.HasGradients);
                    // Each partition draws its own Monte-Carlo labels (ggn-mc), from a stream fixed by the seed.
                    var random = new Random(unchecked(seed * 7919 + mine));
                    foreach (DataBatch batch in queues[mine].GetConsumingEnumerable(stop.Token))
                    {
                        session.Accumulate(batch.Features, batch.Labels, batch.Count, parameters, totals, random);
                        lock (progress)
                        {
                            done += batch.Count;
                            samplesDone?.Invoke(done);
                        }
                    }
                    partials[mine] = totals;
                }
                catch
                {
                    stop.Cancel();
                    throw;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        try
        {
            int index = 0;
            foreach (DataBatch batch in data.ReadBatches(graph.SamplesPerRun))
            {
                queues[index++ % parts].Add(batch, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // A partition failed; its own exception is rethrown below.
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        finally
        {
            foreach (BlockingCollection<DataBatch> queue in queues)
            {
                queue.CompleteAdding();
            }
            Task.WhenAll(workers).ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            foreach (BlockingCollection<DataBatch> queue in queues)
            {
                queue.Dispose();
            }
        }
        Exception? failure = workers.Select(w => w.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
        if (failure is not null)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
        DerivativeTotals sum = partials[0];
        for (int part = 1; part < partials.Length; part++)
        {
            sum.Add(partials[part]);
        }
        return sum;
    }

    /// <summary>Writes grad/NAME, hess/NAME and (mapped weights) score/NAME as float32 arrays in the weights' shapes.</summary>
    public static void Save(SensitivityResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        var npz = new NpzWriter();
        foreach (ParameterSensitivity p in result.Parameters)
        {
            float[] gradient = p.Gradient ?? throw new ArgumentException("these results were computed without gradients; a sensitivity file holds them (run the pass with gradients).", nameof(result));
            npz.AddFloat32("grad/" + p.Parameter.Name, p.Parameter.Dims, gradient);
            npz.AddFloat32("hess/" + p.Parameter.Name, p.Parameter.Dims, p.Curvature);
            if (p.Score is not null)
            {
                npz.AddFloat32("score/" + p.Parameter.Name, p.Parameter.Dims, p.Score);
            }
        }
        npz.Save(path);
    }

    /// <summary>
    /// Reads what <see cref="Save"/> (or <c>swim sensitivity</c>) wrote, for <paramref name="model"/>: every mapped
    /// weight's grad/ and hess/ in the weight's shape (biases when present). The score is recomputed from hess and
    /// the model's own max|W|, so a file cannot carry a score that disagrees with the model.
    /// </summary>
    public static SensitivityResult Load(string path, OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path))
        {
            throw new SwimInputException($"sensitivity file '{path}' does not exist; write one with 'swim sensitivity MODEL.onnx --data CALIB.npz --out {path}'.");
        }
        NpzArchive npz = NpzArchive.Open(path);
        var results = new List<ParameterSensitivity>();
        foreach (TrainableParameter p in TrainableParameter.Find(model))
        {
            string grad = "grad/" + p.Name, hess = "hess/" + p.Name;
            if (!npz.Arrays.TryGetValue(grad, out NpyHeader? gradHeader) || !npz.Arrays.TryGetValue(hess, out NpyHeader? hessHeader))
            {
                if (!p.IsMappedWeight)
                {
                    continue;
                }
                throw new SwimInputException($"'{path}' has no {grad} and {hess}: it was computed for another model than {model.Description}. Run 'swim sensitivity' on this model.");
            }
            foreach (NpyHeader header in new[] { gradHeader, hessHeader })
            {
                if (!header.Shape.SequenceEqual(p.Dims))
                {
                    throw new SwimInputException($"'{path}': the arrays for '{p.Name}' have shape {header.ShapeText}, the model's weight [{string.Join(", ", p.Dims)}]: the file belongs to another model. Run 'swim sensitivity' on this model.");
                }
            }
            float fullScale = model.ReadWeights(p.LayerWeight).Max(MathF.Abs);
            float[] curvature = npz.ReadFloat32(hess);
            float[]? score = p.IsMappedWeight ? [.. curvature.Select(h => h * fullScale * fullScale)] : null;
            results.Add(new ParameterSensitivity(p, npz.ReadFloat32(grad), curvature, score, fullScale));
        }
        return new SensitivityResult(results, CurvatureKind.None, 0, double.NaN, double.NaN) { Origin = Path.GetFullPath(path) };
    }
}
