using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// A session over several boards on the 16-8-3 classifier (milliseconds a session): every cell must end as on one
/// board holding all their tiles (an emulated set of one seed is that board's tiles dealt out in turn), through a
/// host kill and through one board's link failing. <see cref="BoardSetSessionTests"/> does the same at LeNet-5's size.
/// </summary>
public sealed class SmallBoardSetTests
{
    private const int Boards = 3;
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(new TinyMlp(3).Build().ToByteArray(), "tiny mlp", null);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };

    // 152 weights, four cells each: 608 cells on tiles of 16 x 16, three tiles a board.
    private static readonly BoardGeometry s_part = new(3, 16, 16);
    private static readonly BoardGeometry s_whole = new(Boards * 3, 16, 16);

    private static ProgrammingOptions Options(bool hostVerify = false) =>
        new() { Method = SelectionMethod.Magnitude, Fraction = 0.3, Seed = 3, ChunkCells = 32, HostVerify = hostVerify };

    private static Dictionary<string, string> Facts => new() { ["model"] = "tiny" };

    private static async Task<(ProgrammingResult Result, EmulatedBoard Board)> OneBoard(bool hostVerify = false)
    {
        var board = new EmulatedBoard(s_preset, s_whole, seed: 7);
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        return (await ProgrammingSession.RunAsync(client, s_model, null, Options(hostVerify)), board);
    }

    private static EmulatedBoard[] NewSet() => [.. Enumerable.Range(0, Boards).Select(b => new EmulatedBoard(s_preset, s_part, 7, b, Boards))];

    private static async Task<ProgrammingResult> OverBoards(IReadOnlyList<BoardClient> clients, ProgrammingOptions options, SessionJournal? journal = null,
        CancellationToken cancellationToken = default, IProgress<SessionProgress>? progress = null)
    {
        var infos = new List<BoardInfo>();
        foreach (BoardClient client in clients)
        {
            infos.Add(await client.IdentifyAsync(cancellationToken));
        }
        var set = BoardSet.Of(infos);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_model, set.Combined, options.Mapping), s_model);
        SessionBoard[] boards = [.. set.Split(plan).Select(share => new SessionBoard(clients[share.Board], share))];
        return await ProgrammingSession.RunAsync(boards, s_model, plan, null, options, null, progress, journal, cancellationToken);
    }

    private static BoardClient[] ResumedClients(EmulatorHost[] hosts, string journalPath) =>
        [.. hosts.Select((h, b) => new BoardClient(h.ConnectInProcess(), new BoardClientOptions
        {
            InitialSequence = SessionJournal.ClaimSeriesContinuation(journalPath, b)?.NextSequence,
            ResumeSession = SessionJournal.BoardSessionOf(journalPath, b),
            AttemptTimeout = TimeSpan.FromSeconds(30),
        }))];

    private static async Task Dispose(IEnumerable<BoardClient> clients, IEnumerable<EmulatorHost> hosts)
    {
        foreach (BoardClient client in clients)
        {
            await client.DisposeAsync();
        }
        foreach (EmulatorHost host in hosts)
        {
            await host.DisposeAsync();
        }
    }

    private static void AssertSameCells(EmulatedBoard whole, EmulatedBoard[] set)
    {
        List<string> differing = BoardComparison.DifferingFromSet(whole, set);
        Assert.True(differing.Count == 0, string.Join("; ", differing));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Three_boards_end_cell_for_cell_as_one_board_of_their_tiles(bool hostVerify)
    {
        (ProgrammingResult expected, EmulatedBoard whole) = await OneBoard(hostVerify);
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select(h => new BoardClient(h.ConnectInProcess()))];
        var progress = new ProgressLog();
        ProgrammingResult result;
        try
        {
            result = await OverBoards(clients, Options(hostVerify), progress: progress);
        }
        finally
        {
            await Dispose(clients, hosts);
        }

        AssertSameCells(whole, set);
        Assert.Equal((expected.CellsProgrammed, expected.CellsVerified, expected.Pulses, expected.Reads, expected.VerifyIterations),
            (result.CellsProgrammed, result.CellsVerified, result.Pulses, result.Reads, result.VerifyIterations));
        Assert.Equal((expected.VerifyConverged, expected.VerifyDidNotConverge, expected.VerifyStuck), (result.VerifyConverged, result.VerifyDidNotConverge, result.VerifyStuck));
        // Each board's figures are its own counters'; the session lasts as long as its slowest board and costs all their pulses.
        Assert.Equal(Boards, result.Boards.Count);
        for (int b = 0; b < Boards; b++)
        {
            BoardWork work = result.Boards[b];
            DeviceCounters counted = set[b].Counters;
            Assert.Equal((set[b].Info.Serial, counted.DeviceTimeNs, counted.Pulses, counted.Reads), (work.Serial, work.DeviceTimeNs, work.Pulses, work.Reads));
            Assert.Equal(Enumerable.Range(0, set[b].Cells.Count).Count(c => set[b].Cells.CountersOf(c).Reads > 0), work.Cells);
        }
        Assert.Equal(set.Max(b => b.Counters.DeviceTimeNs), result.DeviceTimeNs);
        Assert.Equal((result.Boards.Sum(b => b.Link.Requests), result.Boards.Sum(b => b.Link.BytesSent)), (result.Link.Requests, result.Link.BytesSent));
        Assert.False(result.DeviceTimeEstimated);
        Assert.Equal((ulong)set.Sum(b => (long)b.Counters.DeviceTimeNs), result.SerialDeviceTimeNs);
        Assert.Equal(expected.CellsVerified, result.Boards.Sum(b => b.Verified));
        Assert.All(result.Boards, b => Assert.InRange(b.Verified, 1, expected.CellsVerified - 1));
        Assert.Equal(expected.DeviceTimeNs, result.SerialDeviceTimeNs);
        foreach (LayerError layer in expected.Layers)
        {
            Assert.Equal(expected.Programmed.ReadWeights(layer.Weight), result.Programmed.ReadWeights(layer.Weight));
        }
        // One progress for the set: each phase's cells over every board, climbing to all of them.
        foreach ((string phase, int total) in new[] { ("program", expected.CellsProgrammed), ("verify", expected.CellsVerified), ("read back", expected.CellsProgrammed) })
        {
            List<SessionProgress> reports = [.. progress.Reports.Where(r => r.Phase == phase)];
            Assert.All(reports, r => Assert.True(r.Total <= total && r.Done <= r.Total, $"{r}"));
            Assert.Equal((total, total), (reports[^1].Done, reports[^1].Total));
        }
    }

    /// <summary>Progress as reported, in order; the boards report from their own threads.</summary>
    private sealed class ProgressLog : IProgress<SessionProgress>
    {
        public List<SessionProgress> Reports { get; } = [];

        public void Report(SessionProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact]
    public async Task A_host_killed_mid_programming_resumes_every_board_where_it_stopped()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        (_, EmulatedBoard whole) = await OneBoard();
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        var drained = new Task[Boards];
        using var kill = new CancellationTokenSource();
        var clients = new BoardClient[Boards];
        for (int b = 0; b < Boards; b++)
        {
            (var link, drained[b]) = hosts[b].ConnectInProcessWithCompletion();
            // Board 2's link carries the kill, inside its second program chunk.
            clients[b] = new BoardClient(b == 1 ? new KillSwitch(link, KillSwitch.InsideProgramChunk(1, 0), kill) : link,
                new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), CloseOnDispose = false });
        }
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OverBoards(clients, Options(), journal, kill.Token));
            // Usually with board 2's chunk in flight; its answer can be journalled before the kill lands (threads race).
            Assert.Contains(journal.Summary(), row => row.Phase == "board2.program");
            Assert.Equal("running", journal.Fact("state"));
        }
        await Dispose(clients, []);
        await Task.WhenAll(drained).WaitAsync(TimeSpan.FromSeconds(30));

        BoardClient[] resumed = ResumedClients(hosts, journalPath);
        try
        {
            using SessionJournal journal = SessionJournal.Open(journalPath);
            await OverBoards(resumed, Options(), journal);
            Assert.Equal("completed", journal.Fact("state"));
            Assert.DoesNotContain(journal.Summary(), row => !row.Done);
            Assert.All(new[] { "program", "board2.program", "board3.program", "verify", "board2.verify", "board3.read back" },
                phase => Assert.Contains(journal.Summary(), row => row.Phase == phase));
        }
        finally
        {
            await Dispose(resumed, hosts);
        }
        AssertSameCells(whole, set);
    }

    [Fact]
    public async Task A_board_whose_link_fails_stops_alone_and_a_resume_finishes_it()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        (_, EmulatedBoard whole) = await OneBoard();
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select((h, b) => new BoardClient(b == 2 ? new LinkCut(h.ConnectInProcess(), 6) : h.ConnectInProcess(),
            new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), MaxRetries = 0 }))];
        BoardSetException failure;
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        {
            failure = await Assert.ThrowsAsync<BoardSetException>(() => OverBoards(clients, Options(), journal));
            long done(string phase) => journal.Summary().Where(r => r.Phase == phase && r.Done).Sum(r => r.Cells);
            // The other boards finished their programming; board 3 stopped in it.
            Assert.True(done("program") > done("board3.program") && done("board2.program") > done("board3.program"));
        }
        Assert.Single(failure.Failures);
        Assert.IsAssignableFrom<IOException>(failure.Failures[0]);
        Assert.Contains("the program phase failed on 1 of 3 boards", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"board 3 ({set[2].Info.Serial})", failure.Message, StringComparison.Ordinal);
        Assert.Contains("boards 1, 2 finished it", failure.Message, StringComparison.Ordinal);
        await Dispose(clients, []);

        BoardClient[] resumed = ResumedClients(hosts, journalPath);
        try
        {
            using SessionJournal journal = SessionJournal.Open(journalPath);
            await OverBoards(resumed, Options(), journal);
        }
        finally
        {
            await Dispose(resumed, hosts);
        }
        AssertSameCells(whole, set);
    }

    /// <summary>The failure names each board that failed and says which finished the phase, in the singular, the plural, or none.</summary>
    [Theory]
    [InlineData(new[] { 1, 2 }, "the program phase failed on 2 of 3 boards", "board 1 finished it")]
    [InlineData(new[] { 0, 1, 2 }, "the program phase failed on 3 of 3 boards", "no board finished it")]
    public async Task Boards_whose_links_fail_are_each_named_with_those_that_finished(int[] failing, string failed, string finished)
    {
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select((h, b) => new BoardClient(failing.Contains(b) ? new LinkCut(h.ConnectInProcess(), 6) : h.ConnectInProcess(),
            new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), MaxRetries = 0 }))];
        try
        {
            var failure = await Assert.ThrowsAsync<BoardSetException>(() => OverBoards(clients, Options()));
            Assert.Equal(failing.Length, failure.Failures.Count);
            Assert.StartsWith(failed, failure.Message, StringComparison.Ordinal);
            Assert.Contains($"; {finished}.", failure.Message, StringComparison.Ordinal);
            Assert.All(failing, b => Assert.Contains($"board {b + 1} ({set[b].Info.Serial}): ", failure.Message, StringComparison.Ordinal));
        }
        finally
        {
            await Dispose(clients, hosts);
        }
    }

    /// <summary>
    /// One board of the set reports no device time: its figures are estimated from its nominal times, the session's
    /// device time says it is estimated, and the note saying so names that board.
    /// </summary>
    [Fact]
    public async Task A_board_of_the_set_without_a_device_clock_is_named_in_the_note_and_the_time_marked_estimated()
    {
        EmulatedBoard[] set = NewSet();
        var endpoint = new BoardEndpoint(new NoDeviceClock(set[1]));
        (Swim.Protocol.Transports.ByteTransport host, Swim.Protocol.Transports.ByteTransport wire) = Swim.Protocol.Transports.InMemoryLink.CreatePair();
        Task served = Task.Run(() => endpoint.ServeAsync(wire, CancellationToken.None));
        EmulatorHost[] hosts = [new EmulatorHost(set[0]), new EmulatorHost(set[2])];
        BoardClient[] clients = [new BoardClient(hosts[0].ConnectInProcess()), new BoardClient(host), new BoardClient(hosts[1].ConnectInProcess())];
        ProgrammingResult result;
        try
        {
            result = await OverBoards(clients, Options());
        }
        finally
        {
            await Dispose(clients, hosts);
        }
        await served.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.DeviceTimeEstimated);
        Assert.Contains(result.Notes, n => n.StartsWith($"board 2 ({set[1].Info.Serial}): the board reports no device time", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Notes, n => n.StartsWith("board 1", StringComparison.Ordinal) || n.StartsWith("board 3", StringComparison.Ordinal));
        BoardWork estimated = result.Boards[1];
        Assert.Equal(BoardActivity.NominalNs(set[1].Counters.Pulses, set[1].Counters.Reads, set[1].Counters.VerifyIterations, set[1].Info), estimated.DeviceTimeNs);
    }

    [Fact]
    public async Task A_budget_over_several_boards_is_refused_before_any_frame()
    {
        var options = Options() with { VerifyBudget = TimeSpan.FromSeconds(1) };
        EmulatedBoard[] set = NewSet();
        BoardInfo[] infos = [.. set.Select(b => b.Info)];
        var boardSet = BoardSet.Of(infos);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_model, boardSet.Combined, options.Mapping), s_model);
        var wires = new List<KillSwitch>();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select(h =>
        {
            var wire = new KillSwitch(h.ConnectInProcess(), int.MaxValue, new CancellationTokenSource());
            wires.Add(wire);
            return new BoardClient(wire, new BoardClientOptions { CloseOnDispose = false });
        })];
        try
        {
            SessionBoard[] boards = [.. boardSet.Split(plan).Select(share => new SessionBoard(clients[share.Board], share))];
            var refused = await Assert.ThrowsAsync<SwimInputException>(() => ProgrammingSession.RunAsync(boards, s_model, plan, null, options, null));
            Assert.Contains("--budget", refused.Message, StringComparison.Ordinal);
            Assert.Contains("--ratio", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            await Dispose(clients, hosts);
        }
        Assert.All(wires, w => Assert.Empty(w.Opcodes));
    }
}
