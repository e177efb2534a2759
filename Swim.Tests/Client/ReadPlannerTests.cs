using FsCheck.Xunit;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Tests.Client;

/// <summary>READs planned as rectangles where the cells are rows, lists elsewhere, always answering in the order asked.</summary>
public sealed class ReadPlannerTests
{
    private static IEnumerable<CellAddress> Rows(ushort tile, int firstRow, int rows, int firstColumn, int columns) =>
        from r in Enumerable.Range(firstRow, rows) from c in Enumerable.Range(firstColumn, columns) select new CellAddress(tile, (ushort)r, (ushort)c);

    /// <summary>The cells a command reads, in the order its answer gives them.</summary>
    private static IEnumerable<CellAddress> Expand(ReadRequest read) => read.CellList ?? Rows(read.Origin.Tile, read.Origin.Row, read.RectangleRows, read.Origin.Column, read.RectangleColumns);

    [Fact]
    public void Whole_rows_go_as_rectangles_of_as_many_rows_as_a_command_may_read()
    {
        CellAddress[] cells = [.. Rows(2, 10, 8, 0, 256)];

        List<ReadRequest> plan = ReadPlanner.Plan(cells, 1, maxCells: 1024, maxListed: 500);

        Assert.Equal(2, plan.Count);
        Assert.All(plan, r => Assert.Equal((null, (ushort)4, (ushort)256), (r.CellList, r.RectangleRows, r.RectangleColumns)));
        Assert.Equal(new CellAddress(2, 14, 0), plan[1].Origin);
        Assert.Equal(cells, plan.SelectMany(Expand));
    }

    [Fact]
    public void A_partial_row_then_whole_rows_then_scattered_cells_keep_their_order()
    {
        CellAddress[] cells = [.. Rows(0, 3, 1, 200, 56), .. Rows(0, 4, 2, 0, 256), new(1, 9, 9), new(0, 0, 5), new(3, 7, 1), .. Rows(1, 0, 1, 10, 2)];

        List<ReadRequest> plan = ReadPlanner.Plan(cells, 4, maxCells: 256, maxListed: 4);

        Assert.Equal(cells, plan.SelectMany(Expand));
        Assert.All(plan, r => Assert.Equal(4, r.Samples));
        // 56 cells, 2 rows of 256 (one each: 256 a command), then 5 scattered cells (two cells of a row are no run) in lists of 4 and 1.
        Assert.Equal([56, 256, 256, 4, 1], plan.Select(r => r.ItemCount));
        Assert.Equal([false, false, false, true, true], plan.Select(r => r.CellList is not null));
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

        List<ReadRequest> plan = ReadPlanner.Plan(cells, 1, maxCells, maxListed);

        return plan.SelectMany(Expand).SequenceEqual(cells)
            && plan.All(r => r.ItemCount <= maxCells && (r.CellList is null || r.ItemCount <= maxListed));
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
}
