using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// The session's promises on a model small enough that a session takes milliseconds (the 16-8-3 classifier, 152
/// weights), so that these tests can judge every change to the runner, mutation runs included. Each is checked against
/// something the session did not compute: the emulated board's own per-cell counters, an open-loop session on an
/// identical board, the weights' magnitudes read from the model, one board holding every tile of a set.
/// (The LeNet-5 tests beside them check the same promises at full size, fewer times.)
/// </summary>
public sealed class SmallSessionTests
{
    private static readonly TinyMlp s_mlp = new(3);
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(s_mlp.Build().ToByteArray(), "tiny mlp", null);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private static readonly BoardGeometry s_geometry = new(2, 64, 64);

    private static Dictionary<string, string> Facts => new() { ["model"] = "tiny" };

    private static ProgrammingOptions Options(double fraction = 0.3, bool hostVerify = false) =>
        new() { Method = SelectionMethod.Magnitude, Fraction = fraction, Seed = 5, ChunkCells = 24, HostVerify = hostVerify };

    /// <summary>An emulated board on an in-memory link, with the opcode of every frame the host wrote.</summary>
    private sealed class Bench : IAsyncDisposable
    {
        private readonly Task _served;

        public Bench(BoardCapabilities capabilities = EmulatedBoard.AllCapabilities, ulong seed = 9, Func<EmulatedBoard, IBoardDevice>? device = null,
            BoardClientOptions? clientOptions = null, DevicePreset? preset = null, Func<IReadOnlyList<byte>, bool>? killAfter = null)
        {
            Board = new EmulatedBoard(preset ?? s_preset, s_geometry, seed, capabilities);
            Endpoint = new BoardEndpoint(device?.Invoke(Board) ?? Board);
            (ByteTransport host, _served) = Connect();
            Wire = new KillSwitch(host, killAfter ?? (_ => false), Kill);
            // A killed host sends no CLOSE and does not wait for one's answer.
            BoardClientOptions options = clientOptions ?? KillSwitch.ClientOptions();
            options.CloseOnDispose = killAfter is null;
            Client = new BoardClient(Wire, options);
        }

        /// <summary>Cancelled when the kill switch pulls the plug.</summary>
        public CancellationTokenSource Kill { get; } = new();

        public EmulatedBoard Board { get; }

        public BoardEndpoint Endpoint { get; }

        public KillSwitch Wire { get; }

        public BoardClient Client { get; }

        public int Sent(Opcode opcode) => Wire.Opcodes.Count(o => o == (byte)opcode);

        /// <summary>A second host on the same board, as <c>swim program --resume</c> connects: continuing the journal's series and board session.</summary>
        public async Task<BoardClient> ResumeAsync(string journalPath)
        {
            await DisposeClientAsync();
            await _served.WaitAsync(TimeSpan.FromSeconds(30));
            (ByteTransport host, Task served) = Connect();
            _resumed.Add(served);
            return new BoardClient(host, new BoardClientOptions
            {
                InitialSequence = SessionJournal.ClaimSeriesContinuation(journalPath)?.NextSequence,
                ResumeSession = SessionJournal.BoardSessionOf(journalPath),
                AttemptTimeout = TimeSpan.FromSeconds(30),
            });
        }

        private readonly List<Task> _resumed = [];

