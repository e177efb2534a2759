using Swim.Controller;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// A session interrupted at a random moment (requests in flight, a chunk journalled as started but not done,
/// which is what a kill leaves) and resumed must end exactly where an uninterrupted session on an identical
/// board ends: every cell pulsed as often, every conductance the same, the same weights. Drift is off, because
/// drift runs on the board's one clock and an interrupted session reaches the cells in another order.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class SessionResumeTests
{
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;
    private static readonly Lazy<SensitivityResult> s_sensitivity = new(() => BundledLeNet.Sensitivity(300, 150));
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };

    private static ProgrammingOptions Options(SelectionMethod method, bool hostVerify = false) =>
        new() { Method = method, Fraction = 0.1, Seed = 3, ChunkCells = 8192, HostVerify = hostVerify };

    private static async Task<(ProgrammingResult Result, EmulatedBoard Board)> Uninterrupted(SelectionMethod method, string journalPath, bool hostVerify = false)
    {
        var board = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7);
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        using SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" });
        ProgrammingResult result = await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, Options(method, hostVerify), DeviceVariance.From(s_preset), journal: journal);
        return (result, board);
    }

    /// <summary>
    /// A session on a fresh board identical to the reference, killed after the N-th frame it sends; once the board
    /// has executed what the dead host sent (one serial line gives this order by itself; a second connection must
    /// wait for the first to drain), a new connection resumes it. Returns the board, the resumed result and the
    /// chunks the kill left started; the resumed journal must end complete and intact.
    /// </summary>
    private static async Task<(EmulatedBoard Board, ProgrammingResult Resumed, List<(string Phase, bool Done, int Chunks, long Cells)> LeftStarted)> KillAndResume(
        ProgrammingOptions options, int killAfterFrames, string journalPath, bool continueSeries = true)
    {
        var board = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7);
        await using var host = new EmulatorHost(board);
        (var link, Task drained) = host.ConnectInProcessWithCompletion();
        List<(string Phase, bool Done, int Chunks, long Cells)> leftStarted;
        using (var kill = new CancellationTokenSource())
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        await using (var client = new BoardClient(new KillSwitch(link, killAfterFrames, kill), KillSwitch.ClientOptions()))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options,
                DeviceVariance.From(s_preset), journal: journal, cancellationToken: kill.Token));
            leftStarted = [.. journal.Summary().Where(row => !row.Done)];
        }
        await drained.WaitAsync(TimeSpan.FromSeconds(30));

        await using var resumedClient = new BoardClient(host.ConnectInProcess(), ResumedOptions(journalPath, continueSeries));
        using SessionJournal resumedJournal = SessionJournal.Open(journalPath);
        ProgrammingResult resumed = await ProgrammingSession.RunAsync(resumedClient, s_lenet, s_sensitivity.Value, options, DeviceVariance.From(s_preset), journal: resumedJournal);
        Assert.Equal("ok", resumedJournal.IntegrityCheck());
        Assert.DoesNotContain(resumedJournal.Summary(), row => !row.Done);
        Assert.Equal("completed", resumedJournal.Fact("state"));
        return (board, resumed, leftStarted);
    }

    /// <summary>
    /// A resumed host's client: continuing the dead host's sequence numbers, as <c>swim program --resume</c> does, so the
    /// interrupted chunk is replayed from the board's cache; or with a series of its own, which leaves the resume to
    /// judge the chunk by the board's counters or by READ.
    /// </summary>
    private static BoardClientOptions ResumedOptions(string journalPath, bool continueSeries)
    {
        uint? first = continueSeries ? SessionJournal.ClaimSeriesContinuation(journalPath)?.NextSequence : null;
        Assert.Equal(continueSeries, first is not null);
        // As KillSwitch.ClientOptions: a stall of a loaded machine must not resend requests (a resend adds a note, and
        // frames), which the tests would take for the resume's doing.
        // The dead host's session, reopened from the journal as swim program --resume does: its cache answers the replay.
        return new BoardClientOptions { InitialSequence = first, AttemptTimeout = TimeSpan.FromSeconds(30), ResumeSession = SessionJournal.BoardSessionOf(journalPath) };
    }

    // Frames with 8,192-cell chunks: IDENTIFY and STATUS, then 61 program chunks (a STATUS that stamps the counters'
    // epoch, COUNTERS of its cells, then its PROGRAM_LEVELS and PROGRAM commands), then verify chunks (STATUS,
    // COUNTERS, PROGRAM_VERIFY), then reads. The kill lands right after the given command (from 0) of the given chunk.
    // Kills inside commands of programming and verification must leave no trace at all: nothing is read twice there.
    // Continuing the series, the chunk is replayed: the board answers what it ran from its cache (every verify outcome
    // included) and runs the rest. With a series of its own, the resume judges by the cells' counters.
    [Theory]
    [InlineData(SelectionMethod.Swim, "program", 12, 9, true)]
    [InlineData(SelectionMethod.Swim, "program", 12, 9, false)]
    [InlineData(SelectionMethod.Random, "program", 23, 24, false)]
    [InlineData(SelectionMethod.Posterior, "program", 40, 14, true)]
    [InlineData(SelectionMethod.Swim, "verify", 2, 6, true)]
    [InlineData(SelectionMethod.Swim, "verify", 2, 6, false)]
    [InlineData(SelectionMethod.Magnitude, "verify", 5, 16, true)]
    public async Task A_session_killed_mid_chunk_and_resumed_ends_as_an_uninterrupted_one(SelectionMethod method, string phase, int chunk, int command, bool continueSeries)
    {
        using var dir = new TempDirectory();
        int killAfterFrames = await CommandFrame(phase, chunk, command, options: Options(method));
        (ProgrammingResult expected, EmulatedBoard reference) = await Uninterrupted(method, dir.File("reference.db"));

        (EmulatedBoard board, ProgrammingResult resumed, var leftStarted) = await KillAndResume(Options(method), killAfterFrames, dir.File("session.db"), continueSeries);

        // The kill came with commands of a journalled chunk in flight: exactly one chunk was left started.
        Assert.True(leftStarted.Count == 1, string.Join("; ", leftStarted));
        for (int cell = 0; cell < board.Cells.Count; cell++)
        {
            Assert.Equal(reference.Cells.CountersOf(cell).Pulses, board.Cells.CountersOf(cell).Pulses);
            Assert.Equal(reference.Cells.TrueConductance(cell), board.Cells.TrueConductance(cell));
        }
        Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
        // The resumed session reports the whole session's cost, not only what the second process did.
        Assert.Equal((expected.Pulses, expected.VerifyIterations), (resumed.Pulses, resumed.VerifyIterations));
        // So does the time model: each cell's iterations are journalled with its outcome (unless a kill lost the answer).
        if (continueSeries)
        {
            Assert.Equal(expected.Modelled!.Value.ParallelSeconds, resumed.Modelled!.Value.ParallelSeconds, 1e-12);
        }
        // Said, not hidden: verify outcomes the kill lost (only without a replay) and requests sent again.
        Assert.All(resumed.Notes, n => Assert.True(n.Contains("verify outcomes were lost with a crash", StringComparison.Ordinal)
            || n.StartsWith("the link lost or damaged frames", StringComparison.Ordinal), n));
        Assert.Equal(!continueSeries && resumed.CellsVerified > resumed.VerifyConverged + resumed.VerifyDidNotConverge + resumed.VerifyStuck,
            resumed.Notes.Any(n => n.Contains("verify outcomes were lost with a crash", StringComparison.Ordinal)));
        // Only a replay recovers the outcomes of verifications whose answers the kill lost; the board's cache answered
        // it. (A retransmission, under load, is answered from the cache too; without a replay, only those are.)
        Assert.Equal(continueSeries, resumed.Link.Replays > resumed.Link.Retransmissions);
        if (continueSeries)
        {
            Assert.Equal((expected.VerifyConverged, expected.VerifyDidNotConverge, expected.VerifyStuck), (resumed.VerifyConverged, resumed.VerifyDidNotConverge, resumed.VerifyStuck));
        }
        foreach (Controller.Mapping.WeightMapping w in expected.Mapping.Weights)
        {
            Assert.Equal(expected.Programmed.ReadWeights(w.Name), resumed.Programmed.ReadWeights(w.Name));
        }
    }

    /// <summary>
    /// A --budget session counts its write-verify time from where verification first began, and that point is
    /// journalled: killed after a few verify chunks and resumed, it stops where the uninterrupted session stops.
    /// (Counted from the resume instead, it would spend the whole budget again and verify more.)
    /// </summary>
    [Fact]
    public async Task A_budget_session_killed_during_verify_stops_where_the_uninterrupted_one_stops()
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options(SelectionMethod.Swim) with { Fraction = 0, VerifyBudget = TimeSpan.FromMilliseconds(1500) };
        var reference = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7);
        ProgrammingResult expected;
        await using (var host = new EmulatorHost(reference))
        await using (var client = new BoardClient(host.ConnectInProcess()))
        using (SessionJournal journal = SessionJournal.Create(dir.File("reference.db"), new Dictionary<string, string> { ["model"] = "lenet" }))
        {
            expected = await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options, DeviceVariance.From(s_preset), journal: journal);
        }

        // A budget session adds a STATUS before each verify chunk; killed in the fourth (of 8,192 cells).
        (EmulatedBoard board, ProgrammingResult resumed, _) = await KillAndResume(options, await CommandFrame("verify", 3, 5, options: options), dir.File("session.db"));

        Assert.InRange(expected.CellsVerified, 5 * 8192, 491_760 - 8192);
        Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
        Assert.Equal(reference.Cells.TotalPulses, board.Cells.TotalPulses);
    }

    /// <summary>
    /// The host-driven loop resumed after a kill mid-verify: its lost READ answers must be read again (the read
    /// noise of a new read differs), so the interrupted chunk's cells cannot be bit-identical; every other cell
    /// must be, and the interrupted ones end in band with a bounded number of extra pulses (each after a fresh read).
    /// </summary>
    [Fact]
    public async Task The_host_verify_loop_killed_mid_chunk_resumes_from_fresh_reads_and_changes_only_that_chunk()
    {
        using var dir = new TempDirectory();
        (ProgrammingResult expected, EmulatedBoard reference) = await Uninterrupted(SelectionMethod.Swim, dir.File("reference.db"), hostVerify: true);

        // 101 frames into verification: the host loop's READs and WRITE_PULSEs of its second chunk.
        ProgrammingOptions options = Options(SelectionMethod.Swim, hostVerify: true);
        (EmulatedBoard board, ProgrammingResult resumed, var leftStarted) = await KillAndResume(options, await ProgramPhaseEnd(options) + 101, dir.File("session.db"), continueSeries: false);

        Assert.Equal("verify", Assert.Single(leftStarted).Phase);
        int differing = 0;
        for (int cell = 0; cell < board.Cells.Count; cell++)
        {
            uint was = reference.Cells.CountersOf(cell).Pulses, now = board.Cells.CountersOf(cell).Pulses;
            if (was != now || reference.Cells.TrueConductance(cell) != board.Cells.TrueConductance(cell))
            {
                differing++;
                Assert.InRange((int)now - (int)was, -50, 50);
            }
        }
        Assert.InRange(differing, 1, 8192);
        Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
        Assert.InRange(resumed.VerifyConverged, expected.VerifyConverged - 100, expected.CellsVerified);
    }

    /// <summary>
    /// Counts the open-loop writes and write-verifies each cell receives; unlike the board's counters, across power
    /// cycles. With <see cref="StuckTail"/>, the last cells of every PROGRAM and PROGRAM_LEVELS do not move (as stuck cells would),
    /// the same share of each command (40 or 64 of 256) whatever its length.
    /// </summary>
    private sealed class WriteLog(EmulatedBoard board) : DelegatingDevice(board)
    {
        /// <summary>Stuck cells at the end of a command of 256 cells; a shorter command has as large a share of its cells stuck.</summary>
        public int StuckTail { get; init; }

        private int Stuck(int cells) => cells * StuckTail / 256;

        public int[] Programs { get; } = new int[board.Cells.Count];

        public int[] Verifies { get; } = new int[board.Cells.Count];

        public override BoardResponse Execute(BoardRequest request)
        {
            switch (request)
            {
                case ProgramRequest program:
                    foreach (var target in program.Targets)
                    {
                        Programs[Inner.IndexOf(target.Cell)]++;
                    }
                    if (Stuck(program.Targets.Count) is > 0 and var stuck)
                    {
                        Inner.Execute(new ProgramRequest([.. program.Targets.Take(program.Targets.Count - stuck)]));
                        return new ProgramResponse([.. program.Targets.Select(_ => StatusCode.Ok)]);
                    }
                    break;
                case ProgramLevelsRequest levels:
                    CellAddress[] cells = [.. levels.Addresses()];
                    foreach (CellAddress cell in cells)
                    {
                        Programs[Inner.IndexOf(cell)]++;
                    }
                    if (Stuck(cells.Length) is > 0 and var stuckCells)
                    {
                        Inner.Execute(new ProgramRequest([.. cells.Zip(levels.Levels, (c, l) => new ProgramTarget(c, TargetKind.Level, l)).Take(cells.Length - stuckCells)]));
                        return new ProgramLevelsResponse([]);
                    }
                    break;
                case ProgramVerifyRequest verify:
                    foreach (var target in verify.Targets)
                    {
                        Verifies[Inner.IndexOf(target.Cell)]++;
                    }
                    break;
                case VerifyLevelsRequest verifyLevels:
                    foreach (CellAddress cell in verifyLevels.Selected())
                    {
                        Verifies[Inner.IndexOf(cell)]++;
                    }
                    break;
            }
            return base.Execute(request);
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(BoardCapabilities, ProgrammingOptions), Lazy<Task<List<byte>>>> s_reference = new();

    /// <summary>The opcode of every frame an uninterrupted journalled session sends, on a fresh board of these capabilities.</summary>
    private static Task<List<byte>> ReferenceFrames(BoardCapabilities capabilities, ProgrammingOptions options) =>
        s_reference.GetOrAdd((capabilities, options), key => new Lazy<Task<List<byte>>>(async () =>
        {
            var board = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7, key.Item1);
            await using var host = new EmulatorHost(board);
            using var never = new CancellationTokenSource();
            var recorder = new KillSwitch(host.ConnectInProcess(), int.MaxValue, never);
            using var dir = new TempDirectory();
            using SessionJournal journal = SessionJournal.Create(dir.File("reference.db"), new Dictionary<string, string> { ["model"] = "lenet" });
            await using (var client = new BoardClient(recorder, KillSwitch.ClientOptions()))
            {
                await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, key.Item2, DeviceVariance.From(s_preset), journal: journal);
            }
            lock (recorder.Opcodes)
            {
                return [.. recorder.Opcodes];
            }
        })).Value;

    private static bool InPhase(byte opcode, string phase) => phase == "program"
        ? opcode is (byte)Opcode.Program or (byte)Opcode.ProgramLevels
        : opcode is (byte)Opcode.ProgramVerify or (byte)Opcode.VerifyLevels;

    /// <summary>
    /// The number (from 1) of the frame that carries <paramref name="command"/> (from 0) of the <paramref name="chunk"/>-th
    /// chunk of a phase, as an uninterrupted session sends them: a chunk's commands are a run of PROGRAM and
    /// PROGRAM_LEVELS (or PROGRAM_VERIFY and VERIFY_LEVELS) frames, the runs parted by each chunk's STATUS and snapshot. A kill right after
    /// it leaves that chunk in flight.
    /// </summary>
    private static async Task<int> CommandFrame(string phase, int chunk, int command, BoardCapabilities capabilities = EmulatedBoard.AllCapabilities,
        ProgrammingOptions? options = null)
    {
        List<byte> frames = await ReferenceFrames(capabilities, options ?? Options(SelectionMethod.Swim));
        int run = -1;
        for (int i = 0; i < frames.Count; i++)
        {
            if (InPhase(frames[i], phase) && (i == 0 || !InPhase(frames[i - 1], phase)) && ++run == chunk)
            {
                Assert.True(i + command < frames.Count && InPhase(frames[i + command], phase), $"{phase} chunk {chunk} has no command {command}");
                return i + command + 1;
            }
        }
        throw new InvalidOperationException($"the reference session has no {phase} chunk {chunk}");
    }

    /// <summary>The number (from 1) of the last frame of the programming phase: what follows is verification.</summary>
    private static async Task<int> ProgramPhaseEnd(ProgrammingOptions options) =>
        (await ReferenceFrames(EmulatedBoard.AllCapabilities, options)).FindLastIndex(o => InPhase(o, "program")) + 1;

    /// <summary>
    /// A session on a board behind a <see cref="WriteLog"/>, killed after the N-th frame, optionally power-cycled,
    /// then resumed on a new connection. Returns the log, the board and the resumed result.
    /// </summary>
    private static async Task<(WriteLog Log, EmulatedBoard Board, ProgrammingResult Resumed)> KillAndResumeLogged(
        BoardCapabilities capabilities, int killAfterFrames, string phase, bool powerCycle, string journalPath, bool continueSeries, int stuckTail = 0)
    {
        var board = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7, capabilities);
        var log = new WriteLog(board) { StuckTail = stuckTail };
        var endpoint = new BoardEndpoint(log);
        ProgrammingOptions options = Options(SelectionMethod.Swim);
        using var stop = new CancellationTokenSource();

        var (hostEnd, boardEnd) = InMemoryLink.CreatePair();
        Task serving = endpoint.ServeAsync(boardEnd, stop.Token);
        using (var kill = new CancellationTokenSource())
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        await using (var client = new BoardClient(new KillSwitch(hostEnd, killAfterFrames, kill), KillSwitch.ClientOptions()))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options,
                journal: journal, cancellationToken: kill.Token));
            Assert.Equal(phase, Assert.Single(journal.Summary(), row => !row.Done).Phase);
        }
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        if (powerCycle)
        {
            endpoint.PowerCycle();
        }

        var (again, boardAgain) = InMemoryLink.CreatePair();
        Task servingAgain = endpoint.ServeAsync(boardAgain, stop.Token);
        ProgrammingResult resumed;
        await using (var client = new BoardClient(again, ResumedOptions(journalPath, continueSeries)))
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            resumed = await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options, journal: journal);
            Assert.Equal("completed", journal.Fact("state"));
        }
        await stop.CancelAsync();
        return (log, board, resumed);
    }

    /// <summary>
    /// A power loss between the kill and the resume clears the board's counters and its response cache, the journal's
    /// only evidence of which cells of the interrupted chunk the board acted on. Judging by the counters anyway would
    /// send every cell of that chunk again, and so would a replay (the cache no longer answers it). The resume must
    /// notice, send none of them, say so, and finish everything else exactly once.
    /// </summary>
    [Theory]
    [InlineData(12, 9, "program", true)]
    [InlineData(12, 9, "program", false)]
    [InlineData(2, 6, "verify", true)]
    public async Task A_board_that_lost_power_with_a_chunk_in_flight_never_gets_a_cell_twice(int chunk, int command, string phase, bool continueSeries)
    {
        using var dir = new TempDirectory();
        int killAfterFrames = await CommandFrame(phase, chunk, command);

        (WriteLog log, EmulatedBoard board, ProgrammingResult resumed) = await KillAndResumeLogged(
            EmulatedBoard.AllCapabilities, killAfterFrames, phase, powerCycle: true, dir.File("session.db"), continueSeries);

        Assert.All(log.Programs, n => Assert.InRange(n, 0, 1));
        Assert.All(log.Verifies, n => Assert.InRange(n, 0, 1));
        int neverProgrammed = log.Programs.Count(n => n == 0) - (board.Cells.Count - resumed.CellsProgrammed);
        Assert.InRange(neverProgrammed, 0, Options(SelectionMethod.Swim).ChunkCells);
        Assert.Contains(resumed.Notes, n => n.Contains($"restarted its counters (a power loss or a RESET) while the {phase} chunk", StringComparison.Ordinal));
        Assert.True(resumed.Notes.Any(n => n.Contains("between the session's start and its resume", StringComparison.Ordinal)), string.Join(" | ", resumed.Notes));
    }

    /// <summary>
    /// Without COUNTERS the resume judges an interrupted chunk's commands by READ (docs/journal.md). A cell whose
    /// target is where it already stood (level 0 on a fresh board: half of every differential pair) or a stuck one
    /// does not move when programmed, and must not be programmed again for that reason (1,727
    /// cells were, when cells were judged one by one by movement). With the last 40 or 64 of every 256 cells of a
    /// PROGRAM or PROGRAM_LEVELS stuck, a command the board ran must still count as run (a command whose cells are mostly
    /// stuck cannot be told from one that never ran: the judgement is by majority). No cell may be left unprogrammed away from its target.
    /// </summary>
    // A chunk: STATUS, the READs of its snapshot (rectangles where its cells are rows), then its commands; the kill lands
    // after the given command (from 0) of the given chunk, found in an uninterrupted session's frames.
    [Theory]
    [InlineData(12, 10, "program", 0)]
    [InlineData(40, 15, "program", 0)]
    [InlineData(20, 15, "program", 40)]
    [InlineData(30, 6, "program", 64)]
    [InlineData(2, 7, "verify", 0)]
    public async Task A_board_without_counters_resumed_mid_chunk_never_gets_a_cell_twice(int chunk, int command, string phase, int stuckTail)
    {
        using var dir = new TempDirectory();
        int killAfterFrames = await CommandFrame(phase, chunk, command, EmulatedBoard.AllCapabilities & ~BoardCapabilities.Counters);

        (WriteLog log, EmulatedBoard board, ProgrammingResult resumed) = await KillAndResumeLogged(
            EmulatedBoard.AllCapabilities & ~BoardCapabilities.Counters, killAfterFrames, phase, powerCycle: false, dir.File("session.db"), continueSeries: false, stuckTail);

        Assert.All(log.Programs, n => Assert.InRange(n, 0, 1));
        Assert.All(log.Verifies, n => Assert.InRange(n, 0, 1));
        // Cells never sent are those of the interrupted chunk that already read at their target; every other cell once.
        Assert.InRange(resumed.CellsProgrammed - log.Programs.Sum(), phase == "program" ? 1 : 0, phase == "program" ? Options(SelectionMethod.Swim).ChunkCells : 0);
        var plan = Controller.Mapping.CellPlan.Build(resumed.Mapping, s_lenet);
        double band = 0.02 * (plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin);
        int[] leftOffTarget = [.. Enumerable.Range(0, plan.CellCount).Where(c => log.Programs[board.IndexOf(plan.Cells[c])] == 0
            && Math.Abs(board.Cells.TrueConductance(board.IndexOf(plan.Cells[c])) - plan.TargetConductance(c)) > band)];
        Assert.True(leftOffTarget.Length == 0, string.Join("; ", leftOffTarget.Take(8).Select(c =>
            $"cell {c} (chunk {c / 8192}, at {c % 8192}): {board.Cells.TrueConductance(board.IndexOf(plan.Cells[c])):F2} uS, target {plan.TargetConductance(c):F2}, stuck {board.Cells.IsStuck(board.IndexOf(plan.Cells[c]))}")));
        Assert.InRange(resumed.CellsVerified - log.Verifies.Sum(), 0, phase == "verify" ? Options(SelectionMethod.Swim).ChunkCells : 0);
        Assert.All(resumed.Notes, n => Assert.True(n.Contains("verify outcomes were lost with a crash", StringComparison.Ordinal)
            || n.StartsWith("the link lost or damaged frames", StringComparison.Ordinal), n));
    }

    /// <summary>
    /// Without COUNTERS, a resume that continues the dead host's sequence numbers needs no judgement at all: the
    /// interrupted chunk's commands go out again under their own numbers, the board answers those it ran from its
    /// cache and runs the others. Every cell is programmed exactly once and verified at most once, stuck cells
    /// included, and no verify outcome is lost.
    /// </summary>
    [Theory]
    [InlineData(12, 10, "program", 0)]
    [InlineData(30, 6, "program", 64)]
    [InlineData(2, 7, "verify", 0)]
    public async Task A_board_without_counters_replays_the_interrupted_chunk_exactly(int chunk, int command, string phase, int stuckTail)
    {
        using var dir = new TempDirectory();
        int killAfterFrames = await CommandFrame(phase, chunk, command, EmulatedBoard.AllCapabilities & ~BoardCapabilities.Counters);

        (WriteLog log, EmulatedBoard board, ProgrammingResult resumed) = await KillAndResumeLogged(
            EmulatedBoard.AllCapabilities & ~BoardCapabilities.Counters, killAfterFrames, phase, powerCycle: false, dir.File("session.db"), continueSeries: true, stuckTail);

        var plan = Controller.Mapping.CellPlan.Build(resumed.Mapping, s_lenet);
        Assert.All(Enumerable.Range(0, plan.CellCount), c => Assert.Equal(1, log.Programs[board.IndexOf(plan.Cells[c])]));
        Assert.Equal(plan.CellCount, log.Programs.Sum());
        Assert.All(log.Verifies, n => Assert.InRange(n, 0, 1));
        Assert.Equal(resumed.CellsVerified, log.Verifies.Sum());
        Assert.Equal(resumed.CellsVerified, resumed.VerifyConverged + resumed.VerifyDidNotConverge + resumed.VerifyStuck);
        Assert.True(resumed.Link.Replays > resumed.Link.Retransmissions);
        Assert.Empty(resumed.Notes);
    }

    /// <summary>
    /// A board that restarted without its cells (an emulator served without a state file, a chip swapped in the socket)
    /// gives the same identity as before. The resume must find out from the cells themselves, refuse before it pulses
    /// anything, name the fix, and go on only when told to.
    /// </summary>
    [Fact]
    public async Task A_resume_on_a_board_that_lost_the_programmed_cells_is_refused_before_any_pulse()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        ProgrammingOptions options = Options(SelectionMethod.Magnitude);
        var first = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7);
        await using (var host = new EmulatorHost(first))
        using (var kill = new CancellationTokenSource())
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        await using (var client = new BoardClient(new KillSwitch(host.ConnectInProcess(), 65 * 12 + 45, kill), KillSwitch.ClientOptions()))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_lenet, null, options, journal: journal, cancellationToken: kill.Token));
        }

        // The same seed: the same serial and geometry, every cell as it left the factory.
        var blank = new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7);
        await using var blankHost = new EmulatorHost(blank);
        await using (var client = new BoardClient(blankHost.ConnectInProcess()))
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            var refused = await Assert.ThrowsAsync<SwimInputException>(() => ProgrammingSession.RunAsync(client, s_lenet, null, options, journal: journal));
            Assert.Contains("the board does not hold them", refused.Message, StringComparison.Ordinal);
            Assert.Contains("swim emulator --state", refused.Message, StringComparison.Ordinal);
            Assert.Contains("--resume-on-blank-board", refused.Message, StringComparison.Ordinal);
        }
        Assert.All(Enumerable.Range(0, blank.Cells.Count), c => Assert.Equal(0u, blank.Cells.CountersOf(c).Pulses));

        await using (var client = new BoardClient(blankHost.ConnectInProcess()))
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            ProgrammingResult anyway = await ProgrammingSession.RunAsync(client, s_lenet, null, options with { AcceptLostCells = true }, journal: journal);
            Assert.Equal("completed", journal.Fact("state"));
            // The journalled chunks were skipped, so the board holds only the rest: what the refusal protected against.
            Assert.True(blank.Cells.Count - Enumerable.Range(0, blank.Cells.Count).Count(c => blank.Cells.CountersOf(c).Pulses == 0) < anyway.CellsProgrammed);
        }
    }

    [Fact]
    public async Task A_finished_journal_is_not_overwritten_and_a_missing_one_cannot_be_resumed()
    {
        using var dir = new TempDirectory();
        await Uninterrupted(SelectionMethod.Magnitude, dir.File("done.db"));

        Assert.Contains("--resume", Assert.Throws<SwimInputException>(() => SessionJournal.Create(dir.File("done.db"), new Dictionary<string, string>())).Message);
        Assert.Contains("without --resume", Assert.Throws<SwimInputException>(() => SessionJournal.Open(dir.File("none.db"))).Message);
    }

    /// <summary>
    /// A claim goes back only while its host has sent no more than one request (the IDENTIFY a resume begins with): the
    /// next resume repeats that request under the same number and the board's cache answers it; after a second request
    /// the claim must stay used, because the next resume's second request would meet that request's cached answer.
    /// </summary>
    [Fact]
    public async Task A_claim_goes_back_only_while_its_host_has_sent_no_more_than_identify()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        {
            journal.Started("program", 0, 1024, null);
            journal.SetFact(SessionJournal.ChunkSeriesFact, new ChunkSeries("program", 0, 40, 16).ToJournalText());
        }
        await using var host = new EmulatorHost(new EmulatedBoard(s_preset, new BoardGeometry(16, 256, 256), seed: 7));

        SeriesClaim claim = SessionJournal.ClaimSeriesContinuation(journalPath) ?? throw new InvalidOperationException("no claim");
        Assert.Equal(56u, claim.NextSequence);
        await using (var client = new BoardClient(host.ConnectInProcess(), new BoardClientOptions { InitialSequence = claim.NextSequence }))
        {
            await client.IdentifyAsync();
            Assert.True(SessionJournal.ReleaseSeriesClaim(claim, client));
        }

        claim = SessionJournal.ClaimSeriesContinuation(journalPath) ?? throw new InvalidOperationException("the claim was not given back");
        await using (var client = new BoardClient(host.ConnectInProcess(), new BoardClientOptions { InitialSequence = claim.NextSequence }))
        {
            await client.IdentifyAsync();
            await client.StatusAsync();
            Assert.False(SessionJournal.ReleaseSeriesClaim(claim, client));
        }
        Assert.Null(SessionJournal.ClaimSeriesContinuation(journalPath));
    }
}
