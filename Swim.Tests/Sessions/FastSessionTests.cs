using Google.Protobuf;
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
/// The session's exactly-once promise on a model small enough to kill at every frame: a 16-8-3 classifier on a
/// two-tile board, in chunks of 24 cells, so a whole session is a few dozen frames and runs in milliseconds. Killed
/// after any frame and resumed, it must end as the uninterrupted session on an identical board ends, cell by cell.
/// (The LeNet-5 tests in <see cref="SessionResumeTests"/> kill at chosen frames of a full-size session.)
/// </summary>
public sealed class FastSessionTests
{
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(new TinyMlp(3).Build().ToByteArray(), "tiny mlp", null);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private static readonly BoardGeometry s_geometry = new(2, 64, 64);

    private static ProgrammingOptions Options() => new() { Method = SelectionMethod.Magnitude, Fraction = 0.3, Seed = 5, ChunkCells = 24 };

    /// <summary>The boards a session meets: every capability; firmware without its own verify loop (the host's runs); without counters (a resume judges cells by their reads); of protocol version 1.</summary>
    public enum BoardKind
    {
        Full,
        HostLoop,
        NoCounters,
        Version1,
    }

    private static EmulatedBoard NewBoard(BoardKind kind) => kind switch
    {
        BoardKind.HostLoop => new EmulatedBoard(s_preset, s_geometry, seed: 9, EmulatedBoard.AllCapabilities & ~(BoardCapabilities.ProgramVerify | BoardCapabilities.VerifyLevels)),
        BoardKind.NoCounters => new EmulatedBoard(s_preset, s_geometry, seed: 9, EmulatedBoard.AllCapabilities & ~BoardCapabilities.Counters),
        BoardKind.Version1 => new EmulatedBoard(s_preset, s_geometry, seed: 9, protocolVersion: 1),
        _ => new EmulatedBoard(s_preset, s_geometry, seed: 9),
    };

    private static Dictionary<string, string> Facts => new() { ["model"] = "tiny" };

    /// <summary>
    /// The emulated board with a lease of 100 ms: a kill before the session's ticket is journalled leaves a lease the
    /// resume must wait out (as it would at the bench), and the emulator's 5 s would make each such kill take seconds.
    /// </summary>
    /// <remarks>
    /// It also counts the open-loop writes and the write-verifies each cell receives. A resume by another host always
    /// waits the lease out: a lease of a millisecond keeps those resumes fast.
    /// </remarks>
    private sealed class ShortLease(EmulatedBoard board, uint leaseMs = 100) : DelegatingDevice(board)
    {
        private readonly BoardInfo _info = board.Info with { LeaseMs = leaseMs };

        public override BoardInfo Info => _info;

        public EmulatedBoard Emulated => Inner;

        public int[] Programs { get; } = new int[board.Cells.Count];

        public int[] Verifies { get; } = new int[board.Cells.Count];

        /// <summary>Write and write-verify commands run so far.</summary>
        public int CellCommands { get; private set; }

        public override BoardResponse Execute(BoardRequest request)
        {
            (int[] counts, IEnumerable<CellAddress> cells) = request switch
            {
                ProgramRequest program => (Programs, program.Targets.Select(t => t.Cell)),
                ProgramLevelsRequest levels => (Programs, levels.Addresses()),
                ProgramVerifyRequest verify => (Verifies, verify.Targets.Select(t => t.Cell)),
                VerifyLevelsRequest verifyLevels => (Verifies, verifyLevels.Selected()),
                _ => (Programs, []),
            };
            foreach (CellAddress cell in cells)
            {
                counts[Inner.IndexOf(cell)]++;
            }
            CellCommands += IsCellCommand((byte)request.Opcode) ? 1 : 0;
            return base.Execute(request);
        }
    }

    /// <summary>Whether an opcode writes cells in the phase: "program" the write commands, "verify" the write-verify commands, null either.</summary>
    private static bool IsCellCommand(byte opcode, string? phase = null) => phase switch
    {
        "program" => opcode is (byte)Opcode.ProgramLevels or (byte)Opcode.Program,
        "verify" => opcode is (byte)Opcode.VerifyLevels or (byte)Opcode.ProgramVerify,
        _ => IsCellCommand(opcode, "program") || IsCellCommand(opcode, "verify"),
    };

