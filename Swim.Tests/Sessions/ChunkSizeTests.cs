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
/// How a session cuts its phases into journalled chunks, by the rules a resume relies on: a program chunk holds no more
/// commands than half the board's response cache (so a resumed host can replay all of it), but at least 1,024 cells
/// (each chunk costs two journal writes) and at most the options' chunk size; a verify chunk ends where a command ends,
/// with as many commands as that allows. Checked on a 32-24-10 classifier (a few thousand cells, so the limits bind)
/// against the commands the board received, on boards announcing caches of different depths.
/// </summary>
public sealed class ChunkSizeTests
{
    private static readonly OnnxModel s_model = OnnxModel.FromBytes(TestNets.Mlp(4, 32, 24, 10).ToByteArray(), "mlp 32-24-10", null);
    private static readonly DevicePreset s_preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };

    private const int MinimumChunkCells = 1024;

    /// <summary>
    /// A board announcing a response cache of <paramref name="depth"/> and a payload limit of <paramref name="maxPayload"/>
    /// bytes in its IDENTIFY (its endpoint keeps as many answers), logging the cells of each write-verify command.
    /// </summary>
    private sealed class CacheOf(EmulatedBoard board, ushort depth, ushort maxPayload) : DelegatingDevice(board)
    {
        private readonly BoardInfo _info = board.Info with { ResponseCacheDepth = depth, MaxPayload = maxPayload };

        public override BoardInfo Info => _info;

        public List<int> VerifyCommands { get; } = [];

        /// <summary>Open-loop writes each cell received.</summary>
        public int[] Writes { get; } = new int[board.Cells.Count];

        public override BoardResponse Execute(BoardRequest request)
        {
            IEnumerable<CellAddress> written = request switch
            {
                ProgramRequest list => list.Targets.Select(t => t.Cell),
                ProgramLevelsRequest rows => rows.Addresses(),
                _ => [],
            };
            foreach (CellAddress cell in written)
            {
                Writes[Inner.IndexOf(cell)]++;
            }
            switch (request)
            {
                case IdentifyRequest:
                    return new IdentifyResponse(_info);
                case ProgramVerifyRequest list:
                    VerifyCommands.Add(list.Targets.Count);
                    break;
                case VerifyLevelsRequest rows:
                    VerifyCommands.Add(rows.Selected().Count());
                    break;
            }
            return base.Execute(request);
        }
    }

    /// <param name="maxPayload">Small enough that half the cache's commands hold fewer than 1,024 cells where the cache is shallow.</param>
    private static async Task<(List<int> Program, List<int> Verify, CacheOf Board, int ItemsPerWrite)> Run(ushort depth, int chunkCells, bool hostVerify = false,
        ushort maxPayload = 1024)
    {
        using var dir = new TempDirectory();
        var board = new CacheOf(new EmulatedBoard(s_preset, new BoardGeometry(4, 64, 64), seed: 3), depth, maxPayload);
        (ByteTransport host, ByteTransport wire) = InMemoryLink.CreatePair();
        Task served = Task.Run(() => new BoardEndpoint(board).ServeAsync(wire, CancellationToken.None));
        int itemsPerWrite;
        using (SessionJournal journal = SessionJournal.Create(dir.File("session.db"), new Dictionary<string, string> { ["model"] = "mlp" }))
        {
            await using (var client = new BoardClient(host, KillSwitch.ClientOptions()))
            {
                var options = new ProgrammingOptions { Method = SelectionMethod.Magnitude, Fraction = 0.6, Seed = 2, ChunkCells = chunkCells, HostVerify = hostVerify };
                await ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal);
                itemsPerWrite = client.ItemsPerCommand(ProgramTarget.WireLength);
            }
            await served.WaitAsync(TimeSpan.FromSeconds(30));
            return (Sizes(journal, "program"), Sizes(journal, "verify"), board, itemsPerWrite);
        }
    }

    /// <summary>
    /// A session killed in its second program chunk and resumed with another chunk size: the chunks the journal holds keep
    /// the size they were started with (the one in flight is finished as it was cut), the rest take the new size, and
    /// no cell is written twice.
    /// </summary>
    [Fact]
    public async Task A_resume_with_another_chunk_size_keeps_the_journalled_chunks_as_they_were_cut()
    {
        using var dir = new TempDirectory();
        string journalPath = dir.File("session.db");
        var board = new CacheOf(new EmulatedBoard(s_preset, new BoardGeometry(4, 64, 64), seed: 3), 64, 1024);
        var endpoint = new BoardEndpoint(board);
        var options = new ProgrammingOptions { Method = SelectionMethod.Magnitude, Fraction = 0.6, Seed = 2, ChunkCells = 700 };
        static bool Write(byte o) => o is (byte)Opcode.ProgramLevels or (byte)Opcode.Program;
        // The first write after the STATUS that opens the second chunk.
        static bool InSecondChunk(IReadOnlyList<byte> sent) =>
            sent.Count > 0 && Write(sent[^1]) && sent.ToList().FindIndex(sent.ToList().FindIndex(Write) + 1, o => o == (byte)Opcode.Status) is int opened and >= 0 && opened < sent.Count - 1;
        (ByteTransport host, ByteTransport wire) = InMemoryLink.CreatePair();
        Task served = Task.Run(() => endpoint.ServeAsync(wire, CancellationToken.None));
        using var kill = new CancellationTokenSource();
        using (SessionJournal journal = SessionJournal.Create(journalPath, new Dictionary<string, string> { ["model"] = "mlp" }))
        await using (var client = new BoardClient(new KillSwitch(host, InSecondChunk, kill), new BoardClientOptions { CloseOnDispose = false }))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ProgrammingSession.RunAsync(client, s_model, null, options, journal: journal, cancellationToken: kill.Token));
        }
        await served.WaitAsync(TimeSpan.FromSeconds(30));

        (host, wire) = InMemoryLink.CreatePair();
        served = Task.Run(() => endpoint.ServeAsync(wire, CancellationToken.None));
        using (SessionJournal journal = SessionJournal.Open(journalPath))
        {
            await using (var client = new BoardClient(host, new BoardClientOptions
            {
                InitialSequence = SessionJournal.ClaimSeriesContinuation(journalPath)?.NextSequence,
                ResumeSession = SessionJournal.BoardSessionOf(journalPath),
            }))
            {
                await ProgrammingSession.RunAsync(client, s_model, null, options with { ChunkCells = 500 }, journal: journal);
            }
            List<int> program = Sizes(journal, "program");
            Assert.Equal([700, 700], program[..2]);
            Assert.All(program[2..^1], s => Assert.Equal(500, s));
            await served.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.All(board.Writes, w => Assert.InRange(w, 0, 1));
            Assert.Equal(program.Sum(), board.Writes.Sum());
        }
    }

    /// <summary>The journal's chunks of a phase, in order: each one's cells.</summary>
    private static List<int> Sizes(SessionJournal journal, string phase)
    {
        var sizes = new List<int>();
        for (int start = 0; journal.Find(phase, start) is { } chunk; start += chunk.Count)
        {
            sizes.Add(chunk.Count);
        }
        return sizes;
    }

    [Theory]
    [InlineData(4, 100_000)]
    [InlineData(16, 100_000)]
    [InlineData(64, 100_000)]
    [InlineData(64, 2_000)]
    [InlineData(64, 700)]
    public async Task Program_chunks_hold_half_the_cache_in_commands_at_least_1024_cells_and_at_most_the_chunk_size(int depth, int chunkCells)
    {
        (List<int> program, _, _, int itemsPerWrite) = await Run((ushort)depth, chunkCells);
        int size = Math.Min(chunkCells, Math.Max(MinimumChunkCells, depth / 2 * itemsPerWrite));
        Assert.True(program.Count >= 2, $"one program chunk of {program.Sum()} cells: the model is too small to show where chunks end");
        Assert.All(program[..^1], s => Assert.Equal(size, s));
        Assert.InRange(program[^1], 1, size);
    }

    [Theory]
    // Commands of up to 256 cells: a cache of 4 (two commands a chunk) still fills a chunk to 1,024 cells; one of 16
    // fills it to eight commands past 1,024 cells; a chunk size of 700 cuts at the commands that fit; one of 40 takes one command a chunk.
    [InlineData(4, 100_000)]
    [InlineData(16, 100_000)]
    [InlineData(64, 700)]
    [InlineData(16, 40)]
    public async Task Verify_chunks_end_where_commands_end_and_hold_as_many_as_replay_and_the_chunk_size_allow(int depth, int chunkCells)
    {
        (_, List<int> verify, CacheOf board, _) = await Run((ushort)depth, chunkCells);
        // The rule, applied to the commands as the board received them: a chunk takes the next command while it has
        // fewer than half the cache's depth in commands or fewer than 1,024 cells, and the command fits the chunk size
        // (its first command always).
        var expected = new List<int>();
        for (int next = 0; next < board.VerifyCommands.Count;)
        {
            int cells = 0, commands = 0;
            while (next < board.VerifyCommands.Count && (commands == 0
                || ((commands < depth / 2 || cells < MinimumChunkCells) && cells + board.VerifyCommands[next] <= chunkCells)))
            {
                cells += board.VerifyCommands[next++];
                commands++;
            }
            expected.Add(cells);
        }
        Assert.True(expected.Count >= 2, $"{board.VerifyCommands.Count} verify commands in one chunk");
        Assert.Equal(expected, verify);
    }

    [Fact]
    public async Task The_hosts_verify_loop_verifies_in_chunks_of_the_chunk_size()
    {
        (_, List<int> verify, _, _) = await Run(4, 500, hostVerify: true);
        Assert.All(verify[..^1], s => Assert.Equal(500, s));
        Assert.InRange(verify[^1], 1, 500);
    }
}
