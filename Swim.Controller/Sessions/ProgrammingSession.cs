using System.Diagnostics;
using System.Runtime.InteropServices;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Devices;
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
    /// <summary>Maps the model for the board the client talks to (IDENTIFY unless the client has), then runs the session on that plan.</summary>
    /// <param name="cellVariance">The device's programming variance per cell at its target (uS^2), for uswim and cell-level.</param>
    /// <param name="journal">Records every chunk before and after it runs; a journal with finished or started chunks is resumed.</param>
    /// <param name="progress">Told each phase's cells done out of its total, as it goes.</param>
    public static async Task<ProgrammingResult> RunAsync(BoardClient client, OnnxModel model, SensitivityResult? sensitivity, ProgrammingOptions options,
        Func<CellPlan, Func<int, double>>? cellVariance = null, IProgress<SessionProgress>? progress = null, SessionJournal? journal = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        BoardInfo board = client.Board ?? await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(model, board, options.Mapping), model);
        return await RunAsync(client, model, plan, sensitivity, options, cellVariance?.Invoke(plan), progress, journal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the session on a plan made for this board (the one a journal's layout was recorded from): every cell
    /// open loop, the selection write-verified, every cell read back and the weights rebuilt.
    /// </summary>
    /// <param name="variance">Each cell's programming variance at its target (uS^2), for uswim and cell-level.</param>
    /// <param name="wait">Lets time pass on the board before the read-back when <see cref="ProgrammingOptions.ReadAfter"/> asks (the emulator's clock, or wall time); null waits in wall time.</param>
    public static async Task<ProgrammingResult> RunAsync(BoardClient client, OnnxModel model, CellPlan plan, SensitivityResult? sensitivity, ProgrammingOptions options,
        Func<int, double>? variance, IProgress<SessionProgress>? progress = null, SessionJournal? journal = null, CancellationToken cancellationToken = default,
        Func<TimeSpan, CancellationToken, Task>? wait = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        bool finishedBefore = journal?.Fact("state") == "completed";
        BoardInfo board = client.Board ?? await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
        journal?.RecordBoardSession(client.Session);
        int[] order = SendOrder(plan, journal);
        var run = new SessionRunner(client, board, plan, order, options, journal, progress, (board.Capabilities & BoardCapabilities.Counters) != 0, cancellationToken);
        BoardActivity before = await run.ActivityAsync().ConfigureAwait(false);
        // A resumed session reports the whole session's cost: where the counters stood when it first began is journalled,
        // and so is the last reading before each chunk, which is what shows a restart of the counters since then.
        BoardActivity? recordedStart = BoardActivity.ParseJournalText(journal?.Fact("start_activity"));
        BoardActivity? lastRecorded = BoardActivity.ParseJournalText(journal?.Fact("chunk_board_state")) ?? recordedStart;
        bool restartedBeforeResume = lastRecorded is { } last && before.RestartedSince(last);
        if (restartedBeforeResume)
        {
            // Counters that ran on say it is the same board, powered throughout; after a restart only the cells can tell.
            await HeldCellsCheck.RequireAsync(client, plan, order, journal!, options, cancellationToken).ConfigureAwait(false);
        }
        BoardActivity sessionStart = recordedStart ?? before;
        journal?.SetFact("start_activity", sessionStart.ToJournalText());

        // 1. Every cell, open loop.
        await run.ProgramAllAsync().ConfigureAwait(false);
        // 2. Which cells to verify, in the order to verify them.
        int[] verify = await SelectAsync(run, plan, sensitivity, options, variance, journal, BenchCost.Of(board, options.MaxIterations, options.LineBaud)).ConfigureAwait(false);
        // 3. Write-verify of the selected cells, on the board's own loop; with a budget, until it is spent.
        (byte[] outcomes, int verified) = await run.VerifyAsync(verify, options.VerifyBudget).ConfigureAwait(false);
        // 4. Read every cell back (after the wait asked for) and rebuild the weights.
        float[] readBack = await ReadBackAsync(run, options.ReadAfter, wait, cancellationToken).ConfigureAwait(false);
        (OnnxModel programmed, List<LayerError> layers) = Rebuild(model, plan, readBack);

        BoardActivity after = await run.ActivityAsync().ConfigureAwait(false);
        (BoardActivity spent, List<string> notes) = finishedBefore && Recorded(journal!) is { } recorded
            ? recorded
            : Spent(restartedBeforeResume ? null : sessionStart, before, after, board);
        notes.InsertRange(0, run.Notes);
        notes.AddRange(Repeated(outcomes, client.Statistics));
        notes.AddRange(Unmapped(model));
        if (!finishedBefore)
        {
            // What a later resume of the finished session reports: these figures, not the nothing it does itself.
            journal?.SetFact("spent", spent.ToJournalText());
            journal?.SetFact("notes", System.Text.Json.JsonSerializer.Serialize(notes));
            journal?.SetFact("state", "completed");
        }
        DeviceTime? modelled = finishedBefore ? null : ModelledTime(board, plan, verify[..verified], run.Iterations, SelectionMethods.NeedsMeasuredCells(options.Method), notes);
        return new ProgrammingResult(programmed, plan.Mapping, plan.CellCount, verified,
            outcomes.Count(o => o == (byte)StatusCode.Ok), outcomes.Count(o => o == (byte)StatusCode.DidNotConverge), outcomes.Count(o => o == (byte)StatusCode.CellStuck),
            spent.DeviceTimeNs, spent.Pulses, spent.Reads, spent.VerifyIterations, client.Statistics, layers, clock.Elapsed.TotalSeconds,
            spent.DeviceTimeEstimated, notes) { Modelled = modelled };
    }

    /// <summary>
    /// The order the program and read phases send cells in: by their place on the board, so whole rows go as one
    /// command however the mapping placed the weights; a journal started by a Swim that sent them in plan order (it
    /// has chunks and no <see cref="CellOrderFact"/>) keeps that order, since its chunks count positions in it.
    /// </summary>
    internal static int[] SendOrder(CellPlan plan, SessionJournal? journal)
    {
        if (journal is null)
        {
            return plan.BoardOrder();
        }
        if (journal.Fact(CellOrderFact) is null)
        {
            if (journal.Summary().Count > 0 || journal.Selection() is not null)
            {
                return [.. Enumerable.Range(0, plan.CellCount)];
            }
            journal.SetFact(CellOrderFact, "address");
        }
        return plan.BoardOrder();
    }

    /// <summary>The journal fact that says its chunks count cells in board order ("address").</summary>
    public const string CellOrderFact = "cell_order";

    /// <summary>Every cell read back, once <paramref name="readAfter"/> has passed on the board (its clock through <paramref name="wait"/>, else wall time).</summary>
    private static async Task<float[]> ReadBackAsync(SessionRunner run, TimeSpan? readAfter, Func<TimeSpan, CancellationToken, Task>? wait, CancellationToken cancellationToken)
    {
        if (readAfter is { } t && t > TimeSpan.Zero)
        {
            await (wait ?? ((d, token) => Task.Delay(d, token)))(t, cancellationToken).ConfigureAwait(false);
        }
        return await run.ReadAllAsync("read back").ConfigureAwait(false);
    }

    /// <summary>A note naming the weight tensors the mapping left off the crossbar, if any.</summary>
    private static IEnumerable<string> Unmapped(OnnxModel model)
    {
        if (model.UnmappedWeightTensors() is { Count: > 0 } kept)
        {
            yield return $"{kept.Count:N0} weight tensors are not on the crossbar (Swim maps the Conv, Gemm and MatMul weights it can trace to an initializer) and keep their trained values in the programmed model: "
                + string.Join(", ", kept.Take(8).Select(k => k.ConsumedBy.Length > 0 ? $"{k.Name} ({k.ConsumedBy})" : k.Name)) + (kept.Count > 8 ? ", ..." : "") + ".";
        }
    }

    /// <summary>
    /// The session's work through the array's time model: every cell programmed and read back (and read first for a
    /// method that measures), and each verified cell's loop as long as the board said it took (journalled, so a resumed
    /// session counts the whole session; cells whose answers a crash lost are left out, and a note says so).
    /// </summary>
    private static DeviceTime ModelledTime(BoardInfo board, CellPlan plan, int[] verified, int[] iterations, bool measuredFirst, List<string> notes)
    {
        var model = ArrayTimeModel.Of(board);
        DeviceTime time = model.Program(Enumerable.Range(0, plan.CellCount).Select(c => (plan.RowOf(c), (int)plan.Levels[c])));
        DeviceTime readAll = model.Read(Enumerable.Range(0, plan.CellCount).Select(plan.RowOf), samples: 1);
        time += measuredFirst ? readAll + readAll : readAll;
        int[] seen = [.. verified.Where(c => iterations[c] >= 0)];
        time += model.Verify(seen.Select(c => (plan.RowOf(c), iterations[c])));
        if (seen.Length < verified.Length)
        {
            notes.Add($"the modelled device times leave out the write-verify of {verified.Length - seen.Length:N0} cells whose iterations are not known: their verify outcomes were lost with a crash (or the journal is from a Swim that did not keep them).");
        }
        return time;
    }

    /// <summary>
    /// The cells to verify, in order (posterior first reads every cell once: cheap next to verifying): by their place on
    /// the board, so a row's selected cells go as one masked rectangle. The order is journalled, so a resumed session
    /// verifies the same cells in the same chunks whatever the method.
    /// </summary>
    private static async Task<int[]> SelectAsync(SessionRunner run, CellPlan plan, SensitivityResult? sensitivity, ProgrammingOptions options, Func<int, double>? variance,
        SessionJournal? journal, BenchCost bench)
    {
        if (journal?.Selection() is { } stored)
        {
            return MemoryMarshal.Cast<byte, int>(stored).ToArray();
        }
        float[]? measured = SelectionMethods.NeedsMeasuredCells(options.Method) ? await run.ReadAllAsync("measure").ConfigureAwait(false) : null;
        int[] verify;
        if (options.VerifyBudget is null)
        {
            bool[] selected = CellSelector.Select(options.Method, options.Fraction, plan, sensitivity, variance, measured, options.Seed, options.StateSigmaRatio, options.SelectionCost, bench);
            verify = plan.SortedByAddress([.. Enumerable.Range(0, selected.Length).Where(c => selected[c])]);
        }
        else
        {
            // Most important first, so a budget spent stops at the least; within a chunk's worth, by place on the board.
            verify = CellSelector.Rank(options.Method, plan, sensitivity, variance, measured, options.Seed, options.StateSigmaRatio, options.SelectionCost, bench);
            for (int start = 0; start < verify.Length; start += options.ChunkCells)
            {
                int end = Math.Min(verify.Length, start + options.ChunkCells);
                plan.SortedByAddress(verify, start, end - start);
            }
        }
        journal?.SaveSelection(MemoryMarshal.AsBytes(verify.AsSpan()).ToArray());
        return verify;
    }

    /// <summary>The model with the read-back weights in place of the trained ones, and each layer's error against its targets.</summary>
    private static (OnnxModel Programmed, List<LayerError> Layers) Rebuild(OnnxModel model, CellPlan plan, float[] readBack)
    {
        float[][] weights = plan.Decode(readBack);
        OnnxModel programmed = model.Clone();
        var layers = new List<LayerError>();
        for (int l = 0; l < plan.Mapping.Weights.Count; l++)
        {
            WeightMapping layer = plan.Mapping.Weights[l];
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
        return (programmed, layers);
    }

    /// <summary>What was unknown or done twice, for the reader: verify outcomes a crash lost, and requests the link made the host send again.</summary>
    private static IEnumerable<string> Repeated(byte[] outcomes, LinkStatistics link)
    {
        int unknown = outcomes.Count(o => o == RecoveredOutcome);
        if (unknown > 0)
        {
            yield return $"{unknown:N0} verify outcomes were lost with a crash and recovered as unknown: the board verified those cells, but whether each converged is not known " +
                "(they count as verified, and in none of in band, not converged and stuck).";
        }
        if (link.Retransmissions > 0)
        {
            yield return $"the link lost or damaged frames: {link.Retransmissions:N0} requests went out again under their own sequence numbers" +
                (link.Replays > 0 ? $" ({link.Replays:N0} answered from the board's response cache without running again)" : "") +
                "; a request goes again under its own number, and the board runs each number once.";
        }
    }

    /// <summary>The figures a finished session recorded in its journal, with a note that they are those; null for a journal from before they were kept.</summary>
    private static (BoardActivity Spent, List<string> Notes)? Recorded(SessionJournal journal)
    {
        if (BoardActivity.ParseJournalText(journal.Fact("spent")) is not { } spent)
        {
            return null;
        }
        List<string> notes = System.Text.Json.JsonSerializer.Deserialize<List<string>>(journal.Fact("notes") ?? "[]") ?? [];
        notes.Add("this session had already finished: nothing was sent to the board again, and the cost above is what the journal recorded when it finished.");
        return (spent, notes);
    }

    /// <summary>The session's activity by the board's counters, and what the reader must know about how it was counted.</summary>
    /// <param name="sessionStart">Where the counters stood when the session first began; null when they restarted before this process resumed it.</param>
    private static (BoardActivity Spent, List<string> Notes) Spent(BoardActivity? sessionStart, BoardActivity before, BoardActivity after, BoardInfo board)
    {
        var notes = new List<string>();
        BoardActivity spent;
        if (after.RestartedSince(before))
        {
            spent = after;
            notes.Add("the board's counters restarted (a reset or power loss) during the session; device time, pulses and reads count only from the restart.");
        }
        else if (sessionStart is { } start)
        {
            spent = after.Since(start);
        }
        else
        {
            spent = after.Since(before);
            notes.Add("the board's counters restarted (a reset or power loss) between the session's start and its resume; device time, pulses and reads count only from the resume.");
        }
        if (spent.DeviceTimeEstimated)
        {
            notes.Add($"the board reports no device time; it is estimated from the nominal times in its IDENTIFY (read {board.ReadNs:N0} ns, pulse {board.PulseNs:N0} ns, verify iteration {board.VerifyIterationNs:N0} ns).");
        }
        return (spent, notes);
    }

    /// <summary>A verify outcome recorded as unknown: the board ran it before a crash, its answer was lost.</summary>
    public const byte RecoveredOutcome = 0xFF;
}
