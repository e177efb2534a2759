using System.Collections.Concurrent;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Client;

/// <summary>
/// The bulk commands on boards whose max_batch, max_payload or max_response is small enough to bind (the emulator's
/// own limits never do): each command's cut worked by hand from the spec's field lengths, the board's endpoint refusing
/// anything one byte or one cell over, and the cells ending as they end on a board without such limits.
/// </summary>
public sealed class SmallBoardTests
{
    // Four levels a cell: 2 bits a packed level. Field lengths from firmware-spec/protocol.md: PROGRAM_LEVELS' header
    // is origin (6), rows, columns (2 each), bits (1): 11 bytes, its answer a count (2) and 3 bytes a failed cell;
    // VERIFY_LEVELS' header adds tolerance (4) and iterations (2): 17 bytes, then the mask, then the levels, its answer
    // a count and 3 bytes a cell; READ_CODES answers 11 bytes of header, then a code a cell; READ 2 bytes and 4 a cell.
    private static readonly DevicePreset Preset = DevicePreset.Rram;

    /// <summary>Rows 0 to 3 of tile 2, columns 0 to 199, row by row: 800 cells that are rows.</summary>
    private static readonly CellAddress[] Rows = [.. from r in Enumerable.Range(0, 4) from c in Enumerable.Range(0, 200) select new CellAddress(2, (ushort)r, (ushort)c)];

    private static int[] Levels(int count) => [.. Enumerable.Range(0, count).Select(i => i * 7 % 4)];

    /// <summary>The emulator's cells behind an IDENTIFY stating smaller limits; remembers each command's opcode and item count.</summary>
    private sealed class SmallBoard(ushort maxBatch, ushort maxPayload, ushort maxResponse, BoardCapabilities capabilities = EmulatedBoard.AllCapabilities,
        DevicePreset? preset = null) : DelegatingDevice(new EmulatedBoard(preset ?? Preset, BoardGeometry.Default, 11, capabilities))
    {
        private readonly BoardInfo _info = EmulatedBoard.Describe(preset ?? Preset, BoardGeometry.Default, 11, capabilities) with
        {
            MaxBatch = maxBatch, MaxPayload = maxPayload, MaxResponse = maxResponse,
        };

        public override BoardInfo Info => _info;

        public ConcurrentQueue<(Opcode Opcode, int Items)> Commands { get; } = new();

        public override BoardResponse Execute(BoardRequest request)
        {
            Commands.Enqueue((request.Opcode, request.ItemCount));
            return request is IdentifyRequest ? new IdentifyResponse(Info) : Inner.Execute(request);
        }

        public int[] ItemsOf(Opcode opcode) => [.. Commands.Where(c => c.Opcode == opcode).Select(c => c.Items)];
    }

