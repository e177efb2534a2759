using FsCheck.Xunit;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Tests.Client;

/// <summary>Commands planned as rectangles where the cells are rows, lists elsewhere, always covering the cells in the order asked.</summary>
public sealed class CellSpansTests
{
    private static IEnumerable<CellAddress> Rows(ushort tile, int firstRow, int rows, int firstColumn, int columns) =>
        from r in Enumerable.Range(firstRow, rows) from c in Enumerable.Range(firstColumn, columns) select new CellAddress(tile, (ushort)r, (ushort)c);

    /// <summary>The cells a span covers, in the order its command takes them.</summary>
    private static IEnumerable<CellAddress> Expand(IReadOnlyList<CellAddress> cells, CellSpan span) => span.IsRectangle
        ? Rows(cells[span.Start].Tile, cells[span.Start].Row, span.Rows, cells[span.Start].Column, span.Columns)
        : cells.Skip(span.Start).Take(span.Count);

    [Fact]
    public void Whole_rows_go_as_rectangles_of_as_many_rows_as_a_command_may_read()
    {
        CellAddress[] cells = [.. Rows(2, 10, 8, 0, 256)];

        List<CellSpan> plan = CellSpans.Plan(cells, maxCells: 1024, maxListed: 500);

        Assert.Equal([new CellSpan(0, 1024, 4, 256), new CellSpan(1024, 1024, 4, 256)], plan);
        Assert.Equal(cells, plan.SelectMany(s => Expand(cells, s)));
    }

    [Fact]
    public void A_partial_row_then_whole_rows_then_scattered_cells_keep_their_order()
    {
        CellAddress[] cells = [.. Rows(0, 3, 1, 200, 56), .. Rows(0, 4, 2, 0, 256), new(1, 9, 9), new(0, 0, 5), new(3, 7, 1), .. Rows(1, 0, 1, 10, 2)];

        List<CellSpan> plan = CellSpans.Plan(cells, maxCells: 256, maxListed: 4);

        Assert.Equal(cells, plan.SelectMany(s => Expand(cells, s)));
        // 56 cells, 2 rows of 256 (one each: 256 a command), then 5 scattered cells (two cells of a row are no run) in lists of 4 and 1.
        Assert.Equal([56, 256, 256, 4, 1], plan.Select(s => s.Count));
        Assert.Equal([true, true, true, false, false], plan.Select(s => s.IsRectangle));
    }