        private (ByteTransport Host, Task Served) Connect()
        {
            (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
            return (host, Task.Run(() => Endpoint.ServeAsync(board, CancellationToken.None)));
        }

        private bool _clientDisposed;

        private async Task DisposeClientAsync()
        {
            if (!_clientDisposed)
            {
                _clientDisposed = true;
                await Client.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await DisposeClientAsync();
            await Task.WhenAll(_resumed.Append(_served)).WaitAsync(TimeSpan.FromSeconds(30));
            Kill.Dispose();
        }
    }

    /// <summary>Progress as reported, in order, with the board's device clock at each report (reports arrive between chunks).</summary>
    private sealed class ProgressLog(EmulatedBoard board) : IProgress<SessionProgress>
    {
        public List<(SessionProgress Progress, ulong DeviceTimeNs)> Reports { get; } = [];

        public void Report(SessionProgress value)
        {
            lock (Reports)
            {
                Reports.Add((value, board.Counters.DeviceTimeNs));
            }
        }

        public List<SessionProgress> Of(string phase) => [.. Reports.Where(r => r.Progress.Phase == phase).Select(r => r.Progress)];
    }

    /// <summary>The plan's cells at their board indices, and the weight each belongs to (plan order: cell c is weight c / cells a weight).</summary>
    private static (int[] BoardIndex, int[] Weight) Cells(ProgrammingResult result, EmulatedBoard board)
    {
        CellPlan plan = CellPlan.Build(result.Mapping, s_model);
        return ([.. plan.Cells.Select(board.IndexOf)], [.. Enumerable.Range(0, plan.CellCount).Select(c => c / result.Mapping.CellsPerWeight)]);
    }

    /// <summary>The model's weights in plan order (the Gemm's, then the MatMul's), as the mapping quantized them.</summary>
    private static float[] Targets(ProgrammingResult result) => [.. CellPlan.Build(result.Mapping, s_model).TargetWeights.SelectMany(w => w)];

    /// <summary>The cells a session verified: those it read more often than the open-loop session on an identical board did; and their weights.</summary>
    private static (int[] Cells, HashSet<int> Weights) Verified(ProgrammingResult result, EmulatedBoard board, EmulatedBoard openLoop)
    {
        (int[] index, int[] weight) = Cells(result, board);
        int[] verified = [.. Enumerable.Range(0, index.Length).Where(c => board.Cells.CountersOf(index[c]).Reads > openLoop.Cells.CountersOf(index[c]).Reads)];
        return (verified, [.. verified.Select(c => weight[c])]);
    }

    /// <summary>None of the weights left out is larger than the smallest of <paramref name="weights"/>.</summary>
    private static void AssertLargest(HashSet<int> weights, float[] targets)
    {
        float smallest = weights.Min(w => Math.Abs(targets[w]));
        Assert.All(Enumerable.Range(0, targets.Length).Where(w => !weights.Contains(w)), w => Assert.True(Math.Abs(targets[w]) <= smallest, $"weight {w} ({targets[w]}) left out, {smallest} verified"));
    }

    private static async Task<(ProgrammingResult Result, EmulatedBoard Board)> OpenLoop()
    {
        await using var bench = new Bench();
        return (await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(fraction: 0)), bench.Board);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Magnitude_verifies_exactly_the_largest_weights_and_reports_what_the_board_counted(bool hostVerify)
    {
        (_, EmulatedBoard openLoop) = await OpenLoop();
        using var dir = new TempDirectory();
        await using var bench = new Bench();
        var progress = new ProgressLog(bench.Board);
        ProgrammingResult result;
        using (SessionJournal journal = SessionJournal.Create(dir.File("session.db"), Facts))
        {
            result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(hostVerify: hostVerify), progress: progress, journal: journal);
            Assert.Equal("completed", journal.Fact("state"));
            Assert.DoesNotContain(journal.Summary(), row => !row.Done);
            long cells(string phase) => journal.Summary().Where(r => r.Phase == phase).Sum(r => r.Cells);
            Assert.Equal((result.CellsProgrammed, result.CellsVerified, result.CellsProgrammed), (cells("program"), cells("verify"), cells("read back")));
        }

        // Verified cells are those the session read more often than the open-loop session on an identical board did.
        (int[] index, _) = Cells(result, bench.Board);
        (int[] verified, HashSet<int> verifiedWeights) = Verified(result, bench.Board, openLoop);
        int[] unverified = [.. Enumerable.Range(0, index.Length).Except(verified)];
        Assert.Equal(verified.Length, result.CellsVerified);
        Assert.All(unverified, c => Assert.Equal(openLoop.Cells.CountersOf(index[c]).Pulses, bench.Board.Cells.CountersOf(index[c]).Pulses));
        // Whole weights, as many as the fraction of the model's 152 (rounded), none smaller than a weight left out.
        Assert.Equal((int)Math.Round(0.3 * (TinyMlp.Hidden * TinyMlp.Features + TinyMlp.Classes * TinyMlp.Hidden)), verifiedWeights.Count);
        Assert.Equal(verifiedWeights.Count * result.Mapping.CellsPerWeight, verified.Length);
        AssertLargest(verifiedWeights, Targets(result));

        // The cost is the board's own count (a fresh board: its counters began at zero), every cell programmed and read back.
        DeviceCounters counted = bench.Board.Counters;
        Assert.Equal((counted.DeviceTimeNs, counted.Pulses, counted.Reads, counted.VerifyIterations), (result.DeviceTimeNs, result.Pulses, result.Reads, result.VerifyIterations));
        Assert.False(result.DeviceTimeEstimated);
        Assert.Equal(index.Length, result.CellsProgrammed);
        Assert.All(index, i => Assert.True(bench.Board.Cells.CountersOf(i).Reads > 0));
        Assert.Equal(result.CellsVerified, result.VerifyConverged + result.VerifyDidNotConverge + result.VerifyStuck);
        Assert.True(result.VerifyConverged > result.CellsVerified / 2, $"{result.VerifyConverged} of {result.CellsVerified} converged");
        BoardWork board = Assert.Single(result.Boards);
        Assert.Equal((bench.Board.Info.Serial, result.CellsProgrammed, result.CellsVerified, result.DeviceTimeNs), (board.Serial, board.Cells, board.Verified, board.DeviceTimeNs));

        // The host's loop pulses and reads cell by cell; the board's runs its own.
        Assert.Equal(hostVerify, bench.Sent(Opcode.WritePulse) > 0);
        Assert.Equal(hostVerify, bench.Sent(Opcode.ProgramVerify) + bench.Sent(Opcode.VerifyLevels) == 0);

        // Each phase reported from nothing to all of its cells, in order, never going back.
        Assert.Equal(["program", "verify", "read back"], progress.Reports.Select(r => r.Progress.Phase).Distinct());
        foreach ((string phase, int total) in new[] { ("program", result.CellsProgrammed), ("verify", result.CellsVerified), ("read back", result.CellsProgrammed) })
        {
            List<SessionProgress> reports = progress.Of(phase);
            Assert.Equal((0, total), (reports[0].Done, reports[0].Total));
            Assert.Equal(total, reports[^1].Done);
            Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second.Done > p.First.Done), string.Join(", ", reports.Select(r => r.Done)));
        }
    }

    [Fact]
    public async Task The_read_back_decodes_each_weight_from_its_own_cells()
    {
        // No stuck cells: verified to 1 % of the window, every weight lies within a few of its quantization steps of its target.
        await using var bench = new Bench(preset: s_preset with { StuckRate = 0 });
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(fraction: 1));
        float[] targets = Targets(result);
        float[] programmed = [.. result.Mapping.Weights.SelectMany(m => result.Programmed.ReadWeights(m.Name))];
        Assert.Equal(targets.Length, programmed.Length);
        double scale = result.Mapping.Weights.Max(w => w.FullScale);
        Assert.All(Enumerable.Range(0, targets.Length), w => Assert.True(Math.Abs(programmed[w] - targets[w]) < 0.05 * scale, $"weight {w}: {programmed[w]} against {targets[w]}"));
        Assert.All(result.Layers, layer => Assert.InRange(layer.RmsError, 0, 0.02));
    }

    /// <summary>A budgeted session: its result, and each verify chunk's end as (cells verified, device time since the journalled start).</summary>
    private static async Task<(ProgrammingResult Result, List<(int Done, ulong Ns)> Chunks)> Budgeted(TimeSpan budget, string journalPath)
    {
        await using var bench = new Bench();
        var progress = new ProgressLog(bench.Board);
        using SessionJournal journal = SessionJournal.Create(journalPath, Facts);
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options() with { VerifyBudget = budget }, progress: progress, journal: journal);
        ulong start = ulong.Parse(journal.Fact("verify_start_device_ns")!, System.Globalization.CultureInfo.InvariantCulture);
        // A stop reports the phase whole; the chunks are the reports before it.
        List<(int Done, ulong Ns)> chunks = [.. progress.Reports.Where(r => r.Progress is { Phase: "verify", Done: > 0 } && r.Progress.Done <= result.CellsVerified)
            .Select(r => (r.Progress.Done, r.DeviceTimeNs - start))];
        return (result, chunks);
    }

    [Fact]
    public async Task A_budget_stops_at_the_first_chunk_that_ends_with_it_spent()
    {
        using var dir = new TempDirectory();
        // A budget the session cannot spend verifies every cell (every weight ranked).
        (ProgrammingResult all, List<(int Done, ulong Ns)> chunks) = await Budgeted(TimeSpan.FromHours(1), dir.File("all.db"));
        Assert.Equal(all.CellsProgrammed, all.CellsVerified);
        Assert.True(chunks.Count >= 6, $"{chunks.Count} chunks");
        Assert.True(chunks.Zip(chunks.Skip(1)).All(p => p.Second.Ns > p.First.Ns + 100));

        // A budget spent exactly at a chunk's end stops there; a nanosecond's worth more (a tick: 100 ns) runs one chunk more.
        int k = chunks.Count / 2;
        var exactly = TimeSpan.FromTicks((long)(chunks[k].Ns / 100));
        Assert.Equal(chunks[k].Done, (await Budgeted(exactly, dir.File("exact.db"))).Result.CellsVerified);
        Assert.Equal(chunks[k + 1].Done, (await Budgeted(exactly + TimeSpan.FromTicks(1), dir.File("more.db"))).Result.CellsVerified);
        // Any budget at all verifies the first chunk: the budget is checked before each chunk, spent or not.
        Assert.Equal(chunks[0].Done, (await Budgeted(TimeSpan.FromTicks(1), dir.File("least.db"))).Result.CellsVerified);

        // The most important first: what a budget verifies is the largest weights.
        (_, EmulatedBoard openLoop) = await OpenLoop();
        await using var bench = new Bench();
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options() with { VerifyBudget = exactly });
        (int[] cells, HashSet<int> weights) = Verified(result, bench.Board, openLoop);
        Assert.Equal(chunks[k].Done, cells.Length);
        AssertLargest(weights, Targets(result));
    }

    [Fact]
    public async Task A_budget_session_killed_during_verify_stops_where_the_uninterrupted_one_stops()
    {
        using var dir = new TempDirectory();
        (_, List<(int Done, ulong Ns)> chunks) = await Budgeted(TimeSpan.FromHours(1), dir.File("all.db"));
        var budget = TimeSpan.FromTicks((long)(chunks[^1].Ns / 200));
        (ProgrammingResult expected, _) = await Budgeted(budget, dir.File("uninterrupted.db"));
        await using var reference = new Bench();
        await ProgrammingSession.RunAsync(reference.Client, s_model, null, Options() with { VerifyBudget = budget });

        string journalPath = dir.File("killed.db");
        // Killed in the third verify command, with the phase's start journalled.
        await using var bench = new Bench(killAfter: opcodes => opcodes.Count(o => o == (byte)Opcode.VerifyLevels) == 3);
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(bench.Client, s_model, null, Options() with { VerifyBudget = budget },
                journal: journal, cancellationToken: bench.Kill.Token));
            Assert.NotNull(journal.Fact("verify_start_device_ns"));
        }
        await using BoardClient resumedClient = await bench.ResumeAsync(journalPath);
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            ProgrammingResult resumed = await ProgrammingSession.RunAsync(resumedClient, s_model, null, Options() with { VerifyBudget = budget }, journal: journal);
            Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
        }
        Assert.Empty(BoardComparison.Differing(reference.Board, bench.Board));
    }

    [Fact]
    public async Task A_finished_session_resumed_sends_no_cell_command_and_reports_what_it_recorded()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        await using var bench = new Bench();
        ProgrammingResult first;
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            first = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(), journal: journal);
        }
        ulong pulses = bench.Board.Counters.Pulses;
        await using BoardClient again = await bench.ResumeAsync(journalPath);
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            ProgrammingResult second = await ProgrammingSession.RunAsync(again, s_model, null, Options(), journal: journal);
            Assert.Equal((first.CellsProgrammed, first.CellsVerified, first.DeviceTimeNs, first.Pulses, first.Reads, first.VerifyIterations),
                (second.CellsProgrammed, second.CellsVerified, second.DeviceTimeNs, second.Pulses, second.Reads, second.VerifyIterations));
            Assert.Contains(second.Notes, n => n.Contains("had already finished", StringComparison.Ordinal));
            Assert.Null(second.Modelled);
            Assert.All(first.Mapping.Weights, w => Assert.Equal(first.Programmed.ReadWeights(w.Name), second.Programmed.ReadWeights(w.Name)));
        }
        Assert.Equal(pulses, bench.Board.Counters.Pulses);
    }

    [Fact]
    public async Task A_resume_on_a_board_that_lost_the_programmed_cells_is_refused_before_any_pulse()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        // Killed in the read-back: every cell programmed and journalled.
        await using (var bench = new Bench(killAfter: opcodes => opcodes.Count(o => o == (byte)Opcode.ReadCodes) == 2))
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(), journal: journal,
                cancellationToken: bench.Kill.Token));
        }
        // The same seed: the same serial and geometry, every cell as it left the factory.
        await using var blank = new Bench();
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            var refused = await Assert.ThrowsAsync<SwimInputException>(() => ProgrammingSession.RunAsync(blank.Client, s_model, null, Options(), journal: journal));
            Assert.Contains("the board does not hold them", refused.Message, StringComparison.Ordinal);
            // Every cell of the plan was programmed; the check reads 256 of them.
            int cells = CellPlan.Build(CrossbarMapping.Build(s_model, blank.Board.Info, Options().Mapping), s_model).CellCount;
            Assert.Contains($"records {cells:N0} cells programmed", refused.Message, StringComparison.Ordinal);
            Assert.Contains($"{Math.Min(cells, 256)} of them read back", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal(0ul, blank.Board.Counters.Pulses);
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            ProgrammingResult anyway = await ProgrammingSession.RunAsync(blank.Client, s_model, null, Options() with { AcceptLostCells = true }, journal: journal);
            Assert.Equal("completed", journal.Fact("state"));
            Assert.Contains(anyway.Notes, n => n.Contains("restarted", StringComparison.Ordinal));
        }
        // The journalled cells were skipped (every one of them): what the refusal protected against.
        Assert.Equal(0ul, blank.Board.Counters.Pulses);
    }

    /// <summary>
    /// Killed once the first program chunk is journalled done and resumed on a blank board: 16 programmed cells are
    /// evidence enough to refuse the resume; 15 say too little, and it goes on (skipping them, as journalled).
    /// </summary>
    [Theory]
    [InlineData(16, true)]
    [InlineData(15, false)]
    public async Task Sixteen_programmed_cells_are_enough_to_refuse_a_resume_on_a_blank_board(int chunkCells, bool refused)
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        ProgrammingOptions options = Options() with { ChunkCells = chunkCells };
        static bool Writes(byte o) => o is (byte)Opcode.ProgramLevels or (byte)Opcode.Program;
        // After the first chunk's writes, one STATUS stamps the journal as the chunk is marked done, and the next opens
        // the second chunk: killed there, the first chunk is journalled done and the second not begun.
        var firstBoardUp = System.Diagnostics.Stopwatch.StartNew();
        await using (var bench = new Bench(killAfter: opcodes => opcodes[^1] == (byte)Opcode.Status
            && opcodes.SkipWhile(o => !Writes(o)).Count(o => o == (byte)Opcode.Status) == 2))
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(bench.Client, s_model, null, options, journal: journal,
                cancellationToken: bench.Kill.Token));
            Assert.Equal(chunkCells, journal.Summary().Where(row => row is { Phase: "program", Done: true }).Sum(row => row.Cells));
        }
        await using var blank = new Bench();
        // The blank board's clock runs past every reading the journal holds, so its uptime alone cannot show the
        // restart: its counters must (before the chunk's end was stamped, this passed for the board that held them).
        await Task.Delay(firstBoardUp.Elapsed + TimeSpan.FromMilliseconds(50));
        using SessionJournal resumed = SessionJournal.Open(journalPath);
        Task<ProgrammingResult> session = ProgrammingSession.RunAsync(blank.Client, s_model, null, options, journal: resumed);
        if (refused)
        {
            var refusal = await Assert.ThrowsAsync<SwimInputException>(() => session);
            Assert.Contains($"records {chunkCells} cells programmed", refusal.Message, StringComparison.Ordinal);
            Assert.Equal(0ul, blank.Board.Counters.Pulses);
        }
        else
        {
            await session;
            Assert.Equal("completed", resumed.Fact("state"));
        }
    }

    /// <summary>The code width of every READ_CODES the board is sent.</summary>
    private sealed class CodeWidths(EmulatedBoard board) : DelegatingDevice(board)
    {
        public List<byte> Bits { get; } = [];

        public override BoardResponse Execute(BoardRequest request)
        {
            if (request is ReadCodesRequest read)
            {
                Bits.Add(read.CodeBits);
            }
            return base.Execute(request);
        }
    }

    /// <summary>
    /// The read-back asks for codes whose step is at most a sixteenth of the spacing of the cell's levels, and no wider:
    /// 8 bits (255 steps over the window) for 16 levels or fewer (15 spacings of 17 steps), 16 bits beyond.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(256)]
    public async Task The_read_back_codes_are_fine_enough_for_the_cells_levels_and_no_wider(int levels)
    {
        CodeWidths? device = null;
        DevicePreset preset = s_preset with { Levels = levels, LevelSigmaFactors = [.. Enumerable.Repeat(1.0, levels)] };
        await using var bench = new Bench(preset: preset, device: b => device = new CodeWidths(b));
        await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options());
        Assert.Equal(levels, bench.Board.Info.LevelsPerCell);
        byte bits = Assert.Single(device!.Bits.Distinct());
        double step = 1.0 / ((1 << bits) - 1), sixteenth = 1.0 / (levels - 1) / 16;
        Assert.True(step <= sixteenth, $"{bits}-bit codes step {step:G3} of the window, levels {1.0 / (levels - 1):G3} apart");
        Assert.True(bits == 8 || 1.0 / 255 > sixteenth, $"{bits}-bit codes where 8 would do");
    }

    /// <summary>A client that has identified the board already is not made to ask again.</summary>
    [Fact]
    public async Task A_session_on_an_identified_board_sends_no_second_identify()
    {
        await using var bench = new Bench();
        await bench.Client.IdentifyAsync();
        await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options());
        Assert.Equal(1, bench.Sent(Opcode.Identify));
    }

    [Fact]
    public async Task A_board_without_a_device_clock_is_timed_by_its_nominal_times()
    {
        await using var bench = new Bench(device: b => new NoDeviceClock(b));
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options());
        Assert.True(result.DeviceTimeEstimated);
        Assert.Contains(result.Notes, n => n.Contains("reports no device time", StringComparison.Ordinal));
        BoardInfo info = bench.Board.Info;
        Assert.Equal((bench.Board.Counters.Pulses, bench.Board.Counters.Reads), (result.Pulses, result.Reads));
        // The protocol's estimate, worked by hand: a pulse and a read at their nominal times, and each iteration what its nominal time has beyond a pulse and whole reads.
        ulong beyond = (ulong)(info.VerifyIterationNs - info.PulseNs) % info.ReadNs;
        Assert.Equal(result.Pulses * info.PulseNs + result.Reads * info.ReadNs + result.VerifyIterations * beyond, result.DeviceTimeNs);
    }

    [Fact]
    public async Task The_read_back_waits_on_the_boards_own_clock_when_asked()
    {
        await using var bench = new Bench();
        var waited = new List<TimeSpan>();
        var options = Options() with { ReadAfter = TimeSpan.FromDays(1) };
        ulong pulsesAtWait = 0;
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_model, await bench.Client.IdentifyAsync(), options.Mapping), s_model);
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, plan, null, options, null, wait: (t, _) =>
        {
            waited.Add(t);
            pulsesAtWait = bench.Board.Counters.Pulses;
            return Task.CompletedTask;
        });
        Assert.Equal([TimeSpan.FromDays(1)], waited);
        // After every pulse (the write-verify done), before the read-back.
        Assert.Equal(bench.Board.Counters.Pulses, pulsesAtWait);
        Assert.True(result.CellsVerified > 0);
    }

    [Fact]
    public async Task The_programmed_model_holds_what_was_read_back_and_each_layers_error_is_measured_against_its_targets()
    {
        // Open loop: every weight lands near its target, few exactly on it.
        await using var bench = new Bench();
        ProgrammingResult result = await ProgrammingSession.RunAsync(bench.Client, s_model, null, Options(fraction: 0));
        CellPlan plan = CellPlan.Build(result.Mapping, s_model);
        Assert.Equal(result.Mapping.Weights.Select(w => w.Name), result.Layers.Select(l => l.Weight));
        for (int l = 0; l < result.Mapping.Weights.Count; l++)
        {
            WeightMapping layer = result.Mapping.Weights[l];
            float[] programmed = result.Programmed.ReadWeights(layer.Name), targets = plan.TargetWeights[l];
            Assert.True(programmed.Where((w, e) => w != targets[e]).Count() > programmed.Length / 2, $"{layer.Name}: the read-back weights are the targets");
            double[] errors = [.. programmed.Select((w, e) => Math.Abs((double)w - targets[e]) / layer.FullScale)];
            LayerError measured = result.Layers[l];
            Assert.Equal(programmed.Length, measured.Elements);
            Assert.Equal(Math.Sqrt(errors.Sum(e => e * e) / errors.Length), measured.RmsError, 6);
            Assert.Equal(errors.Max(), measured.MaxError, 6);
            Assert.InRange(measured.RmsError, 1e-4, 0.2);
        }
        // The model given is left as it was trained.
        Assert.Equal(s_mlp.W1, s_model.ReadWeights(result.Mapping.Weights.Single(w => w.ElementCount == s_mlp.W1.Length).Name));
    }

    [Fact]
    public async Task Frames_lost_either_way_go_again_under_their_numbers_and_the_session_ends_as_on_a_clean_link()
    {
        await using var clean = new Bench();
        await ProgrammingSession.RunAsync(clean.Client, s_model, null, Options());

        var board = new EmulatedBoard(s_preset, s_geometry, 9);
        var endpoint = new BoardEndpoint(board);
        (ByteTransport host, ByteTransport boardEnd) = InMemoryLink.CreatePair();
        // The host's 10th request is lost on its way; the board's 20th answer on its way back (the board ran that one).
        Task served = Task.Run(() => endpoint.ServeAsync(new FrameDropper(boardEnd, 20), CancellationToken.None));
        ProgrammingResult result;
        await using (var client = new BoardClient(new FrameDropper(host, 10), new BoardClientOptions { AttemptTimeout = TimeSpan.FromMilliseconds(300) }))
        {
            result = await ProgrammingSession.RunAsync(client, s_model, null, Options());
        }
        await served.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(BoardComparison.Differing(clean.Board, board));
        Assert.True(result.Link.Retransmissions >= 2 && result.Link.Replays >= 1, $"{result.Link.Retransmissions} sent again, {result.Link.Replays} replayed");
        string note = Assert.Single(result.Notes, n => n.StartsWith("the link lost or damaged frames", StringComparison.Ordinal));
        Assert.Contains($"{result.Link.Retransmissions:N0} requests went out again", note, StringComparison.Ordinal);
        Assert.Contains($"({result.Link.Replays:N0} answered from the board's response cache", note, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Notes, n => n.Contains("lost with a crash", StringComparison.Ordinal));
    }
}
