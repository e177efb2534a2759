using System.Diagnostics;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>
/// Takes a model onto a board: IDENTIFY, map, open-loop PROGRAM of every cell, write-verify of the selected
/// cells, READ back of every cell, and the weights rebuilt from what was read. Device time, pulses and reads
/// come from the board's own STATUS counters.
/// </summary>
public static class ProgrammingSession
{
    /// <param name="cellVariance">The device's programming variance per cell at its target (uS^2), for uswim and cell-level.</param>
    /// <param name="progress">Called with a phase name and the cells done in it out of its total.</param>
    public static async Task<ProgrammingResult> RunAsync(BoardClient client, OnnxModel model, SensitivityResult? sensitivity, ProgrammingOptions options,
        Func<CellPlan, Func<int, double>>? cellVariance = null, Action<string, int, int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        BoardInfo board = client.Board ?? await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
        CrossbarMapping mapping = CrossbarMapping.Build(model, board, options.Mapping);
        CellPlan plan = CellPlan.Build(mapping, model);
        BoardStatus before = await client.StatusAsync(cancellationToken).ConfigureAwait(false);

        // 1. Every cell, open loop.
        await InChunks(plan.CellCount, options.ChunkCells, "program", progress, async (start, count) =>
        {
            var targets = new ProgramTarget[count];
            for (int i = 0; i < count; i++)
            {
                targets[i] = new ProgramTarget(plan.Cells[start + i], TargetKind.Level, plan.Levels[start + i]);
            }
            StatusCode[] statuses = await client.ProgramAsync(targets, cancellationToken).ConfigureAwait(false);
            int refused = statuses.Count(s => s != StatusCode.Ok);
            if (refused > 0)
            {
                throw new IOException($"the board refused {refused} of {count} open-loop writes ({statuses.First(s => s != StatusCode.Ok)}); the mapping and the board disagree.");
            }
        }).ConfigureAwait(false);

        // 2. Which cells to verify (posterior first reads every cell once: cheap next to verifying).
        float[]? measured = null;
        if (SelectionMethods.NeedsMeasuredCells(options.Method))
        {
            measured = await ReadAllAsync(client, plan, options, "measure", progress, cancellationToken).ConfigureAwait(false);
        }
        Func<int, double>? variance = cellVariance?.Invoke(plan);
        bool[] selected = CellSelector.Select(options.Method, options.Fraction, plan, sensitivity, variance, measured, options.Seed);
        int[] verify = Enumerable.Range(0, plan.CellCount).Where(c => selected[c]).ToArray();

        // 3. Write-verify of the selected cells, on the board's own loop.
        float tolerance = (float)(options.ToleranceFraction * (mapping.ConductanceMax - mapping.ConductanceMin));
        int converged = 0, didNotConverge = 0, stuck = 0;
        await InChunks(verify.Length, options.ChunkCells, "verify", progress, async (start, count) =>
        {
            var targets = new VerifyTarget[count];
            for (int i = 0; i < count; i++)
            {
                int cell = verify[start + i];
                targets[i] = new VerifyTarget(plan.Cells[cell], plan.TargetConductance(cell), tolerance, options.MaxIterations);
            }
            foreach (VerifyOutcome outcome in await client.ProgramVerifyAsync(targets, cancellationToken).ConfigureAwait(false))
            {
                switch (outcome.Status)
                {
                    case StatusCode.Ok: converged++; break;
                    case StatusCode.CellStuck: stuck++; break;
                    default: didNotConverge++; break;
                }
            }
        }).ConfigureAwait(false);

        // 4. Read every cell back and rebuild the weights.
        float[] readBack = await ReadAllAsync(client, plan, options, "read back", progress, cancellationToken).ConfigureAwait(false);
        float[][] weights = plan.Decode(readBack);
        OnnxModel programmed = model.Clone();
        var layers = new List<LayerError>();
        for (int l = 0; l < mapping.Weights.Count; l++)
        {
            WeightMapping layer = mapping.Weights[l];
            programmed.ReplaceWeights(layer.Name, weights[l]);
            double sum = 0, max = 0;
            for (int e = 0; e < weights[l].Length; e++)
            {
                double error = Math.Abs(weights[l][e] - plan.TargetWeights[l][e]) / layer.FullScale;
                sum += error * error;
                max = Math.Max(max, error);
            }
            layers.Add(new LayerError(layer.Name, weights[l].Length, Math.Sqrt(sum / weights[l].Length), max));
        }
        BoardStatus after = await client.StatusAsync(cancellationToken).ConfigureAwait(false);
        return new ProgrammingResult(programmed, mapping, plan.CellCount, verify.Length, converged, didNotConverge, stuck,
            after.DeviceTimeNs - before.DeviceTimeNs, after.Pulses - before.Pulses, after.Reads - before.Reads,
            after.VerifyIterations - before.VerifyIterations, client.Statistics, layers, clock.Elapsed.TotalSeconds);
    }

    private static async Task<float[]> ReadAllAsync(BoardClient client, CellPlan plan, ProgrammingOptions options, string phase,
        Action<string, int, int>? progress, CancellationToken cancellationToken)
    {
        var values = new float[plan.CellCount];
        await InChunks(plan.CellCount, options.ChunkCells, phase, progress, async (start, count) =>
        {
            float[] read = await client.ReadAsync(new ArraySegment<CellAddress>(plan.Cells, start, count), 1, cancellationToken).ConfigureAwait(false);
            read.CopyTo(values, start);
        }).ConfigureAwait(false);
        return values;
    }

    private static async Task InChunks(int total, int chunk, string phase, Action<string, int, int>? progress, Func<int, int, Task> work)
    {
        progress?.Invoke(phase, 0, total);
        for (int start = 0; start < total; start += chunk)
        {
            int count = Math.Min(chunk, total - start);
            await work(start, count).ConfigureAwait(false);
            progress?.Invoke(phase, start + count, total);
        }
    }
}
