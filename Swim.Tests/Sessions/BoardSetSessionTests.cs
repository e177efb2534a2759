using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// A session spread over several boards must leave every cell as a session on one board of all their tiles leaves it:
/// the emulated boards of one seed are that board's tiles dealt out in turn, so the one-board session is the
/// independent expectation, cell for cell, through a kill of the whole host and through one board's link failing.
/// Time effects are off: each board's clock runs on its own, so the cells age differently from the one board's.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class BoardSetSessionTests
{
    private const int Boards = 3;
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;
    private static readonly Lazy<SensitivityResult> s_sensitivity = new(() => BundledLeNet.Sensitivity(300, 150));
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };

    // LeNet-5 at 8 bits, differential: 983,520 cells, 15 tiles of 256 x 256. Three boards of 6 tiles against one of 18.
    private static readonly BoardGeometry s_part = new(6, 256, 256);
    private static readonly BoardGeometry s_whole = new(Boards * 6, 256, 256);

    private static ProgrammingOptions Options(SelectionMethod method) => new() { Method = method, Fraction = 0.1, Seed = 3, ChunkCells = 8192 };

    private static EmulatedBoard[] NewSet() => [.. Enumerable.Range(0, Boards).Select(b => new EmulatedBoard(s_preset, s_part, 7, b, Boards))];

    private static async Task<(ProgrammingResult Result, EmulatedBoard Board)> OneBoard(SelectionMethod method)
    {
        var board = new EmulatedBoard(s_preset, s_whole, seed: 7);
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        return (await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, Options(method), DeviceVariance.From(s_preset)), board);
    }

    /// <summary>Runs the session over <paramref name="clients"/>: the plan made on their set, split, and each board's share sent to it.</summary>
    private static async Task<ProgrammingResult> OverBoards(IReadOnlyList<BoardClient> clients, SelectionMethod method, SessionJournal? journal = null, CancellationToken cancellationToken = default)
    {
        var infos = new List<BoardInfo>();
        foreach (BoardClient client in clients)
        {
            infos.Add(await client.IdentifyAsync(cancellationToken));
        }
        var set = BoardSet.Of(infos);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_lenet, set.Combined, Options(method).Mapping), s_lenet);
        SessionBoard[] boards = [.. set.Split(plan).Select(share => new SessionBoard(clients[share.Board], share))];
        return await ProgrammingSession.RunAsync(boards, s_lenet, plan, s_sensitivity.Value, Options(method), DeviceVariance.From(s_preset)(plan), journal: journal,
            cancellationToken: cancellationToken);
    }

    /// <summary>Every cell of the set against the one board's cell of the same tile: as often pulsed, the same conductance.</summary>
    private static void AssertSameCells(EmulatedBoard whole, EmulatedBoard[] set)
    {
        List<string> differing = BoardComparison.DifferingFromSet(whole, set);
        Assert.True(differing.Count == 0, string.Join("; ", differing));
    }

    /// <summary>Clients for a resume, as <c>swim program --resume</c> makes them: each continues its board's series and session, except a replaced board's.</summary>
    private static BoardClient[] ResumedClients(EmulatorHost[] hosts, string journalPath, int replaced = -1) =>
        [.. hosts.Select((h, b) => new BoardClient(h.ConnectInProcess(), new BoardClientOptions
        {
            InitialSequence = b == replaced ? null : SessionJournal.ClaimSeriesContinuation(journalPath, b)?.NextSequence,
            ResumeSession = b == replaced ? null : SessionJournal.BoardSessionOf(journalPath, b),
            AttemptTimeout = TimeSpan.FromSeconds(30),
        }))];

    [Theory]
    [InlineData(SelectionMethod.Swim)]
    [InlineData(SelectionMethod.Posterior)]
    public async Task Three_boards_end_cell_for_cell_as_one_board_of_their_tiles(SelectionMethod method)
    {
        (ProgrammingResult expected, EmulatedBoard whole) = await OneBoard(method);
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select(h => new BoardClient(h.ConnectInProcess()))];
        ProgrammingResult result;
        try
        {
            result = await OverBoards(clients, method);
        }
        finally
        {
            await Dispose(clients, hosts);
        }

        AssertSameCells(whole, set);
        Assert.Equal((expected.CellsVerified, expected.Pulses, expected.Reads), (result.CellsVerified, result.Pulses, result.Reads));
        Assert.Equal(TestAccuracy.Weights(expected.Programmed), TestAccuracy.Weights(result.Programmed));
        // Side by side: the session's device time is its slowest board's, and the boards' own figures add up to the whole.
        Assert.Equal(Boards, result.Boards.Count);
        Assert.Equal(expected.CellsProgrammed, result.Boards.Sum(b => b.Cells));
        Assert.Equal(result.Boards.Max(b => b.DeviceTimeNs), result.DeviceTimeNs);
        Assert.Equal(expected.DeviceTimeNs, result.SerialDeviceTimeNs);
        Assert.All(result.Boards, b => Assert.InRange(b.Cells, expected.CellsProgrammed / 4, expected.CellsProgrammed / 2));
    }

    [Fact]
    public async Task A_host_killed_mid_programming_resumes_every_board_where_it_stopped()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        (_, EmulatedBoard whole) = await OneBoard(SelectionMethod.Swim);
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        var drained = new Task[Boards];
        var kill = new CancellationTokenSource();
        var clients = new BoardClient[Boards];
        for (int b = 0; b < Boards; b++)
        {
            (var link, drained[b]) = hosts[b].ConnectInProcessWithCompletion();
            // Board 2's link carries the kill, inside its third program chunk: the other boards are mid-chunk too.
            clients[b] = new BoardClient(b == 1 ? new KillSwitch(link, KillSwitch.InsideProgramChunk(2, 3), kill) : link, KillSwitch.ClientOptions());
        }
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OverBoards(clients, SelectionMethod.Swim, journal, kill.Token));
            // Not "a chunk in flight": board 2's answer can be journalled before the kill lands (threads race).
            Assert.Contains(journal.Summary(), row => row.Phase == "board2.program");
            Assert.Equal("running", journal.Fact("state"));
        }
        foreach (BoardClient client in clients)
        {
            await client.DisposeAsync();
        }
        await Task.WhenAll(drained).WaitAsync(TimeSpan.FromSeconds(30));

        // The resume, as swim program --resume makes it: each board's client continues that board's series and session.
        BoardClient[] resumed = ResumedClients(hosts, journalPath);
        try
        {
            using SessionJournal journal = SessionJournal.Open(journalPath);
            await OverBoards(resumed, SelectionMethod.Swim, journal);
            Assert.Equal("completed", journal.Fact("state"));
            Assert.DoesNotContain(journal.Summary(), row => !row.Done);
            // Every board journalled a part of its own.
            Assert.All(new[] { "program", "board2.program", "board3.program", "verify", "board3.read back" }, phase => Assert.Contains(journal.Summary(), row => row.Phase == phase));
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
        (_, EmulatedBoard whole) = await OneBoard(SelectionMethod.Swim);
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        BoardClient[] clients = [.. hosts.Select((h, b) => new BoardClient(b == 2 ? new LinkCut(h.ConnectInProcess(), 40) : h.ConnectInProcess(),
            new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), MaxRetries = 0 }))];
        BoardSetException failure;
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "lenet" }))
        {
            failure = await Assert.ThrowsAsync<BoardSetException>(() => OverBoards(clients, SelectionMethod.Swim, journal));
            // The other boards finished their programming: every program chunk of theirs is done.
            long programmed(string phase) => journal.Summary().Where(r => r.Phase == phase && r.Done).Sum(r => r.Cells);
            Assert.True(programmed("program") > 0 && programmed("board2.program") > 0);
            Assert.True(programmed("board3.program") < programmed("board2.program"), "board 3's link was cut during its programming");
        }
        Assert.Contains("board 3 (EMU0007-3of3)", failure.Message, StringComparison.Ordinal);
        Assert.Contains("boards 1, 2 finished it", failure.Message, StringComparison.Ordinal);
        await Dispose(clients, []);

        BoardClient[] resumed = ResumedClients(hosts, journalPath);
        try
        {
            using SessionJournal journal = SessionJournal.Open(journalPath);
            await OverBoards(resumed, SelectionMethod.Swim, journal);
        }
        finally
        {
            await Dispose(resumed, hosts);
        }
        AssertSameCells(whole, set);
    }

    [Fact]
    public async Task A_board_replaced_by_a_blank_one_is_programmed_afresh_with_consent_and_the_others_keep_their_record()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        (_, EmulatedBoard whole) = await OneBoard(SelectionMethod.Swim);
        EmulatedBoard[] set = NewSet();
        EmulatorHost[] hosts = [.. set.Select(b => new EmulatorHost(b))];
        var kill = new CancellationTokenSource();
        BoardClient[] clients = [.. hosts.Select((h, b) => new BoardClient(b == 0 ? new KillSwitch(h.ConnectInProcess(), KillSwitch.InsideProgramChunk(3, 2), kill) : h.ConnectInProcess(),
            KillSwitch.ClientOptions()))];
        using (SessionJournal journal = await BindAsync(journalPath, clients, resume: false))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OverBoards(clients, SelectionMethod.Swim, journal, kill.Token));
        }
        await Dispose(clients, []);
        await Task.Delay(200);
        Assert.True(set[1].Cells.TotalPulses > 0, "board 2 was part-programmed before the kill");

        // Board 2 goes; a blank board of the same cells takes its place, under another serial, as a new chip would.
        await hosts[1].DisposeAsync();
        set[1] = new EmulatedBoard(s_preset, s_part, 7, 1, Boards);
        hosts[1] = new EmulatorHost(set[1]);
        BoardClient[] resumed = ResumedClients(hosts, journalPath, replaced: 1);
        try
        {
            // Without consent the other serial is refused, naming the option that gives it.
            var refused = await Assert.ThrowsAsync<Controller.SwimInputException>(() => BindAsync(journalPath, resumed, resume: true, serialOfSecond: "CHIP-NEW"));
            Assert.Contains("--replaced-board 2", refused.Message, StringComparison.Ordinal);

            using SessionJournal journal = await BindAsync(journalPath, resumed, resume: true, serialOfSecond: "CHIP-NEW", replaced: [1]);
            Assert.DoesNotContain(journal.Summary(), row => row.Phase.StartsWith("board2.", StringComparison.Ordinal));
            Assert.Contains(journal.Summary(), row => row.Phase == "board3.program");
            await OverBoards(resumed, SelectionMethod.Swim, journal);
        }
        finally
        {
            await Dispose(resumed, hosts);
        }
        // The new board programmed whole; the others finished from their record: every cell as on the one board.
        AssertSameCells(whole, set);
    }

    /// <summary>The journal as <c>swim program</c> binds it to the boards (their serials, the second's as given), with the replaced boards' parts dropped.</summary>
    private static async Task<SessionJournal> BindAsync(string path, BoardClient[] clients, bool resume, string? serialOfSecond = null, IReadOnlyCollection<int>? replaced = null)
    {
        var infos = new List<BoardInfo>();
        foreach (BoardClient client in clients)
        {
            infos.Add(await client.IdentifyAsync());
        }
        infos[1] = serialOfSecond is null ? infos[1] : infos[1] with { Serial = serialOfSecond };
        var boards = BoardSet.Of(infos);
        CrossbarMapping mapping = CrossbarMapping.Build(s_lenet, boards.Combined, Options(SelectionMethod.Swim).Mapping);
        return JournalBinding.Open(path, resume, s_lenet, "lenet5.onnx", Options(SelectionMethod.Swim), boards, mapping, replaced);
    }

    private static async Task Dispose(BoardClient[] clients, EmulatorHost[] hosts)
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

    private static class TestAccuracy
    {
        public static float[][] Weights(OnnxModel model) => [.. model.FindMappedWeights().Select(w => model.ReadWeights(w.Name))];
    }
}