    [Fact]
    public void A_plan_needs_cells_and_room_for_at_least_one_cell_a_command()
    {
        Assert.Throws<ArgumentNullException>(() => CellSpans.Plan(null!, 4, 4));
        Assert.Equal("maxCells", Assert.Throws<ArgumentOutOfRangeException>(() => CellSpans.Plan([], 0, 4)).ParamName);
        Assert.Throws<ArgumentNullException>(() => CellSpans.Cut(3, 4, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => CellSpans.Cut(3, 0, _ => null));
    }

    /// <summary>A run of three cells of a row is the shortest that goes as a rectangle; two go as a list.</summary>
    [Fact]
    public void Three_cells_of_a_row_are_a_rectangle_and_two_are_a_list()
    {
        CellAddress[] three = [.. Rows(0, 1, 1, 5, 3)], two = [.. Rows(0, 1, 1, 5, 2)];

        Assert.Equal([new CellSpan(0, 3, 1, 3)], CellSpans.Plan(three, 16, 16));
        Assert.Equal([new CellSpan(0, 2, 0, 0)], CellSpans.Plan(two, 16, 16));
    }

    /// <summary>Columns and rows end at 65,535: a run that would wrap to 0 stops there, and the cells after the wrap start their own.</summary>
    [Fact]
    public void A_run_stops_at_the_last_column_and_row_instead_of_wrapping_to_0()
    {
        CellAddress[] columns = [new(0, 0, 65_533), new(0, 0, 65_534), new(0, 0, 65_535), new(0, 0, 0), new(0, 0, 1), new(0, 0, 2)];
        CellAddress[] rows = [.. Rows(0, 65_534, 2, 0, 3), .. Rows(0, 0, 1, 0, 3)];

        Assert.Equal([new CellSpan(0, 3, 1, 3), new CellSpan(3, 3, 1, 3)], CellSpans.Plan(columns, 64, 64));
        Assert.Equal([new CellSpan(0, 6, 2, 3), new CellSpan(6, 3, 1, 3)], CellSpans.Plan(rows, 64, 64));
    }

    [Property(MaxTest = 300)]
    public bool Any_list_is_read_exactly_in_its_order_within_the_limits(int seed)
    {
        var random = new Random(seed);
        var cells = new List<CellAddress>();
        for (int part = random.Next(1, 8); part > 0; part--)
        {
            if (random.Next(2) == 0)
            {
                cells.AddRange(Rows((ushort)random.Next(3), random.Next(50), random.Next(1, 4), random.Next(200), random.Next(1, 60)));
            }
            else
            {
                cells.AddRange(Enumerable.Range(0, random.Next(1, 20)).Select(_ => new CellAddress((ushort)random.Next(3), (ushort)random.Next(64), (ushort)random.Next(300))));
            }
        }
        int maxCells = random.Next(1, 300), maxListed = random.Next(1, 100);

        List<CellSpan> plan = CellSpans.Plan(cells, maxCells, maxListed);

        return plan.SelectMany(s => Expand(cells, s)).SequenceEqual(cells)
            && plan.All(s => s.Count <= maxCells && (s.IsRectangle || s.Count <= maxListed) && (!s.IsRectangle || s.Rows * s.Columns == s.Count));
    }

    [Fact]
    public async Task The_emulator_answers_a_planned_read_as_it_answers_the_same_cells_listed_for_fewer_bytes()
    {
        await using var host = new Swim.Emulator.Hosting.EmulatorHost(new Swim.Emulator.EmulatedBoard(Swim.Devices.DevicePreset.Paper, Swim.Emulator.BoardGeometry.Default, 4));
        await using var client = new BoardClient(host.ConnectInProcess());
        await client.IdentifyAsync();
        CellAddress[] cells = [.. Rows(1, 0, 6, 0, 256), new(3, 5, 5), .. Rows(2, 9, 1, 17, 40)];
        await client.ProgramAsync([.. cells.Select((c, i) => new ProgramTarget(c, TargetKind.Level, i % 16))]);

        long before = client.Statistics.BytesSent;
        float[] planned = await client.ReadAsync(cells);
        long plannedBytes = client.Statistics.BytesSent - before;
        var listed = new List<float>();
        before = client.Statistics.BytesSent;
        foreach (CellAddress[] chunk in cells.Chunk(200))
        {
            listed.AddRange((await client.SendAsync<ReadResponse>(ReadRequest.Cells(chunk))).Conductances);
        }
        long listedBytes = client.Statistics.BytesSent - before;

        Assert.Equal(listed, planned);
        Assert.True(plannedBytes * 20 < listedBytes, $"{plannedBytes} bytes planned, {listedBytes} listed");
    }

    [Fact]
    public async Task Levels_programmed_as_rectangles_land_as_the_same_levels_programmed_one_target_at_a_time_for_a_twentieth_of_the_bytes()
    {
        CellAddress[] cells = [.. Rows(1, 0, 4, 0, 256), new(3, 5, 5), .. Rows(2, 9, 1, 17, 40)];
        int levelCount = new Swim.Emulator.EmulatedBoard(Swim.Devices.DevicePreset.Paper, Swim.Emulator.BoardGeometry.Default, 4).Info.LevelsPerCell;
        int[] levels = [.. cells.Select((_, i) => i * 7 % levelCount)];
        (float[] Read, long Bytes) Run(bool bulk)
        {
            var capabilities = bulk ? Swim.Emulator.EmulatedBoard.AllCapabilities : Swim.Emulator.EmulatedBoard.AllCapabilities & ~BoardCapabilities.ProgramLevels;
            return Task.Run(async () =>
            {
                await using var host = new Swim.Emulator.Hosting.EmulatorHost(new Swim.Emulator.EmulatedBoard(Swim.Devices.DevicePreset.Paper, Swim.Emulator.BoardGeometry.Default, 4, capabilities));
                await using var client = new BoardClient(host.ConnectInProcess());
                await client.IdentifyAsync();
                long before = client.Statistics.BytesSent;
                StatusCode[] statuses = await client.ProgramLevelsAsync(cells, levels);
                long bytes = client.Statistics.BytesSent - before;
                Assert.All(statuses, s => Assert.Equal(StatusCode.Ok, s));
                Assert.Equal(bulk ? 6 : 5, client.ProgramSpans(cells).Count);
                return (await client.ReadAsync(cells), bytes);
            }).GetAwaiter().GetResult();
        }

        (float[] bulkRead, long bulkBytes) = Run(bulk: true);
        (float[] oneByOne, long oneByOneBytes) = Run(bulk: false);

        // The paper preset programs deterministically from the seed: the same cells, the same levels, the same order.
        Assert.Equal(oneByOne, bulkRead);
        Assert.True(bulkBytes * 15 < oneByOneBytes, $"{bulkBytes} bytes as rectangles, {oneByOneBytes} one by one");
    }
}
