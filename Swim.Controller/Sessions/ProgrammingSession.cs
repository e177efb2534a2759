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
    public static Task<ProgrammingResult> RunAsync(BoardClient client, OnnxModel model, CellPlan plan, SensitivityResult? sensitivity, ProgrammingOptions options,
        Func<int, double>? variance, IProgress<SessionProgress>? progress = null, SessionJournal? journal = null, CancellationToken cancellationToken = default,
        Func<TimeSpan, CancellationToken, Task>? wait = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        var whole = new BoardShare(0, [.. Enumerable.Range(0, plan.CellCount)], plan);
        return RunAsync([new SessionBoard(client, whole, wait)], model, plan, sensitivity, options, variance, progress, journal, cancellationToken);
    }

    /// <summary>
    /// Runs the session over several boards at once, on a plan made for their <see cref="BoardSet.Combined"/> board
    /// and split by <see cref="BoardSet.Split"/>: each board programs, verifies and reads back its own cells side by
    /// side with the others, the selection ranks every board's cells together, and each board journals its own part.
    /// A board that fails stops only its own part: the others finish the phase, and the error names what each did.
    /// </summary>
    public static async Task<ProgrammingResult> RunAsync(IReadOnlyList<SessionBoard> boards, OnnxModel model, CellPlan plan, SensitivityResult? sensitivity,
        ProgrammingOptions options, Func<int, double>? variance, IProgress<SessionProgress>? progress = null, SessionJournal? journal = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(boards);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        if (boards.Count > 1 && options.VerifyBudget is not null)
        {
            throw new SwimInputException("--budget stops one board's write-verify when its device time is spent; over several boards, give --ratio instead (or program one board).");
        }
        var clock = Stopwatch.StartNew();
        bool finishedBefore = journal?.Fact("state") == "completed";
        var combined = new CombinedProgress(progress, boards.Count);
        var runs = new BoardRun[boards.Count];
        var owners = new CellOwners(plan.CellCount, [.. boards.Select(b => b.Share)]);
        for (int b = 0; b < boards.Count; b++)
        {
            runs[b] = await BoardRun.StartAsync(b, boards[b], owners, options, journal?.ForBoard(b), combined.Of(b), cancellationToken).ConfigureAwait(false);
        }
        BoardInfo board = runs[0].Info;

        // 1. Every cell, open loop.
        await EveryBoardAsync(runs, "program", r => r.Run.ProgramAllAsync()).ConfigureAwait(false);
        // 2. Which cells to verify, in the order to verify them, ranked over every board's cells together.
        int[] verify = await SelectAsync(runs, plan, sensitivity, options, variance, journal, BenchCost.Of(board, options.MaxIterations, options.LineBaud)).ConfigureAwait(false);
        // 3. Write-verify of the selected cells, on each board's own loop; with a budget, until it is spent.
        (byte[] outcomes, int verified) = await VerifyAsync(runs, verify, options.VerifyBudget).ConfigureAwait(false);
        // 4. Read every cell back (after the wait asked for) and rebuild the weights.
        float[] readBack = await ReadBackAsync(runs, plan, options.ReadAfter, cancellationToken).ConfigureAwait(false);
        (OnnxModel programmed, List<LayerError> layers) = Rebuild(model, plan, readBack);

        (BoardActivity spent, List<string> notes, List<BoardWork> work) = await AccountAsync(runs, verify, verified, outcomes, finishedBefore).ConfigureAwait(false);
        notes.AddRange(Unmapped(model));
        if (!finishedBefore)
        {
            journal?.SetFact("state", "completed");
        }
        DeviceTime? modelled = finishedBefore ? null
            : runs.Select(r => ModelledTime(r.Info, r.Share.Plan, [.. verify[..verified].Where(r.Holds).Select(r.LocalOf)], r.Run.Iterations, SelectionMethods.NeedsMeasuredCells(options.Method), notes))
                .Aggregate((a, c) => new DeviceTime(Math.Max(a.SerialSeconds, c.SerialSeconds), Math.Max(a.ParallelSeconds, c.ParallelSeconds)));
        LinkStatistics link = runs.Length == 1 ? runs[0].Client.Statistics : LinkStatistics.Sum(runs.Select(r => r.Client.Statistics));
        return new ProgrammingResult(programmed, plan.Mapping, plan.CellCount, verified,
            outcomes.Count(o => o == (byte)StatusCode.Ok), outcomes.Count(o => o == (byte)StatusCode.DidNotConverge), outcomes.Count(o => o == (byte)StatusCode.CellStuck),
            spent.DeviceTimeNs, spent.Pulses, spent.Reads, spent.VerifyIterations, link, layers, clock.Elapsed.TotalSeconds,
            spent.DeviceTimeEstimated, notes) { Modelled = modelled, Boards = work };
    }

    /// <summary>
    /// What each board spent by its own counters (or, for a finished session, what its journal recorded), with its
    /// notes; and the session's: its slowest board's device time, every board's pulses and reads.
    /// </summary>
    private static async Task<(BoardActivity Spent, List<string> Notes, List<BoardWork> Work)> AccountAsync(BoardRun[] runs, int[] verify, int verified, byte[] outcomes,
        bool finishedBefore)
    {
        var notes = new List<string>();
        var work = new List<BoardWork>();
        BoardActivity spent = default;
        for (int b = 0; b < runs.Length; b++)
        {
            BoardRun r = runs[b];
            BoardActivity after = await r.Run.ActivityAsync().ConfigureAwait(false);
            (BoardActivity boardSpent, List<string> boardNotes) = finishedBefore && Recorded(r.Journal!) is { } recorded
                ? recorded
                : Spent(r.RestartedBeforeResume ? null : r.SessionStart, r.Before, after, r.Info);
            boardNotes.InsertRange(0, r.Run.Notes);
            boardNotes.AddRange(Repeated(outcomes.Where((_, i) => r.Holds(verify[i])).ToArray(), r.Client.Statistics));
            notes.AddRange(runs.Length == 1 ? boardNotes : boardNotes.Select(n => $"board {b + 1} ({r.Info.Serial}): {n}"));
            int boardVerified = verify[..verified].Count(r.Holds);
            work.Add(new BoardWork(r.Info.Serial, r.Share.Cells.Length, boardVerified, boardSpent.DeviceTimeNs, boardSpent.Pulses, boardSpent.Reads, r.Client.Statistics));
            // The boards run side by side: the session lasts as long as its slowest board, and costs every board's pulses and reads.
            spent = b == 0 ? boardSpent : new BoardActivity(Math.Max(spent.DeviceTimeNs, boardSpent.DeviceTimeNs), spent.Pulses + boardSpent.Pulses, spent.Reads + boardSpent.Reads,
                spent.VerifyIterations + boardSpent.VerifyIterations, 0, 0, spent.DeviceTimeEstimated || boardSpent.DeviceTimeEstimated);
            if (!finishedBefore && r.Journal is { } part)
            {
                // What a later resume of the finished session reports: these figures, not the nothing it does itself.
                part.SetFact("spent", boardSpent.ToJournalText());
                part.SetFact("notes", System.Text.Json.JsonSerializer.Serialize(boardNotes));
            }
        }
        return (spent, notes, work);
    }

    /// <summary>Runs one phase on every board at once; when any fails, the others still finish it, and the error says which failed and why.</summary>
    private static async Task EveryBoardAsync(BoardRun[] runs, string phase, Func<BoardRun, Task> work)
    {
        if (runs.Length == 1)
        {
            await work(runs[0]).ConfigureAwait(false);
            return;
        }
        Task[] tasks = [.. runs.Select(r => Task.Run(() => work(r)))];
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (tasks.Any(t => t.IsFaulted))
        {
            var failed = runs.Where((_, b) => tasks[b].IsFaulted).ToList();
            if (failed.All(r => tasks[r.Index].Exception!.InnerException is OperationCanceledException))
            {
                throw tasks[failed[0].Index].Exception!.InnerException!;
            }
            string what = string.Join("; ", failed.Select(r => $"board {r.Index + 1} ({r.Info.Serial}): {tasks[r.Index].Exception!.InnerException!.Message}"));
            string rest = failed.Count == runs.Length ? "no board finished it"
                : $"board{(runs.Length - failed.Count == 1 ? "" : "s")} {string.Join(", ", runs.Where((_, b) => !tasks[b].IsFaulted).Select(r => r.Index + 1))} finished it";
            throw new BoardSetException($"the {phase} phase failed on {failed.Count} of {runs.Length} boards ({what}); {rest}. The journal records each board's cells done: " +
                "mend the link or the board and --resume, which continues each board where it stopped.",
                [.. failed.Select(r => tasks[r.Index].Exception!.InnerException!)]);
        }
    }

    /// <summary>
    /// Everything one board of the session needs: its client, its share of the plan, its runner and its part of the
    /// journal, and where its counters stood when the session began.
    /// </summary>
    private sealed class BoardRun
    {
        private BoardRun(int index, SessionBoard board, BoardInfo info, SessionRunner run, SessionJournal? journal)
        {
            Index = index;
            Board = board;
            Info = info;
            Run = run;
            Journal = journal;
        }

        public int Index { get; }

        public SessionBoard Board { get; }

        public BoardClient Client => Board.Client;

        public BoardShare Share => Board.Share;

        public BoardInfo Info { get; }

        public SessionRunner Run { get; }

        public SessionJournal? Journal { get; }

        public BoardActivity Before { get; private set; }

        public BoardActivity SessionStart { get; private set; }

        public bool RestartedBeforeResume { get; private set; }

        /// <summary>Which board holds each cell of the whole plan, and as which of its own (shared by every board's run).</summary>
        public required CellOwners Owners { get; init; }

        /// <summary>Whether a cell of the whole plan is on this board.</summary>
        public bool Holds(int cell) => Owners.BoardOf(cell) == Index;

        /// <summary>This board's index of a cell of the whole plan that it holds.</summary>
        public int LocalOf(int cell) => Owners.LocalOf(cell);

        public static async Task<BoardRun> StartAsync(int index, SessionBoard board, CellOwners owners, ProgrammingOptions options, SessionJournal? journal,
            IProgress<SessionProgress>? progress, CancellationToken cancellationToken)
        {
            BoardClient client = board.Client;
            BoardInfo info = client.Board ?? await client.IdentifyAsync(cancellationToken).ConfigureAwait(false);
            journal?.RecordBoardSession(client.Session);
            CellPlan plan = board.Share.Plan;
            int[] order = SendOrder(plan, journal);
            var run = new SessionRunner(client, info, plan, order, options, journal, progress, (info.Capabilities & BoardCapabilities.Counters) != 0, cancellationToken);
            var started = new BoardRun(index, board, info, run, journal) { Owners = owners };
            BoardActivity before = await run.ActivityAsync().ConfigureAwait(false);
            // A resumed session reports the whole session's cost: where the counters stood when it first began is journalled,
            // and so is the last reading before each chunk, which is what shows a restart of the counters since then.
            BoardActivity? recordedStart = BoardActivity.ParseJournalText(journal?.Fact("start_activity"));
            BoardActivity? lastRecorded = BoardActivity.ParseJournalText(journal?.Fact(SessionJournal.BoardStateFact)) ?? recordedStart;
            bool restartedBeforeResume = lastRecorded is { } last && before.RestartedSince(last);
            if (restartedBeforeResume)
            {
                // Counters that ran on say it is the same board, powered throughout; after a restart only the cells can tell.
                await HeldCellsCheck.RequireAsync(client, plan, order, journal!, options, cancellationToken).ConfigureAwait(false);
            }
            started.Before = before;
            started.RestartedBeforeResume = restartedBeforeResume;
            started.SessionStart = recordedStart ?? before;
            journal?.SetFact("start_activity", started.SessionStart.ToJournalText());
            return started;
        }
    }

    /// <summary>Which board holds each cell of a plan, and as which of its cells: one array of each for a plan over several boards, none for one board.</summary>
    internal sealed class CellOwners
    {
        private readonly ushort[]? _board;
        private readonly int[]? _local;

        public CellOwners(int cells, IReadOnlyList<BoardShare> shares)
        {
            ArgumentNullException.ThrowIfNull(shares);
            if (shares.Count == 1)
            {
                return;
            }
            _board = new ushort[cells];
            _local = new int[cells];
            Array.Fill(_local, -1);
            foreach (BoardShare share in shares)
            {
                for (int i = 0; i < share.Cells.Length; i++)
                {
                    _board[share.Cells[i]] = (ushort)share.Board;
                    _local[share.Cells[i]] = i;
                }
            }
            if (Array.IndexOf(_local, -1) is int orphan and >= 0)
            {
                throw new ArgumentException($"cell {orphan} of the plan is on none of the boards' shares.", nameof(shares));
            }
        }

        public int BoardOf(int cell) => _board is null ? 0 : _board[cell];

        public int LocalOf(int cell) => _local is null ? cell : _local[cell];
    }

    /// <summary>Each board's progress through a phase, summed into the session's: the boards go through the phases side by side.</summary>
    private sealed class CombinedProgress(IProgress<SessionProgress>? progress, int boards)
    {
        private readonly object _gate = new();
        private readonly (string Phase, int Done, int Total)[] _boards = new (string, int, int)[boards];

        public IProgress<SessionProgress>? Of(int board) => progress is null ? null : boards == 1 ? progress : new Part(this, board);

        private void Report(int board, SessionProgress p)
        {
            SessionProgress sum;
            lock (_gate)
            {
                _boards[board] = (p.Phase, p.Done, p.Total);
                var same = _boards.Where(b => b.Phase == p.Phase).ToList();
                sum = new SessionProgress(p.Phase, same.Sum(b => b.Done), same.Sum(b => b.Total));
            }
            progress!.Report(sum);
        }

        private sealed class Part(CombinedProgress owner, int board) : IProgress<SessionProgress>
        {
            public void Report(SessionProgress value) => owner.Report(board, value);
        }
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

    /// <summary>Every cell read back from every board, once <paramref name="readAfter"/> has passed on each (its clock, else wall time).</summary>
    private static async Task<float[]> ReadBackAsync(BoardRun[] runs, CellPlan plan, TimeSpan? readAfter, CancellationToken cancellationToken)
    {
        if (readAfter is { } t && t > TimeSpan.Zero)
        {
            // Boards that keep their own clock wait at once; a wall-clock wait is waited once for them all.
            Func<TimeSpan, CancellationToken, Task>[] waits = [.. runs.Select(r => r.Board.Wait).Where(w => w is not null).Select(w => w!)];
            await Task.WhenAll(waits.Select(w => w(t, cancellationToken)).Append(waits.Length < runs.Length ? Task.Delay(t, cancellationToken) : Task.CompletedTask)).ConfigureAwait(false);
        }
        return await ReadEveryBoardAsync(runs, plan, "read back").ConfigureAwait(false);
    }

    /// <summary>Every cell of the plan read, each board reading its own at once; values in the whole plan's order.</summary>
    private static async Task<float[]> ReadEveryBoardAsync(BoardRun[] runs, CellPlan plan, string phase)
    {
        if (runs.Length == 1)
        {
            return await runs[0].Run.ReadAllAsync(phase).ConfigureAwait(false);
        }
        var values = new float[plan.CellCount];
        await EveryBoardAsync(runs, phase, async r =>
        {
            float[] read = await r.Run.ReadAllAsync(phase).ConfigureAwait(false);
            for (int i = 0; i < read.Length; i++)
            {
                values[r.Share.Cells[i]] = read[i];
            }
        }).ConfigureAwait(false);
        return values;
    }

    /// <summary>
    /// The selected cells verified, each board its own at once in the selection's order: outcomes in that order, and how
    /// many of the selection were verified (a budget may stop early). Each board's runner keeps its cells' iterations.
    /// </summary>
    private static async Task<(byte[] Outcomes, int Verified)> VerifyAsync(BoardRun[] runs, int[] verify, TimeSpan? budget)
    {
        if (runs.Length == 1)
        {
            return await runs[0].Run.VerifyAsync(verify, budget).ConfigureAwait(false);
        }
        var all = new byte[verify.Length];
        await EveryBoardAsync(runs, "verify", async r =>
        {
            int[] positions = [.. Enumerable.Range(0, verify.Length).Where(i => r.Holds(verify[i]))];
            (byte[] outcomes, _) = await r.Run.VerifyAsync([.. positions.Select(i => r.LocalOf(verify[i]))], null).ConfigureAwait(false);
            for (int i = 0; i < positions.Length; i++)
            {
                all[positions[i]] = outcomes[i];
            }
        }).ConfigureAwait(false);
        return (all, verify.Length);
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
    private static async Task<int[]> SelectAsync(BoardRun[] runs, CellPlan plan, SensitivityResult? sensitivity, ProgrammingOptions options, Func<int, double>? variance,
        SessionJournal? journal, BenchCost bench)
    {
        if (journal?.Selection() is { } stored)
        {
            return MemoryMarshal.Cast<byte, int>(stored).ToArray();
        }
        float[]? measured = SelectionMethods.NeedsMeasuredCells(options.Method) ? await ReadEveryBoardAsync(runs, plan, "measure").ConfigureAwait(false) : null;
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

/// <summary>One board of a session: its client, its share of the plan, and how time passes on it (null: wall time).</summary>
public sealed record SessionBoard(BoardClient Client, BoardShare Share, Func<TimeSpan, CancellationToken, Task>? Wait = null);

/// <summary>What one board of a session did: its cells, how many of them were verified, and its own counters' figures.</summary>
public sealed record BoardWork(string Serial, int Cells, int Verified, ulong DeviceTimeNs, ulong Pulses, ulong Reads, LinkStatistics Link);

/// <summary>A phase that failed on some boards of a session over several; the others finished it, and the message says which.</summary>
public sealed class BoardSetException(string message, IReadOnlyList<Exception> failures) : IOException(message, failures.Count > 0 ? failures[0] : null)
{
    public IReadOnlyList<Exception> Failures { get; } = failures;
}
