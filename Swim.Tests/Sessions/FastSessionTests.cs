using Google.Protobuf;
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
[Trait("Speed", "Slow")]
public sealed class FastSessionTests
{
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(new TinyMlp(3).Build().ToByteArray(), "tiny mlp", null);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
    private static readonly BoardGeometry s_geometry = new(2, 64, 64);

    private static ProgrammingOptions Options() => new() { Method = SelectionMethod.Magnitude, Fraction = 0.3, Seed = 5, ChunkCells = 24 };

    private static Dictionary<string, string> Facts => new() { ["model"] = "tiny" };

    /// <summary>
    /// The emulated board with a lease of 100 ms: a kill before the session's ticket is journalled leaves a lease the
    /// resume must wait out (as it would at the bench), and the emulator's 5 s would make each such kill take seconds.
    /// </summary>
    private sealed class ShortLease(EmulatedBoard board) : DelegatingDevice(board)
    {
        private readonly BoardInfo _info = board.Info with { LeaseMs = 100 };

        public override BoardInfo Info => _info;
    }

    /// <summary>A link into the board's endpoint, and a task that completes once the board has run all it was sent and the link closed.</summary>
    private static (ByteTransport Link, Task Drained) Connect(BoardEndpoint endpoint)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        return (host, Task.Run(() => endpoint.ServeAsync(board, CancellationToken.None)));
    }

    /// <summary>The session uninterrupted, with the opcodes of every frame it wrote.</summary>
    private static async Task<(ProgrammingResult Result, EmulatedBoard Board, int Frames)> Uninterrupted(ProgrammingOptions options, string journalPath)
    {
        var board = new EmulatedBoard(s_preset, s_geometry, seed: 9);
        using var never = new CancellationTokenSource();
        var counting = new KillSwitch(Connect(new BoardEndpoint(new ShortLease(board))).Link, int.MaxValue, never);
        await using var client = new BoardClient(counting, KillSwitch.ClientOptions());
        using SessionJournal journal = SessionJournal.Create(journalPath, Facts);
        ProgrammingResult result = await ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal);
        return (result, board, counting.Opcodes.Count);
    }

    private static async Task<(ProgrammingResult Resumed, EmulatedBoard Board)> KillAndResume(ProgrammingOptions options, int killAfterFrames, string journalPath)
    {
        var board = new EmulatedBoard(s_preset, s_geometry, seed: 9);
        var endpoint = new BoardEndpoint(new ShortLease(board));
        (var link, Task drained) = Connect(endpoint);
        using (var kill = new CancellationTokenSource())
        using (SessionJournal journal = SessionJournal.Create(journalPath, Facts))
        // A process that died sends no CLOSE: its client must not wait a second for CLOSE's answer either.
        await using (var client = new BoardClient(new KillSwitch(link, killAfterFrames, kill), new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), CloseOnDispose = false }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal,
                cancellationToken: kill.Token));
        }
        await drained.WaitAsync(TimeSpan.FromSeconds(30));

        var resumedOptions = new BoardClientOptions
        {
            InitialSequence = SessionJournal.ClaimSeriesContinuation(journalPath)?.NextSequence,
            AttemptTimeout = TimeSpan.FromSeconds(30),
            ResumeSession = SessionJournal.BoardSessionOf(journalPath),
        };
        await using var resumedClient = new BoardClient(Connect(endpoint).Link, resumedOptions);
        using SessionJournal resumedJournal = SessionJournal.Open(journalPath);
        ProgrammingResult resumed = await ProgrammingSession.RunAsync(resumedClient, s_model, null, options, journal: resumedJournal);
        Assert.DoesNotContain(resumedJournal.Summary(), row => !row.Done);
        Assert.Equal("completed", resumedJournal.Fact("state"));
        return (resumed, board);
    }

    [Fact]
    public async Task A_session_killed_after_any_frame_and_resumed_ends_as_an_uninterrupted_one()
    {
        using var dir = new TempDirectory();
        ProgrammingOptions options = Options();
        (ProgrammingResult expected, EmulatedBoard reference, int frames) = await Uninterrupted(options, dir.File("reference.db"));
        Assert.InRange(frames, 10, 400);
        Assert.True(expected.CellsVerified > 0 && expected.CellsVerified < expected.CellsProgrammed);

        for (int kill = 1; kill < frames; kill++)
        {
            (ProgrammingResult resumed, EmulatedBoard board) = await KillAndResume(options, kill, dir.File($"killed-{kill}.db"));

            for (int cell = 0; cell < board.Cells.Count; cell++)
            {
                Assert.True(reference.Cells.CountersOf(cell).Pulses == board.Cells.CountersOf(cell).Pulses,
                    $"killed after frame {kill} of {frames}: cell {cell} pulsed {board.Cells.CountersOf(cell).Pulses} times, {reference.Cells.CountersOf(cell).Pulses} uninterrupted");
            }
            Assert.Equal(expected.CellsProgrammed, resumed.CellsProgrammed);
            Assert.Equal(expected.CellsVerified, resumed.CellsVerified);
            Assert.Equal(expected.Pulses, resumed.Pulses);
            // The cells themselves; what was read back may differ where the kill landed in the read-back (a read again
            // draws new read noise).
            Assert.All(Enumerable.Range(0, board.Cells.Count), c => Assert.Equal(reference.Cells.TrueConductance(c), board.Cells.TrueConductance(c)));
        }
    }
}
