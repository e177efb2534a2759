using System.Globalization;
using System.Runtime.InteropServices;
using Swim.Controller.Mapping;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>Runs the phases chunk by chunk, journalled, and recovers chunks a crash left started.</summary>
/// <param name="order">
/// The plan's cells in the order the program and read phases send them (<see cref="CellPlan.BoardOrder"/>, or plan
/// order for a journal started before sessions sent by address); a journal's chunks count positions in it.
/// </param>
internal sealed class SessionRunner(BoardClient client, BoardInfo board, CellPlan plan, int[] order, ProgrammingOptions options, SessionJournal? journal,
    IProgress<SessionProgress>? progress, bool hasCounters, CancellationToken cancellationToken)
{
    /// <summary>What a recovery could not do as usual, for the result's notes.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Iterations each verified cell's loop took, by plan cell, from the board's answers or the journal (-1: not known).</summary>
    public int[] Iterations { get; } = Enumerable.Repeat(-1, plan.CellCount).ToArray();

    public async Task ProgramAllAsync()
    {
        await Chunks("program", plan.CellCount, ReplayableChunk(ProgramTarget.WireLength), async (start, count, record) =>
        {
            int[] cells = order[start..(start + count)];
            IDisposable? replay = null;
            if (record is { } unfinished)
            {
                // The chunk was sent but its answers were not journalled: send its commands again under their own
                // numbers, which the board answers from its cache where it ran them; failing that, program only
                // cells the board never touched.
                replay = await ReplayAsync("program", start, cells).ConfigureAwait(false);
                if (replay is null)
                {
                    cells = await UntouchedAsync(cells, unfinished.Before!, byPulses: true).ConfigureAwait(false);
                }
            }
            else
            {
                await StartChunkAsync("program", start, cells).ConfigureAwait(false);
            }
            CellAddress[] addresses = [.. cells.Select(c => plan.Cells[c])];
            StatusCode[] statuses;
            using (replay)
            {
                statuses = await client.ProgramLevelsAsync(addresses, [.. cells.Select(c => (int)plan.Levels[c])], cancellationToken).ConfigureAwait(false);
            }
            int refused = statuses.Count(s => s != StatusCode.Ok);
            if (refused > 0)
            {
                throw new IOException($"the board refused {refused} of {addresses.Length} open-loop writes ({statuses.First(s => s != StatusCode.Ok)}); the mapping and the board disagree.");
            }
            return null;
        }).ConfigureAwait(false);
    }

    public async Task<(byte[] Outcomes, int Verified)> VerifyAsync(int[] verify, TimeSpan? budget)
    {
        var outcomes = new byte[verify.Length];
        int verified = 0;
        ulong? startNs = budget is null ? null : await BudgetStartAsync().ConfigureAwait(false);
        float tolerance = plan.Mapping.BandOf(options.ToleranceFraction);
        bool hostLoop = options.HostVerify || (board.Capabilities & BoardCapabilities.ProgramVerify) == 0;
        Func<int, int> chunkCells = hostLoop ? _ => options.ChunkCells : ReplayableVerifyChunks(verify);
        await Chunks("verify", verify.Length, chunkCells, (start, count, record) =>
            hostLoop ? HostVerifyChunkAsync(verify[start..(start + count)], start, record, tolerance) : BoardVerifyChunkAsync(verify[start..(start + count)], start, record, tolerance),
            results: (start, count, bytes) =>
            {
                bytes.AsSpan(0, count).CopyTo(outcomes.AsSpan(start));
                verified = start + count;
                // After the outcomes, each cell's iterations (u16): journalled with them, so a resumed session knows them too.
                // A journal from before they were kept has none.
                for (int i = 0; bytes.Length == 3 * count && i < count; i++)
                {
                    ushort n = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(count + 2 * i));
                    Iterations[verify[start + i]] = n == UnknownIterations ? -1 : n;
                }
            }, stopBefore: budget is null ? null : async () =>
            {
                ulong now = (await ActivityAsync().ConfigureAwait(false)).DeviceTimeNs;
                // A clock below the start means the board was reset or lost power: count from its restart, never wrap around.
                ulong used = now >= startNs!.Value ? now - startNs.Value : now;
                return used >= (ulong)(budget.Value.TotalMilliseconds * 1e6);
            }).ConfigureAwait(false);
        return (outcomes[..verified], verified);
    }

    /// <summary>The board's device time when a budgeted verify phase began; journalled, so a resume counts from the same point.</summary>
    private async Task<ulong> BudgetStartAsync()
    {
        string? recorded = journal?.Fact("verify_start_device_ns");
        if (recorded is not null)
        {
            return ulong.Parse(recorded, CultureInfo.InvariantCulture);
        }
        ulong startNs = (await ActivityAsync().ConfigureAwait(false)).DeviceTimeNs;
        journal?.SetFact("verify_start_device_ns", startNs.ToString(CultureInfo.InvariantCulture));
        return startNs;
    }

    /// <summary>A chunk verified by the host's loop, which reads before every pulse: an interrupted chunk simply runs again from the cells' states.</summary>
    private async Task<byte[]?> HostVerifyChunkAsync(int[] cells, int start, ChunkRecord? record, float tolerance)
    {
        if (record is null)
        {
            journal?.Started("verify", start, cells.Length, null);
        }
        var iterations = new int[cells.Length];
        StatusCode[] statuses = await HostVerifyLoop.RunAsync(client, board, [.. cells.Select(c => (plan.Cells[c], plan.TargetConductance(c)))],
            tolerance, options.MaxIterations, iterations, cancellationToken).ConfigureAwait(false);
        return WithIterations([.. statuses.Select(s => (byte)s)], iterations);
    }

    private const ushort UnknownIterations = ushort.MaxValue;

    /// <summary>A verify chunk's journalled result: each cell's outcome byte, then each cell's iterations as u16.</summary>
    private static byte[] WithIterations(byte[] outcomes, int[] iterations)
    {
        var result = new byte[3 * outcomes.Length];
        outcomes.CopyTo(result, 0);
        for (int i = 0; i < iterations.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(outcomes.Length + 2 * i), (ushort)Math.Min(iterations[i], UnknownIterations));
        }
        return result;
    }

    /// <summary>A chunk verified by the board's PROGRAM_VERIFY; an interrupted one is replayed from the board's cache or judged from its counters.</summary>
    private async Task<byte[]?> BoardVerifyChunkAsync(int[] cells, int start, ChunkRecord? record, float tolerance)
    {
        var result = new byte[cells.Length];
        int[] run = cells;
        IDisposable? replay = null;
        if (record is { } unfinished)
        {
            // Replayed, the board's cached answers give every outcome; failing that, cells the board read since
            // the chunk started were verified, their outcome lost and their state final.
            replay = await ReplayAsync("verify", start, cells).ConfigureAwait(false);
            if (replay is null)
            {
                run = await UntouchedAsync(cells, unfinished.Before!, byPulses: false).ConfigureAwait(false);
                Array.Fill(result, ProgrammingSession.RecoveredOutcome);
            }
        }
        else
        {
            await StartChunkAsync("verify", start, cells).ConfigureAwait(false);
        }
        VerifyLevelsOutcome[] answers;
        using (replay)
        {
            answers = await client.VerifyLevelsAsync([.. run.Select(c => plan.Cells[c])], [.. run.Select(c => (int)plan.Levels[c])], tolerance, options.MaxIterations,
                cancellationToken).ConfigureAwait(false);
        }
        var iterations = new int[cells.Length];
        Array.Fill(iterations, UnknownIterations);
        var position = new Dictionary<int, int>(cells.Length);
        for (int i = 0; i < cells.Length; i++)
        {
            position[cells[i]] = i;
        }
        for (int i = 0; i < run.Length; i++)
        {
            result[position[run[i]]] = (byte)answers[i].Status;
            iterations[position[run[i]]] = answers[i].Iterations;
        }
        return WithIterations(result, iterations);
    }

    /// <summary>The board's STATUS counters now, device time estimated when the board reports none.</summary>
    public async Task<BoardActivity> ActivityAsync() =>
        BoardActivity.Of(await client.StatusAsync(cancellationToken).ConfigureAwait(false), board);

    public async Task<float[]> ReadAllAsync(string phase)
    {
        var values = new float[plan.CellCount];
        await Chunks(phase, plan.CellCount, options.ChunkCells, async (start, count, record) =>
        {
            if (record is null)
            {
                journal?.Started(phase, start, count, null);
            }
            // Reading is idempotent: an unfinished read chunk is simply read again.
            float[] read = await client.ReadCodedAsync([.. order.AsSpan(start, count).ToArray().Select(c => plan.Cells[c])], ReadCodeBits, 1, cancellationToken).ConfigureAwait(false);
            return MemoryMarshal.AsBytes(read.AsSpan()).ToArray();
        }, results: (start, _, bytes) =>
        {
            ReadOnlySpan<float> read = MemoryMarshal.Cast<byte, float>(bytes);
            for (int i = 0; i < read.Length; i++)
            {
                values[order[start + i]] = read[i];
            }
        }).ConfigureAwait(false);
        return values;
    }

    /// <summary>
    /// Bits of a READ_CODES code when every cell is read: 8 where that makes a code step at most a sixteenth of the spacing
    /// of the cell's levels (16 levels or fewer over the window), finer than programming lands, else 16.
    /// </summary>
    private byte ReadCodeBits => 16 * (board.LevelsPerCell - 1) <= 255 ? (byte)8 : (byte)16;

    /// <summary>
    /// Cells per chunk of PROGRAM or PROGRAM_VERIFY: no more than half the board's response cache in commands, so
    /// that a resumed host, after the few requests it makes before it reaches the chunk, can still replay every
    /// command of it from the cache (<see cref="ReplayAsync"/>). Not below <see cref="MinimumChunkCells"/>, though:
    /// each chunk costs two synchronous journal writes, and a board that takes a handful of cells per command would
    /// spend longer on those than on its cells; its interrupted chunks are judged instead of replayed.
    /// </summary>
    private int ReplayableChunk(int itemWireLength) =>
        Math.Min(options.ChunkCells, Math.Max(MinimumChunkCells, Math.Max(1, board.ResponseCacheDepth / 2) * client.ItemsPerCommand(itemWireLength)));

    private const int MinimumChunkCells = 1024;

    /// <summary>
    /// Verify chunks cut at the client's command boundaries (a chunk ends where a VERIFY_LEVELS rectangle or a
    /// PROGRAM_VERIFY list ends, so its commands come out the same on a resume): half the board's cache depth in commands
    /// a chunk, as for <see cref="ReplayableChunk"/>, and between <see cref="MinimumChunkCells"/> and the options' chunk size in cells.
    /// </summary>
    private Func<int, int> ReplayableVerifyChunks(int[] verify)
    {
        List<CellSpan> spans = client.VerifySpans([.. verify.Select(c => plan.Cells[c])]);
        int perChunk = Math.Max(1, board.ResponseCacheDepth / 2);
        var sizes = new Dictionary<int, int>();
        for (int next = 0, start = 0; next < spans.Count; start += sizes[start])
        {
            int cells = 0, commands = 0;
            while (next < spans.Count && (commands == 0 || ((commands < perChunk || cells < MinimumChunkCells) && cells + spans[next].Count <= options.ChunkCells)))
            {
                cells += spans[next++].Count;
                commands++;
            }
            sizes[start] = cells;
        }
        return start => sizes.TryGetValue(start, out int cells) ? cells : options.ChunkCells;
    }

    /// <summary>
    /// The stretches of a chunk's cells each of its commands covers, as the client cuts them: PROGRAM_LEVELS rectangles
    /// and PROGRAM lists for programming, VERIFY_LEVELS masked rows and PROGRAM_VERIFY lists for verifying. A resume
    /// counts and judges by them.
    /// </summary>
    private List<CellSpan> CommandSpans(int[] cells, bool byPulses)
    {
        CellAddress[] addresses = [.. cells.Select(c => plan.Cells[c])];
        return byPulses ? client.ProgramSpans(addresses) : client.VerifySpans(addresses);
    }

    /// <summary>
    /// Journals a PROGRAM or PROGRAM_VERIFY chunk as started, with what a recovery needs: the snapshot of its cells,
    /// and the sequence number its first command takes and how many commands it has. Nothing is sent between this
    /// and the chunk's commands, so they are numbered from there on.
    /// </summary>
    private async Task StartChunkAsync(string phase, int start, int[] cells)
    {
        if (journal is null)
        {
            return;
        }
        byte[] before = await SnapshotAsync(journal, cells).ConfigureAwait(false);
        journal.SetFact(SessionJournal.ChunkSeriesFact, new ChunkSeries(phase, start, client.NextSequence, CommandSpans(cells, phase == "program").Count).ToJournalText());
        journal.Started(phase, start, cells.Length, before);
    }

    /// <summary>
    /// A replay of an interrupted chunk's commands under the numbers the dead host gave them, or null when one is
    /// not safe: when this client did not continue the dead host's series (<see cref="SessionJournal.ClaimSeriesContinuation"/>),
    /// when the commands would not come out the same, when this client's requests since have pushed the oldest of
    /// them out of the board's cache window (a command never run would then be refused as stale, or worse), or when
    /// the board was reset or lost power since the chunk began (which clears its cache: every command would run again).
    /// </summary>
    /// <param name="cells">The chunk's cells (plan indices), as its commands were cut from them.</param>
    private async Task<IDisposable?> ReplayAsync(string phase, int start, int[] cells)
    {
        if (ChunkSeries.Parse(journal?.Fact(SessionJournal.ChunkSeriesFact)) is not { } series
            || series.Phase != phase || series.FirstCell != start || series.Commands != CommandSpans(cells, phase == "program").Count
            || client.FirstSequence != unchecked(series.FirstSequence + (uint)series.Commands)
            || (client.ProtocolVersion >= 2 && !client.SessionResumed))
        {
            // Version 2 keeps answers per session: in any session but the dead host's, its numbers would all run again.
            return null;
        }
        BoardActivity? stamped = StampedBoardState();
        BoardActivity now = await ActivityAsync().ConfigureAwait(false);
        if (stamped is null || now.RestartedSince(stamped.Value) || unchecked(client.NextSequence - series.FirstSequence) > board.ResponseCacheDepth)
        {
            return null;
        }
        return client.ReplayFrom(series.FirstSequence);
    }

    /// <summary>Journals the board's counters now, for a later resume to tell whether they ran on or restarted.</summary>
    private async Task StampBoardStateAsync(SessionJournal record) =>
        record.SetFact(SessionJournal.BoardStateFact, (await ActivityAsync().ConfigureAwait(false)).ToJournalText());

    private BoardActivity? StampedBoardState() => BoardActivity.ParseJournalText(journal!.Fact(SessionJournal.BoardStateFact));

    /// <summary>What recovery compares against: per-cell pulse and read counters (or, without COUNTERS, conductances).</summary>
    private async Task<byte[]> SnapshotAsync(SessionJournal record, int[] cells)
    {
        CellAddress[] addresses = cells.Select(c => plan.Cells[c]).ToArray();
        // Per-cell counters and the response cache mean nothing across a power loss or a RESET that clears them;
        // this stamp lets a recovery tell. It is written before the chunk is, so a started chunk always has its own.
        await StampBoardStateAsync(record).ConfigureAwait(false);
        if (hasCounters)
        {
            CellCounters[] counters = await client.CountersAsync(addresses, cancellationToken).ConfigureAwait(false);
            return MemoryMarshal.AsBytes(counters.SelectMany(c => new[] { c.Pulses, c.Reads }).ToArray().AsSpan()).ToArray();
        }
        // Four samples, as the judgement's later read takes: one sample's noise can be as wide as the band itself.
        float[] values = await client.ReadAsync(addresses, 4, cancellationToken).ConfigureAwait(false);
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    /// <summary>The cells of an unfinished chunk that the board did not act on, judged against the snapshot taken before it.</summary>
    private async Task<int[]> UntouchedAsync(int[] cells, byte[] before, bool byPulses)
    {
        CellAddress[] addresses = cells.Select(c => plan.Cells[c]).ToArray();
        if (hasCounters)
        {
            BoardActivity? stamped = StampedBoardState();
            BoardActivity epoch = await ActivityAsync().ConfigureAwait(false);
            if (stamped is null || epoch.RestartedSince(stamped.Value))
            {
                // Which cells the board acted on is lost with its counters; sending any of them again could pulse a
                // cell twice, which a session never does. They stay as the board has them, and the report says so.
                Notes.Add($"the board restarted its counters (a power loss or a RESET) while the {(byPulses ? "program" : "verify")} chunk of {cells.Length:N0} cells "
                    + $"was in flight, so Swim cannot tell which of them it pulsed; those cells were left as the board has them rather than risk pulsing any twice"
                    + (byPulses ? " (their read-back error is in the per-layer figures)." : " (they count as verified, outcome unknown)."));
                return [];
            }
            uint[] then = MemoryMarshal.Cast<byte, uint>(before).ToArray();
            CellCounters[] now = await client.CountersAsync(addresses, cancellationToken).ConfigureAwait(false);
            return cells.Where((_, i) => byPulses ? now[i].Pulses == then[2 * i] : now[i].Reads == then[2 * i + 1]).ToArray();
        }
        // Without COUNTERS, READ is the evidence, judged a whole command at a time: the board runs a command whole
        // or not at all. A cell clearly away from its target before the chunk (by more than twice the band read
        // noise stays inside) lands at least halfway to the target if the board reached it, unless it is stuck;
        // read noise cannot carry it that far. So a command ran when most of its such cells landed. Judging
        // cell by cell instead would resend a ran command's stuck cells (pulsing them twice) and leave a lost
        // command's noise-moved cells unprogrammed. A command with no such cell needs nothing: its cells are
        // near their targets already (level 0 on a fresh board is half of every differential pair).
        float[] was = MemoryMarshal.Cast<byte, float>(before).ToArray();
        float[] current = await client.ReadAsync(addresses, 4, cancellationToken).ConfigureAwait(false);
        double band = Math.Max(4 * (client.Board?.ReadResolutionMicrosiemens ?? 0), 0.01 * (plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin));
        var untouched = new List<int>();
        foreach (CellSpan command in CommandSpans(cells, byPulses))
        {
            int first = command.Start, end = command.Start + command.Count;
            int away = 0, landed = 0;
            for (int i = first; i < end; i++)
            {
                double target = plan.TargetConductance(cells[i]);
                double distance = Math.Abs(was[i] - target);
                if (distance > 2 * band)
                {
                    away++;
                    landed += Math.Abs(current[i] - target) < distance / 2 ? 1 : 0;
                }
            }
            if (away == 0 || 4 * landed > away)
            {
                continue;
            }
            for (int i = first; i < end; i++)
            {
                if (!byPulses || Math.Abs(current[i] - plan.TargetConductance(cells[i])) > 2 * band)
                {
                    untouched.Add(cells[i]);
                }
            }
        }
        return [.. untouched];
    }

    private Task Chunks(string phase, int total, int chunkCells, Func<int, int, ChunkRecord?, Task<byte[]?>> work, Action<int, int, byte[]>? results = null,
        Func<Task<bool>>? stopBefore = null) => Chunks(phase, total, _ => chunkCells, work, results, stopBefore);

    /// <param name="chunkCellsAt">How many cells the chunk that begins at a cell holds (when no journal says otherwise).</param>
    private async Task Chunks(string phase, int total, Func<int, int> chunkCellsAt, Func<int, int, ChunkRecord?, Task<byte[]?>> work, Action<int, int, byte[]>? results = null,
        Func<Task<bool>>? stopBefore = null)
    {
        progress?.Report(new SessionProgress(phase, 0, total));
        for (int start = 0, count; start < total; start += count)
        {
            ChunkRecord? record = journal?.Find(phase, start);
            // A journalled chunk keeps the size it was started with (a journal from a Swim that cut chunks otherwise).
            count = record?.Count ?? Math.Min(chunkCellsAt(start), total - start);
            byte[]? result;
            if (record is { Done: true })
            {
                result = record.Result;
            }
            else
            {
                // A chunk already started must be finished (its cells may be half done); a new one may be skipped.
                if (record is null && stopBefore is not null && await stopBefore().ConfigureAwait(false))
                {
                    progress?.Report(new SessionProgress(phase, total, total));
                    return;
                }
                result = await work(start, count, record).ConfigureAwait(false);
                if (journal is not null)
                {
                    // Stamped again before the chunk is marked done: a resume that finds no chunk in flight compares
                    // the board with counters that include this chunk's pulses, so a board that restarted blank (and
                    // has since run its clock past the stamp taken before the chunk) cannot pass for this one.
                    await StampBoardStateAsync(journal).ConfigureAwait(false);
                    journal.Done(phase, start, result);
                }
            }
            if (result is not null)
            {
                results?.Invoke(start, count, result);
            }
            progress?.Report(new SessionProgress(phase, start + count, total));
        }
    }
}
