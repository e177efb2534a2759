using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Tests.Client;

/// <summary>
/// The bulk commands (VERIFY_LEVELS, READ_CODES) checked against the commands they stand in for: the same cells sent
/// as PROGRAM_VERIFY and READ lists to an identical emulated board must come out the same.
/// </summary>
public sealed class BulkCommandTests
{
    private static IEnumerable<CellAddress> EveryFourthColumn(ushort tile, int firstRow, int rows) =>
        from r in Enumerable.Range(firstRow, rows) from c in Enumerable.Range(0, 64) select new CellAddress(tile, (ushort)r, (ushort)(4 * c));

    /// <summary>Two rows of every fourth cell, a cell of another tile, two cells of a row one apart.</summary>
    private static readonly CellAddress[] Cells = [.. EveryFourthColumn(1, 0, 2), new(3, 5, 5), new(2, 9, 17), new(2, 9, 19)];

    private static async Task<T> OnBoardAsync<T>(BoardCapabilities capabilities, Func<BoardClient, Task<T>> use)
    {
        await using var host = new EmulatorHost(new EmulatedBoard(DevicePreset.Paper, BoardGeometry.Default, 4, capabilities));
        await using var client = new BoardClient(host.ConnectInProcess());
        await client.IdentifyAsync();
        return await use(client);
    }

    /// <summary>
    /// The spans worked by hand: the 128 cells of tile 1 as one masked rectangle of 2 x 253 (64 bytes of mask for 128
    /// cells, within two bytes a cell), the lone cell of tile 3 as a list, the two cells of tile 2 as a 1 x 3 rectangle.
    /// </summary>
    [Fact]
    public async Task Cells_verified_as_masked_rectangles_end_as_the_same_cells_verified_one_target_at_a_time()
    {
        int levelCount = new EmulatedBoard(DevicePreset.Paper, BoardGeometry.Default, 4).Info.LevelsPerCell;
        int[] levels = [.. Cells.Select((_, i) => i * 5 % levelCount)];
        Task<(VerifyLevelsOutcome[] Outcomes, float[] Read, List<CellSpan> Spans, long Bytes)> Run(BoardCapabilities capabilities) => OnBoardAsync(capabilities, async client =>
        {
            long before = client.Statistics.BytesSent;
            VerifyLevelsOutcome[] outcomes = await client.VerifyLevelsAsync(Cells, levels, 1f, 20);
            long bytes = client.Statistics.BytesSent - before;
            return (outcomes, await client.ReadAsync(Cells), client.VerifySpans(Cells), bytes);
        });

        var masked = await Run(EmulatedBoard.AllCapabilities);
        var listed = await Run(EmulatedBoard.AllCapabilities & ~BoardCapabilities.VerifyLevels);

        Assert.Equal([new CellSpan(0, 128, 2, 253), new CellSpan(128, 1, 0, 0), new CellSpan(129, 2, 1, 3)], masked.Spans);
        Assert.Equal([new CellSpan(0, 131, 0, 0)], listed.Spans);
        Assert.Equal(listed.Outcomes, masked.Outcomes);
        Assert.Equal(listed.Read, masked.Read);
        Assert.All(masked.Outcomes, o => Assert.Equal(StatusCode.Ok, o.Status));
        Assert.True(masked.Bytes * 4 < listed.Bytes, $"{masked.Bytes} bytes masked, {listed.Bytes} listed");
    }

    /// <summary>
    /// READ_CODES returns each cell within one code step of its conductance (the board's window over 2^bits - 1 codes);
    /// cells that are no rectangle, and a board without READ_CODES, are read exactly as READ reads them.
    /// </summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public async Task Coded_reads_are_within_a_code_step_of_plain_reads(byte bits)
    {
        CellAddress[] cells = [.. EveryFourthColumn(1, 0, 1).Select(c => c with { Column = (ushort)(c.Column / 4) }), new(3, 5, 5), new(2, 9, 30)];
        int levelCount = new EmulatedBoard(DevicePreset.Paper, BoardGeometry.Default, 4).Info.LevelsPerCell;
        int[] levels = [.. cells.Select((_, i) => i * 3 % levelCount)];
        (float[] Plain, float[] Coded, float Step) read = await OnBoardAsync(EmulatedBoard.AllCapabilities, async client =>
        {
            await client.ProgramLevelsAsync(cells, levels);
            BoardInfo board = client.Board!;
            float step = (board.ConductanceMaxMicrosiemens - board.ConductanceMinMicrosiemens) / ((1 << bits) - 1);
            return (await client.ReadAsync(cells), await client.ReadCodedAsync(cells, bits), step);
        });
        float[] uncoded = await OnBoardAsync(EmulatedBoard.AllCapabilities & ~BoardCapabilities.ReadCodes, async client =>
        {
            await client.ProgramLevelsAsync(cells, levels);
            return await client.ReadCodedAsync(cells, bits);
        });

        Assert.All(Enumerable.Range(0, 64), i => Assert.InRange(read.Coded[i] - read.Plain[i], -read.Step, read.Step));
        Assert.Equal(read.Plain[64..], read.Coded[64..]);
        Assert.Equal(read.Plain, uncoded);
    }

    [Fact]
    public async Task Bulk_commands_refuse_what_they_cannot_carry_by_name()
    {
        var cell = new CellAddress(0, 0, 0);
        await using var host = new EmulatorHost(new EmulatedBoard(DevicePreset.Paper, BoardGeometry.Default, 4));
        await using var client = new BoardClient(host.ConnectInProcess());

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.VerifyLevelsAsync([cell], [1], 1f, 5));
        await client.IdentifyAsync();
        Assert.Equal("levels", (await Assert.ThrowsAsync<ArgumentException>(() => client.VerifyLevelsAsync([cell], [1, 2], 1f, 5))).ParamName);
        Assert.Equal("levels", (await Assert.ThrowsAsync<ArgumentException>(() => client.ProgramLevelsAsync([cell], []))).ParamName);
        Assert.Equal("codeBits", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.ReadCodedAsync([cell], 12))).ParamName);
    }
}
