using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.ML.OnnxRuntime;
using Swim.Controller.Data;
using Swim.Controller.Onnx;

namespace Swim.Controller.Sensitivity;

/// <summary>SWIM's sensitivity pass: one forward and one backward pass over calibration data, streamed in batches.</summary>
public static class SensitivityAnalysis
{
    /// <param name="batchSize">
    /// Samples per ONNX Runtime run (the model's own when it fixes one); <see cref="AutoBatch"/> to choose it from the
    /// model's activation memory (<see cref="DerivativeGraphBuilder.ChooseBatch"/>).
    /// </param>
    /// <param name="seed">Seeds the Monte-Carlo labels of <see cref="CurvatureKind.GgnMonteCarlo"/>.</param>
    /// <param name="samplesDone">Called after each batch with the samples processed so far.</param>
    /// <param name="gradients">
    /// Whether to compute the gradients too; without them the pass costs about a third less, and the results carry
    /// the curvature alone (enough for swim, uswim and cell-level ranking, see <see cref="Selection.SelectionMethods.NeedsGradient"/>).
    /// </param>
    /// <param name="workers">
    /// Sessions run at once; 0 for one per core up to <see cref="MaxWorkers"/> (with the batch chosen, only as many as
    /// fit <see cref="SessionsBudgetBytes"/>). The result does not depend on it.
    /// </param>
    public static SensitivityResult Run(OnnxModel model, DataSet data, int batchSize, CurvatureKind curvature, int seed = 0, Action<int>? samplesDone = null, bool gradients = true, int workers = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (curvature == CurvatureKind.None)
        {
            throw new ArgumentException("a sensitivity pass needs a curvature.", nameof(curvature));
        }
        data = model.Arrange(data);
        long[] sampleShape = model.ResolveSampleShape(data.SampleShape);
        // A chosen batch leaves every session a batch of its own.
        int sessions = SessionsFor(workers);
        int autoLimit = Math.Min(DerivativeGraphBuilder.DefaultBatch, Math.Max(1, (data.Count + sessions - 1) / sessions));
        // The weights stay as they are for the whole pass: what the graph makes of them alone is made once.
        DerivativeGraph graph = ParameterWork.Split(DerivativeGraphBuilder.Build(model, sampleShape,
            batchSize == AutoBatch ? AutoBatch : Math.Min(batchSize, Math.Max(1, data.Count)), curvature, gradients, autoLimit));
        if (data.ClassCount > graph.Classes)
        {
            throw new SwimInputException($"model {model.Description} scores {graph.Classes} classes, but the data has labels up to {data.ClassCount - 1}; check that data and model belong together.");
        }
        if (workers == 0 && batchSize == AutoBatch)
        {
            // Neither given: as many sessions as the cores allow and the memory budget holds; the batch stays what
            // the model's activations chose, rather than shrinking to make room for more sessions.
            workers = SessionsWithinBudget(graph.SessionBytes(), sessions);
        }
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name), StringComparer.Ordinal);
        DerivativeTotals totals = Accumulate(graph, data, ParameterWork.Prepare(graph, parameters), seed, samplesDone, workers);
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
            results.Add(new ParameterSensitivity(p, gradients ? totals.Mean(totals.Gradient, p.Name) : null, curvatureMean, score, fullScale)
            {
                BatchMeanGradientSum = totals.BatchMeanGradientSums.TryGetValue(p.Name, out double[]? means) ? [.. means.Select(v => (float)v)] : null,
            });
        }
        return new SensitivityResult(results, curvature, totals.Samples, totals.MeanLoss, totals.Accuracy) { BatchSize = graph.SamplesPerRun };
    }

    /// <summary>
    /// A test's hook, run (in the test's own flow only) on a batch's sums as they go back to the pool: it may do
    /// to them what another session may do from then on (take, clear and refill them), which no read may race.
    /// </summary>
    internal static readonly AsyncLocal<Action<BatchSums>?> AfterHandBack = new();

    /// <summary>Choose the batch from the model's activation memory.</summary>
    public const int AutoBatch = DerivativeGraphBuilder.AutoBatch;

    /// <summary>Most sessions a pass runs at once: each holds a batch's activations, so memory grows with them.</summary>
    public const int MaxWorkers = 4;

    /// <summary>The sessions a pass runs at once: as many as asked, else one per core up to <see cref="MaxWorkers"/>.</summary>
    private static int SessionsFor(int workers) => workers > 0 ? workers : Math.Min(Environment.ProcessorCount, MaxWorkers);

    /// <summary>
    /// What the sessions of one pass may hold together when neither the batch nor the sessions are given. Two
    /// sessions of a CIFAR ResNet-18 at its chosen batch of 8 hold 2 x 292 MiB (measured); a third and fourth, on a
    /// machine of more cores, took the whole pass's peak from 1,123 MiB to 1,415 and 1,709 MiB.
    /// </summary>
    public const long SessionsBudgetBytes = 600L << 20;

    /// <summary>The sessions of <paramref name="sessionBytes"/> each that fit <see cref="SessionsBudgetBytes"/> together: 1 to <paramref name="wanted"/>.</summary>
    internal static int SessionsWithinBudget(long sessionBytes, int wanted) =>
        (int)Math.Clamp(SessionsBudgetBytes / Math.Max(1, sessionBytes), 1, Math.Max(1, wanted));

    /// <summary>
    /// Runs the derivative graph over every batch and sums the results. Sessions of one thread each, one per core
    /// up to <see cref="MaxWorkers"/>, take batches as they come (measured on LeNet-5: about 20 % faster than one
    /// session with two threads, whose kernels scale poorly). Each batch is summed on its own and the batch sums are
    /// added in batch order, with Monte-Carlo labels drawn from a stream fixed by the seed and the batch index; so a
    /// given seed gives the same result bit for bit under any timing, with any number of sessions, on any machine.
    /// The file is read once, on the calling thread, which hands the batches out through a short queue; so a bad
    /// file fails here with its own error, and the sessions stop.
    /// </summary>
    private static DerivativeTotals Accumulate(DerivativeGraph graph, DataSet data, IReadOnlyDictionary<string, float[]> parameters, int seed, Action<int>? samplesDone, int workers)
    {
        long batches = (data.Count + graph.SamplesPerRun - 1) / graph.SamplesPerRun;
        int sessions = (int)Math.Clamp(batches, 1, SessionsFor(workers));
        using var pipeline = new BatchPipeline(graph, parameters, seed, samplesDone, sessions);
        var tasks = new Task[sessions];
        for (int w = 0; w < sessions; w++)
        {
            tasks[w] = Task.Factory.StartNew(pipeline.RunSession, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        pipeline.Feed(data, tasks);
        Exception? failure = tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
        if (failure is not null)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
        return pipeline.Total;
    }

    /// <summary>The batches in flight between the reading thread and the sessions, and their sums added back in batch order.</summary>
    private sealed class BatchPipeline : IDisposable
    {
        private readonly DerivativeGraph _graph;
        private readonly IReadOnlyDictionary<string, float[]> _parameters;
        private readonly int _seed;
        private readonly Action<int>? _samplesDone;
        private readonly BlockingCollection<BatchSums> _scratch = new();
        private readonly BlockingCollection<(long Index, DataBatch Batch)> _queue;
        private readonly Dictionary<long, BatchSums> _finished = [];
        private readonly Lock _order = new();
        private readonly CancellationTokenSource _stop = new();
        private long _next;
        private int _done;

        public BatchPipeline(DerivativeGraph graph, IReadOnlyDictionary<string, float[]> parameters, int seed, Action<int>? samplesDone, int sessions)
        {
            _graph = graph;
            _parameters = parameters;
            _seed = seed;
            _samplesDone = samplesDone;
            _queue = new BlockingCollection<(long Index, DataBatch Batch)>(boundedCapacity: sessions);
            Total = new DerivativeTotals(graph.Parameters, curvature: true, gradients: graph.HasGradients);
            // One batch's sums per session, and one more so a session that finishes early can start its next batch
            // while an earlier batch is still running; not for a model of millions of weights, where a batch's sums
            // are a weight's worth of floats twice over (90 MB on a ResNet-18) and the wait is short beside its batch.
            long sumsBytes = graph.Parameters.Sum(p => p.ElementCount) * sizeof(float) * (graph.HasGradients ? 2 : 1);
            int pool = sumsBytes <= SmallSumsBytes ? sessions + 1 : sessions;
            for (int i = 0; i < pool; i++)
            {
                _scratch.Add(new BatchSums(graph.Parameters, curvature: true, gradients: graph.HasGradients));
            }
        }

        /// <summary>A batch's sums this small get a spare buffer in the pool.</summary>
        private const long SmallSumsBytes = 16L << 20;

        public DerivativeTotals Total { get; }

        /// <summary>One ONNX Runtime session taking batches until the queue is done or another session fails.</summary>
        public void RunSession()
        {
            try
            {
                using SessionOptions options = DerivativeSession.PassOptions();
                using var session = new DerivativeSession(_graph, options);
                while (true)
                {
                    // Sums first, batch second: a session holding a batch then always holds somewhere to sum it,
                    // so the earliest batch in flight can always finish and release the later ones.
                    BatchSums sums = _scratch.Take(_stop.Token);
                    if (!_queue.TryTake(out (long Index, DataBatch Batch) item, Timeout.Infinite, _stop.Token))
                    {
                        break;
                    }
                    (long index, DataBatch batch) = item;
                    session.Sum(batch.Features, batch.Labels, batch.Count, _parameters, sums,
                        _graph.Curvature == CurvatureKind.GgnMonteCarlo ? new Random(unchecked(_seed * 7919 + (int)index * 104729)) : null);
                    Finish(index, sums);
                }
            }
            catch
            {
                _stop.Cancel();
                throw;
            }
        }

        /// <summary>Adds every batch that is next in order, then hands its sums back to the pool.</summary>
        private void Finish(long index, BatchSums sums)
        {
            lock (_order)
            {
                _finished.Add(index, sums);
                while (_finished.Remove(_next, out BatchSums? inOrder))
                {
                    Total.Add(inOrder);
                    Total.AddBatchMeanGradients(inOrder);
                    // Read before the hand-back: once in the pool, another session may clear and refill it.
                    _done += inOrder.Samples;
                    // The test hook stands for the next owner, who may clear the sums the moment they are handed back; it
                    // runs just before, while no session can hold them, so it never wipes a batch another session is filling.
                    AfterHandBack.Value?.Invoke(inOrder);
                    _scratch.Add(inOrder);
                    _next++;
                    _samplesDone?.Invoke(_done);
                }
            }
        }

        /// <summary>Reads the file on the calling thread and hands its batches out; returns when every session has stopped.</summary>
        public void Feed(DataSet data, Task[] sessions)
        {
            try
            {
                long index = 0;
                foreach (DataBatch batch in data.ReadBatches(_graph.SamplesPerRun))
                {
                    _queue.Add((index++, batch), _stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // A session failed; its own exception is rethrown by the caller.
            }
            catch
            {
                _stop.Cancel();
                throw;
            }
            finally
            {
                _queue.CompleteAdding();
                Task.WhenAll(sessions).ContinueWith(_ => { }, TaskScheduler.Default).Wait();
            }
        }

        public void Dispose()
        {
            _scratch.Dispose();
            _queue.Dispose();
            _stop.Dispose();
        }
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
            if (p.BatchMeanGradientSum is not null)
            {
                npz.AddFloat32("gradbatchsum/" + p.Parameter.Name, p.Parameter.Dims, p.BatchMeanGradientSum);
            }
        }
        // What uswim-paper needs besides the means: the sums they came from and the batches of the pass.
        if (result.Samples > 0)
        {
            npz.AddInt64("samples", [], new long[] { result.Samples });
        }
        if (result.BatchSize > 0)
        {
            npz.AddInt64("batch_size", [], new long[] { result.BatchSize });
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
            results.Add(new ParameterSensitivity(p, npz.ReadFloat32(grad), curvature, score, fullScale)
            {
                BatchMeanGradientSum = npz.Arrays.ContainsKey("gradbatchsum/" + p.Name) ? npz.ReadFloat32("gradbatchsum/" + p.Name) : null,
            });
        }
        return new SensitivityResult(results, CurvatureKind.None, ReadCount(npz, "samples"), double.NaN, double.NaN)
        {
            Origin = Path.GetFullPath(path),
            BatchSize = ReadCount(npz, "batch_size"),
        };
    }

    /// <summary>A scalar count the file may hold (files written before it was added do not): 0 when absent.</summary>
    private static int ReadCount(NpzArchive npz, string name)
    {
        if (!npz.Arrays.ContainsKey(name))
        {
            return 0;
        }
        long value = npz.Source(name).ReadScalar();
        return value is > 0 and <= int.MaxValue ? (int)value
            : throw new SwimInputException($"array '{name}' of a sensitivity file should be one positive count (got {value}); the file is damaged or was not written by 'swim sensitivity'.");
    }
}