    /// <summary>A link into the board's endpoint, and a task that completes once the board has run all it was sent and the link closed.</summary>
    private static (ByteTransport Link, Task Drained) Connect(BoardEndpoint endpoint)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        return (host, Task.Run(() => endpoint.ServeAsync(board, CancellationToken.None)));
    }

    /// <summary>The session uninterrupted, with the opcodes of every frame it wrote.</summary>
    private static async Task<(ProgrammingResult Result, ShortLease Board, List<byte> Frames)> Uninterrupted(ProgrammingOptions options, string journalPath, BoardKind kind = BoardKind.Full)
    {
        var board = new ShortLease(NewBoard(kind));
        using var never = new CancellationTokenSource();
        var counting = new KillSwitch(Connect(new BoardEndpoint(board)).Link, int.MaxValue, never);
        await using var client = new BoardClient(counting, KillSwitch.ClientOptions());
        using SessionJournal journal = SessionJournal.Create(journalPath, Facts);
        ProgrammingResult result = await ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal);
        return (result, board, counting.Opcodes);
    }

    /// <returns>
    /// The resumed session, the board, and the opcode of the last frame the killed host wrote (0 when the kill left no
    /// chunk unfinished, or the board never ran that frame).
    /// </returns>
    /// <param name="powerCycle">The board loses power between the kill and the resume: its counters and its response cache are gone.</param>
    /// <param name="replayable">
    /// False: the resuming host neither continues the dead host's sequence numbers nor resumes its board session (another
    /// machine, or a journal whose claim was lost), so the board's cache cannot answer for the chunk in flight.
    /// </param>
    private static async Task<(ProgrammingResult Resumed, ShortLease Board, byte LastOpcode)> KillAndResume(ProgrammingOptions options, int killAfterFrames, string journalPath,
        BoardKind kind = BoardKind.Full, bool powerCycle = false, bool replayable = true)
    {
        var board = new ShortLease(NewBoard(kind), replayable ? 100u : 1u);
        var endpoint = new BoardEndpoint(board);
        (var link, Task drained) = Connect(endpoint);
        using var kill = new CancellationTokenSource();
        var killSwitch = new KillSwitch(link, killAfterFrames, kill);
        bool inFlight;
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        // A process that died sends no CLOSE: its client must not wait a second for CLOSE's answer either.
        await using (var client = new BoardClient(killSwitch, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), CloseOnDispose = false }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal,
                cancellationToken: kill.Token));
            // The board may answer and the chunk be journalled done before the kill lands (threads race): then nothing is in flight.
            inFlight = journal.Summary().Any(row => !row.Done);
        }
        await drained.WaitAsync(TimeSpan.FromSeconds(30));
        // The link may close before the board reads the last frame: then the board never ran the cut-off command.
        bool ranLast = board.CellCommands == killSwitch.Opcodes.Count(o => IsCellCommand(o));
        if (powerCycle)
        {
            endpoint.PowerCycle();
        }

        var resumedOptions = new BoardClientOptions
        {
            InitialSequence = replayable ? SessionJournal.ClaimSeriesContinuation(journalPath)?.NextSequence : null,
            AttemptTimeout = TimeSpan.FromSeconds(30),
            ResumeSession = replayable ? SessionJournal.BoardSessionOf(journalPath) : null,
        };
        await using var resumedClient = new BoardClient(Connect(endpoint).Link, resumedOptions);
        using SessionJournal resumedJournal = SessionJournal.Open(journalPath);
        ProgrammingResult resumed = await ProgrammingSession.RunAsync(resumedClient, s_model, null, options, journal: resumedJournal);
        Assert.DoesNotContain(resumedJournal.Summary(), row => !row.Done);
        Assert.Equal("completed", resumedJournal.Fact("state"));
        return (resumed, board, inFlight && ranLast ? killSwitch.Opcodes[^1] : (byte)0);
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public async Task A_session_killed_after_any_frame_and_resumed_ends_as_an_uninterrupted_one()
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options();
        (ProgrammingResult expected, ShortLease reference, List<byte> opcodes) = await Uninterrupted(options, dir.File("reference.db"));
        int frames = opcodes.Count;
        Assert.InRange(frames, 10, 400);
        Assert.True(expected.CellsVerified > 0 && expected.CellsVerified < expected.CellsProgrammed);

        for (int kill = 1; kill < frames; kill++)
        {
            await AssertResumedAsUninterrupted(options, BoardKind.Full, kill, frames, expected, reference, dir);
        }
    }

    /// <summary>
    /// The same on every kind of board, killed at every tenth of the session's frames (a session of a few milliseconds:
    /// this is the fast check every change to the runner gets, mutation runs included).
    /// </summary>
    [Theory]
    [InlineData(BoardKind.Full)]
    [InlineData(BoardKind.HostLoop)]
    [InlineData(BoardKind.NoCounters)]
    [InlineData(BoardKind.Version1)]
    public async Task A_session_killed_at_every_tenth_of_its_frames_and_resumed_ends_as_an_uninterrupted_one(BoardKind kind)
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options();
        (ProgrammingResult expected, ShortLease reference, List<byte> opcodes) = await Uninterrupted(options, dir.File("reference.db"), kind);
        int frames = opcodes.Count;
        Assert.InRange(frames, 10, 2000);
        Assert.True(expected.CellsVerified > 0 && expected.CellsVerified < expected.CellsProgrammed);

        // And right after the first write and the first write-verify command past the first tenth of the session (each left unanswered).
        static bool Writes(byte o) => IsCellCommand(o, "program");
        static bool Verifies(byte o) => IsCellCommand(o, "verify") || o == (byte)Opcode.WritePulse;
        int[] kills = [.. Enumerable.Range(1, 9).Select(tenth => frames * tenth / 10),
            opcodes.FindIndex(frames / 10, Writes) + 1, opcodes.FindIndex(opcodes.FindIndex(Verifies) + 1, Verifies) + 1];
        Assert.True(kills.All(k => k > 0), "the session has writes past its first tenth and two write-verify commands");
        foreach (int kill in kills)
        {
            await AssertResumedAsUninterrupted(options, kind, kill, frames, expected, reference, dir);
        }
    }

    /// <summary>
    /// Every cell written and write-verified as often as in the uninterrupted session (once each); where the board can
    /// show what ran (its counters and its cache), every cell also pulsed as often and left at the same conductance.
    /// Without counters a resume reads cells to judge them, and the host's loop reads before each pulse: each read
    /// draws read noise and moves an emulated cell's random stream on, so there the pulses themselves may differ.
    /// </summary>
    private static async Task AssertResumedAsUninterrupted(ProgrammingOptions options, BoardKind kind, int kill, int frames, ProgrammingResult expected, ShortLease reference,
        TempDirectory dir)
    {
        (ProgrammingResult resumed, ShortLease board, byte killedAfter) = await KillAndResume(options, kill, dir.File($"killed-{kill}.db"), kind);
        string where = $"{kind}, killed after frame {kill} of {frames}";
        for (int cell = 0; cell < board.Programs.Length; cell++)
        {
            Assert.True(reference.Programs[cell] == board.Programs[cell] && reference.Verifies[cell] == board.Verifies[cell],
                $"{where}: cell {cell} written {board.Programs[cell]} and verified {board.Verifies[cell]} times, {reference.Programs[cell]} and {reference.Verifies[cell]} uninterrupted");
        }
        Assert.Equal(expected.CellsProgrammed, resumed.CellsProgrammed);
        Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
        if (kind is BoardKind.NoCounters or BoardKind.HostLoop)
        {
            return;
        }
        // The command the kill cut off was run by the board and answered from its cache on the resume, so every verify
        // outcome and every cell's iterations are known as if uninterrupted, and so is the modelled time built on them.
        if (IsCellCommand(killedAfter))
        {
            Assert.True(resumed.Link.Replays > 0, $"{where}: the interrupted {(Opcode)killedAfter} was not answered from the board's cache");
        }
        Assert.Equal((expected.VerifyConverged, expected.VerifyDidNotConverge, expected.VerifyStuck), (resumed.VerifyConverged, resumed.VerifyDidNotConverge, resumed.VerifyStuck));
        Assert.Equal(expected.Modelled, resumed.Modelled);
        Assert.DoesNotContain(resumed.Notes, n => n.Contains("not known", StringComparison.Ordinal) || n.Contains("lost with a crash", StringComparison.Ordinal));
        EmulatedBoard expectedCells = reference.Emulated, cells = board.Emulated;
        for (int cell = 0; cell < cells.Cells.Count; cell++)
        {
            Assert.True(expectedCells.Cells.CountersOf(cell).Pulses == cells.Cells.CountersOf(cell).Pulses,
                $"{where}: cell {cell} pulsed {cells.Cells.CountersOf(cell).Pulses} times, {expectedCells.Cells.CountersOf(cell).Pulses} uninterrupted");
        }
        Assert.Equal(expected.Pulses, resumed.Pulses);
        // The cells themselves; what was read back may differ where the kill landed in the read-back (a read again
        // draws new read noise).
        Assert.All(Enumerable.Range(0, cells.Cells.Count), c => Assert.Equal(expectedCells.Cells.TrueConductance(c), cells.Cells.TrueConductance(c)));
    }

    /// <summary>
    /// A power loss between the kill and the resume takes the board's counters and its response cache, the evidence of
    /// which cells of the chunk in flight it acted on: the resume may leave some of that chunk's cells as the board left
    /// them (and says so), but writes or verifies none of them a second time, and every other cell as uninterrupted.
    /// </summary>
    [Theory]
    [InlineData(BoardKind.Full, "program")]
    [InlineData(BoardKind.Full, "verify")]
    [InlineData(BoardKind.NoCounters, "program")]
    [InlineData(BoardKind.NoCounters, "verify")]
    public async Task A_board_that_lost_power_with_a_chunk_in_flight_never_gets_a_cell_twice(BoardKind kind, string phase)
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options();
        (ProgrammingResult expected, ShortLease reference, List<byte> opcodes) = await Uninterrupted(options, dir.File("reference.db"), kind);
        // Right after a command past the phase's first few (the second write-verify: there are few), with the board's answer lost.
        bool Commands(byte o) => IsCellCommand(o, phase);
        int first = opcodes.FindIndex(opcodes.FindIndex(Commands) + (phase == "program" ? 6 : 1), Commands);
        Assert.True(first > 0, $"no {phase} command");
        (ProgrammingResult resumed, ShortLease board, _) = await KillAndResume(options, first + 1, dir.File("killed.db"), kind, powerCycle: true);

        int[] cells = [.. Enumerable.Range(0, board.Programs.Length)];
        Assert.All(cells, c => Assert.True(board.Programs[c] <= reference.Programs[c] && board.Verifies[c] <= reference.Verifies[c],
            $"cell {c}: written {board.Programs[c]} and verified {board.Verifies[c]} times, {reference.Programs[c]} and {reference.Verifies[c]} uninterrupted"));
        int[] leftAsTheyWere = [.. cells.Where(c => board.Programs[c] < reference.Programs[c] || board.Verifies[c] < reference.Verifies[c])];
        Assert.InRange(leftAsTheyWere.Length, 0, options.ChunkCells * 2);
        Assert.Equal(expected.CellsProgrammed, resumed.CellsProgrammed);
        Assert.Contains(resumed.Notes, n => n.Contains("restarted", StringComparison.Ordinal));
    }

    /// <summary>
    /// A resume that cannot replay judges the chunk in flight command by command (the board runs a command whole or not
    /// at all). Killed right after each command of the phase in turn, so the chunk in flight has commands the board ran
    /// and commands it never received: by the board's counters, every cell ends written and verified exactly as often as
    /// uninterrupted (the ran commands' verify outcomes unknown, and counted in the note); without counters, by reads,
    /// no cell twice, and a cell left short only when it already read near its target.
    /// </summary>
    [Theory]
    [InlineData(BoardKind.Full, "program")]
    [InlineData(BoardKind.Full, "verify")]
    [InlineData(BoardKind.NoCounters, "program")]
    [InlineData(BoardKind.NoCounters, "verify")]
    [InlineData(BoardKind.Version1, "verify")]
    public async Task A_resume_that_cannot_replay_judges_the_chunk_in_flight_command_by_command(BoardKind kind, string phase)
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options();
        (ProgrammingResult expected, ShortLease reference, List<byte> opcodes) = await Uninterrupted(options, dir.File("reference.db"), kind);
        bool Commands(byte o) => IsCellCommand(o, phase);
        int[] commands = [.. Enumerable.Range(0, opcodes.Count).Where(i => Commands(opcodes[i]))];
        Assert.True(commands.Length >= 2, $"{commands.Length} {phase} commands");
        // Every seventh command (the phase has some 70 writes, about five to a chunk): a few seconds, and each place in a chunk.
        commands = [.. commands.Where((_, i) => i % 7 == 0)];
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_model, reference.Info, options.Mapping), s_model);
        // What the judgement calls near: inside twice the band read noise stays in (the larger of 4 read steps and 1 % of the window).
        double near = 2 * Math.Max(4 * reference.Info.ReadResolutionMicrosiemens, 0.01 * (plan.Mapping.ConductanceMax - plan.Mapping.ConductanceMin));
        int judgedShort = 0;
        // Killed with the command unsent (its chunk started) and with it sent and run, its answer lost.
        foreach (int kill in commands.SelectMany(c => new[] { c, c + 1 }).Distinct())
        {
            (ProgrammingResult resumed, ShortLease board, byte killedAfter) = await KillAndResume(options, kill, dir.File($"killed-{kill}.db"), kind, replayable: false);
            string where = $"{kind}, killed after frame {kill} ({phase} command at frame {Array.FindLast(commands, c => c < kill) + 1})";
            Assert.Equal(0, resumed.Link.Replays);
            for (int c = 0; c < plan.CellCount; c++)
            {
                int cell = board.Emulated.IndexOf(plan.Cells[c]);
                (int[] done, int[] expectedDone) = phase == "program" ? (board.Programs, reference.Programs) : (board.Verifies, reference.Verifies);
                Assert.True(board.Programs[cell] <= reference.Programs[cell] && board.Verifies[cell] <= reference.Verifies[cell],
                    $"{where}: cell {c} written {board.Programs[cell]} and verified {board.Verifies[cell]} times, {reference.Programs[cell]} and {reference.Verifies[cell]} uninterrupted");
                if (kind != BoardKind.NoCounters)
                {
                    Assert.True(done[cell] == expectedDone[cell], $"{where}: cell {c} {phase} {done[cell]} times, {expectedDone[cell]} uninterrupted");
                }
                else if (done[cell] < expectedDone[cell])
                {
                    judgedShort++;
                    double off = Math.Abs(board.Emulated.Cells.TrueConductance(cell) - plan.TargetConductance(c));
                    Assert.True(off < 1.5 * near, $"{where}: cell {c} left without its {phase} {off:F3} uS from its target (near is {near:F3} uS)");
                }
            }
            Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
            int unknown = resumed.CellsVerified - resumed.VerifyConverged - resumed.VerifyDidNotConverge - resumed.VerifyStuck;
            // The board ran the cut-off verify command, its chunk in flight: those cells were verified, their answers lost.
            Assert.True(unknown > 0 || phase == "program" || kind == BoardKind.NoCounters || !IsCellCommand(killedAfter, "verify"), where);
            Assert.True(unknown == 0 || resumed.Notes.Any(n => n.StartsWith($"{unknown:N0} verify outcomes were lost with a crash", StringComparison.Ordinal)), where);
            if (phase == "program")
            {
                Assert.Equal(0, unknown);
                Assert.True(kind == BoardKind.NoCounters || (expected.VerifyConverged, expected.VerifyDidNotConverge, expected.VerifyStuck) == (resumed.VerifyConverged, resumed.VerifyDidNotConverge, resumed.VerifyStuck), where);
            }
        }
        // The judgement by reads leaves few cells short: only those that read near their targets before their command.
        Assert.InRange(judgedShort, 0, commands.Length * options.ChunkCells / 4);
    }
}