    private static async Task<T> OnAsync<T>(SmallBoard device, Func<BoardClient, Task<T>> use)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        try
        {
            await using var client = new BoardClient(host, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30) });
            await client.IdentifyAsync();
            return await use(client).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    /// <summary>The emulator's own limits: none of them binds for these cells.</summary>
    private static SmallBoard Unlimited() => new(EmulatedBoard.MaxBatch, EmulatedBoard.MaxPayload, (ushort)ProtocolConstants.MaxPayloadLengthOf(ProtocolConstants.Version2));

    /// <summary>
    /// PROGRAM_LEVELS' cells a command: the least of max_batch, the levels that fit max_payload after the 11-byte
    /// header ((23 - 11) x 8 / 2 = 48), and the failures that fit max_response after the count ((143 - 2) / 3 = 47).
    /// </summary>
    [Theory]
    [InlineData(50, 1024, 1024, 50)]
    [InlineData(256, 23, 1024, 48)]
    [InlineData(256, 1024, 143, 47)]
    public async Task Program_levels_rectangles_take_as_many_cells_as_the_tightest_limit_allows(int maxBatch, int maxPayload, int maxResponse, int cellsPerCommand)
    {
        int[] levels = Levels(Rows.Length);
        var small = new SmallBoard((ushort)maxBatch, (ushort)maxPayload, (ushort)maxResponse);
        float[] programmed = await OnAsync(small, async client =>
        {
            Assert.All(await client.ProgramLevelsAsync(Rows, levels), s => Assert.Equal(StatusCode.Ok, s));
            return await client.ReadAsync(Rows);
        });
        float[] reference = await OnAsync(Unlimited(), async client =>
        {
            await client.ProgramLevelsAsync(Rows, levels);
            return await client.ReadAsync(Rows);
        });

        int[] commands = small.ItemsOf(Opcode.ProgramLevels);
        Assert.Equal(cellsPerCommand, commands.Max());
        Assert.Equal(Rows.Length, commands.Sum());
        Assert.Empty(small.ItemsOf(Opcode.Program));
        Assert.Equal(reference, programmed);
    }

    /// <summary>
    /// VERIFY_LEVELS' cells a command, for a whole row: the least of max_batch (30), the outcomes that fit max_response
    /// ((137 - 2) / 3 = 45), and the cells whose header, mask and levels fit max_payload: 17 + 5 + 10 = 32 bytes for
    /// 40 cells, 17 + 6 + 11 = 34 for 41 (so 40 on a board of 32 bytes, exactly full, and on one of 33).
    /// </summary>
    [Theory]
    [InlineData(30, 1024, 1024, 30)]
    [InlineData(256, 1024, 137, 45)]
    [InlineData(256, 32, 1024, 40)]
    [InlineData(256, 33, 1024, 40)]
    public async Task Verify_levels_rectangles_take_as_many_cells_as_the_tightest_limit_allows(int maxBatch, int maxPayload, int maxResponse, int cellsPerCommand)
    {
        int[] levels = Levels(Rows.Length);
        var small = new SmallBoard((ushort)maxBatch, (ushort)maxPayload, (ushort)maxResponse);
        (VerifyLevelsOutcome[] Outcomes, float[] Read) verified = await OnAsync(small, async client =>
            (await client.VerifyLevelsAsync(Rows, levels, 1f, 20), await client.ReadAsync(Rows)));
        (VerifyLevelsOutcome[] Outcomes, float[] Read) reference = await OnAsync(Unlimited(), async client =>
            (await client.VerifyLevelsAsync(Rows, levels, 1f, 20), await client.ReadAsync(Rows)));

        int[] commands = small.ItemsOf(Opcode.VerifyLevels);
        Assert.Equal(cellsPerCommand, commands[0]);
        Assert.Equal(cellsPerCommand, commands.Max());
        Assert.Equal(Rows.Length, commands.Sum() + small.ItemsOf(Opcode.ProgramVerify).Sum());
        Assert.Equal(reference.Outcomes, verified.Outcomes);
        Assert.Equal(reference.Read, verified.Read);
    }

    /// <summary>
    /// READ_CODES' cells a command: what fits max_response after its 11-byte header, (131 - 11) / 2 = 60 codes of 16
    /// bits, (141 - 11) / 1 = 130 of 8, or max_batch; plain READ's (143 - 2) / 4 = 35 conductances. The codes the same
    /// as a board without such limits answers.
    /// </summary>
    [Theory]
    [InlineData(16, 256, 131, 60)]
    [InlineData(8, 256, 141, 130)]
    [InlineData(8, 90, 1024, 90)]
    public async Task Coded_reads_take_as_many_cells_as_the_answer_carries(byte bits, int maxBatch, int maxResponse, int cellsPerCommand)
    {
        int[] levels = Levels(Rows.Length);
        var small = new SmallBoard((ushort)maxBatch, 1024, (ushort)maxResponse);
        (float[] Coded, float[] Plain) read = await OnAsync(small, async client =>
        {
            await client.ProgramLevelsAsync(Rows, levels);
            return (await client.ReadCodedAsync(Rows, bits), await client.ReadAsync(Rows));
        });
        (float[] Coded, float[] Plain) reference = await OnAsync(Unlimited(), async client =>
        {
            await client.ProgramLevelsAsync(Rows, levels);
            return (await client.ReadCodedAsync(Rows, bits), await client.ReadAsync(Rows));
        });

        int[] commands = small.ItemsOf(Opcode.ReadCodes);
        Assert.Equal(cellsPerCommand, commands.Max());
        Assert.Equal(Rows.Length, commands.Sum());
        Assert.Equal(Math.Min(maxBatch, (maxResponse - 2) / 4), small.ItemsOf(Opcode.Read).Max());
        Assert.Equal(reference.Coded, read.Coded);
        Assert.Equal(reference.Plain, read.Plain);
    }

    /// <summary>
    /// A masked rectangle costs at most two bytes of mask a verified cell. Cells 18 columns apart: 8 of them span 127
    /// columns, 16 bytes of mask (the most for 8), a ninth 145 columns, 19 bytes (more than 18); the row's other 7 span
    /// 109 columns, 14 bytes. A run ends where the row order does (a column not to the right, the same cell again, an
    /// earlier row), at a tile's edge, and a run of one cell is listed.
    /// </summary>
    [Fact]
    public async Task Masked_runs_end_at_two_bytes_of_mask_a_cell_and_where_row_order_ends()
    {
        CellAddress[] unordered = [new(1, 5, 10), new(1, 5, 12), new(1, 5, 14), new(1, 5, 13), new(1, 6, 1), new(1, 6, 3), new(1, 5, 4), new(1, 5, 5), new(1, 5, 5), new(3, 5, 6)];
        CellAddress[] sparse = [.. Enumerable.Range(0, 15).Select(i => new CellAddress(0, 4, (ushort)(18 * i)))];
        List<CellSpan> spans = await OnAsync(Unlimited(), client => Task.FromResult(client.VerifySpans([.. unordered, .. sparse])));

        Assert.Equal(
        [
            new CellSpan(0, 3, 1, 5), new CellSpan(3, 3, 2, 13), new CellSpan(6, 2, 1, 2), new CellSpan(8, 2, 0, 0),
            new CellSpan(10, 8, 1, 127), new CellSpan(18, 7, 1, 109),
        ], spans);
    }

    /// <summary>A level that does not fit the wire's 16 bits is refused, not sent as another level.</summary>
    [Fact]
    public async Task A_level_beyond_sixteen_bits_is_refused_not_wrapped()
    {
        CellAddress[] row = [.. Rows.Take(8)];
        int[] levels = [1, 1, 1, 65_537, 1, 1, 1, 1];
        var board = Unlimited();

        await OnAsync(board, async client =>
        {
            await Assert.ThrowsAsync<OverflowException>(() => client.ProgramLevelsAsync(row, levels));
            await Assert.ThrowsAsync<OverflowException>(() => client.VerifyLevelsAsync(row, levels, 1f, 5));
            return 0;
        });
        Assert.DoesNotContain(board.Commands, c => c.Opcode is Opcode.ProgramLevels or Opcode.VerifyLevels);
    }

    /// <summary>
    /// Without VERIFY_LEVELS, each cell is verified to its level's conductance, worked from IDENTIFY: g_min plus the
    /// level times (g_max - g_min) / (levels - 1). Read back, every cell that converged lies within the tolerance of it.
    /// </summary>
    [Fact]
    public async Task Without_verify_levels_cells_are_verified_to_their_levels_conductance_from_the_window()
    {
        CellAddress[] cells = [.. Rows.Take(40)];
        int[] levels = Levels(cells.Length);
        // HfO2 RRAM's window starts at 9 uS: a window from 0 would not show g_min's part. No stuck cells to judge.
        DevicePreset hfox = DevicePreset.HfOx with { StuckRate = 0 };
        BoardInfo described = EmulatedBoard.Describe(hfox, BoardGeometry.Default, 11);
        var board = new SmallBoard(256, 1024, 1024, described.Capabilities & ~BoardCapabilities.VerifyLevels, hfox);
        const float Tolerance = 0.5f;

        (VerifyLevelsOutcome[] Outcomes, float[] Read) verified = await OnAsync(board, async client =>
            (await client.VerifyLevelsAsync(cells, levels, Tolerance, 50), await client.ReadAsync(cells, samples: 16)));

        Assert.Empty(board.ItemsOf(Opcode.VerifyLevels));
        double step = (described.ConductanceMaxMicrosiemens - described.ConductanceMinMicrosiemens) / (described.LevelsPerCell - 1.0);
        for (int i = 0; i < cells.Length; i++)
        {
            Assert.Equal(StatusCode.Ok, verified.Outcomes[i].Status);
            Assert.InRange(verified.Read[i], described.ConductanceMinMicrosiemens + levels[i] * step - 2 * Tolerance, described.ConductanceMinMicrosiemens + levels[i] * step + 2 * Tolerance);
        }
    }
}
