using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Transports;

/// <summary>
/// A modelled UART: 10 bit times a byte, bytes queued behind each other, both ways, on the in-memory link and on the
/// emulator's TCP endpoint alike; timed on a fake clock where the exact figure matters.
/// </summary>
public sealed class LinePacingTests
{
    /// <summary>Reads whatever arrives on <paramref name="transport"/> in the background, counting the bytes.</summary>
    private sealed class Counter
    {
        private long _bytes;

        public Counter(ByteTransport transport) => Reading = Task.Run(async () =>
        {
            var buffer = new byte[8192];
            int read;
            while ((read = await transport.ReadAsync(buffer, default)) > 0)
            {
                Interlocked.Add(ref _bytes, read);
            }
        });

        public Task Reading { get; }

        public long Bytes => Interlocked.Read(ref _bytes);
    }

    /// <summary>Moves the fake clock on by <paramref name="ms"/> in small steps, letting the line's waiters run between them.</summary>
    private static async Task Advance(FakeTimeProvider time, double ms)
    {
        for (double done = 0; done < ms - 1e-9; done += 0.5)
        {
            time.Advance(TimeSpan.FromMilliseconds(Math.Min(0.5, ms - done)));
            await Task.Delay(2);
        }
        // The clock stands still now: whatever is due has all the time it needs to be handed on.
        await Task.Delay(150);
    }

    [Fact]
    public async Task Written_bytes_go_at_once_to_the_transmit_queue_and_reach_the_far_end_at_the_lines_rate()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var paced = new PacedTransport(board, 300_000, time);
        var far = new Counter(host);

        // 3,000 bytes at 30,000 bytes a second: 100 ms; 1,500 more behind them: 150 ms in all. The writer does not wait.
        Assert.True(paced.WriteAsync(new byte[3_000], default).IsCompleted);
        Assert.True(paced.WriteAsync(new byte[1_500], default).IsCompleted);
        // 64-byte pieces, each 2.13 ms: 46 of them (2,944 bytes) by 99 ms, the 3,000th byte at 100 ms.
        await Advance(time, 99);
        Assert.Equal(2_944, far.Bytes);
        await Advance(time, 1);
        Assert.Equal(3_000, far.Bytes);
        await Advance(time, 50);
        Assert.Equal(4_500, far.Bytes);
    }

    [Fact]
    public async Task Received_bytes_are_handed_on_no_sooner_than_they_would_have_arrived()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var paced = new PacedTransport(board, 300_000, time);
        var near = new Counter(paced);
        await host.WriteAsync(new byte[300], default);
        await Task.Delay(50);

        // All 300 bytes came over the pipe at once; the line delivers 30 a millisecond, handed on in pieces of 64 (2.13 ms).
        Assert.Equal(0, near.Bytes);
        await Advance(time, 9.5);
        Assert.Equal(256, near.Bytes);
        await Advance(time, 0.5);
        Assert.Equal(300, near.Bytes);
    }

    [Fact]
    public async Task The_in_memory_link_carries_both_directions_at_once()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair(300_000, time);
        var atBoard = new Counter(board);
        var atHost = new Counter(host);

        // Full duplex: 3,000 bytes each way at once take 100 ms, not 200.
        await host.WriteAsync(new byte[3_000], default);
        await board.WriteAsync(new byte[3_000], default);
        await Advance(time, 99);
        Assert.True(atBoard.Bytes < 3_000 && atHost.Bytes < 3_000, $"{atBoard.Bytes} and {atHost.Bytes} bytes in 99 ms");
        await Advance(time, 1);
        Assert.Equal((3_000, 3_000), (atBoard.Bytes, atHost.Bytes));
        await host.DisposeAsync();
        await board.DisposeAsync();
    }

    [Fact]
    public async Task The_emulators_tcp_endpoint_paced_at_a_baud_rate_takes_at_least_the_line_time()
    {
        // A READ of 4,096 cells answers 16 KB: at 1,000,000 baud, 164 ms at the least however fast the machine.
        await using var emulator = new EmulatorHost(new EmulatedBoard(DevicePreset.Rram, BoardGeometry.Default, 1), baudRate: 1_000_000);
        IPEndPoint endpoint = emulator.ListenTcp(IPAddress.Loopback, 0);
        await using ByteTransport link = await Swim.Transports.TcpTransport.ConnectAsync("127.0.0.1", endpoint.Port, default);
        await using var client = new BoardClient(link, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(10) });
        BoardInfo info = await client.IdentifyAsync();
        var cells = Enumerable.Range(0, Math.Min(4_096, (int)info.MaxBatch)).Select(i => new CellAddress(0, (ushort)(i / info.Columns), (ushort)(i % info.Columns))).ToArray();
        long bytesBefore = client.Statistics.BytesReceived;

        var clock = Stopwatch.StartNew();
        float[] read = await client.ReadAsync(cells, 1);
        clock.Stop();

        long answer = client.Statistics.BytesReceived - bytesBefore;
        Assert.Equal(cells.Length, read.Length);
        Assert.True(clock.Elapsed.TotalSeconds >= answer * 10 / 1e6 * 0.95, $"{answer:N0} bytes came back in {clock.Elapsed.TotalMilliseconds:F0} ms, faster than a 1 Mbaud line carries them");
    }
}
