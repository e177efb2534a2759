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
    [Fact]
    public async Task Written_bytes_leave_no_sooner_than_the_line_carries_them_and_queue_behind_each_other()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var paced = new PacedTransport(board, 300_000, time);

        // 3,000 bytes at 30,000 bytes a second: 100 ms; 1,500 more behind them: 150 ms in all.
        Task first = paced.WriteAsync(new byte[3_000], default).AsTask();
        await Task.Delay(20);
        time.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(20);
        Assert.False(first.IsCompleted, "3,000 bytes crossed a 300,000 baud line in 99 ms");
        time.Advance(TimeSpan.FromMilliseconds(1));
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        Task second = paced.WriteAsync(new byte[1_500], default).AsTask();
        await Task.Delay(20);
        time.Advance(TimeSpan.FromMilliseconds(49));
        await Task.Delay(20);
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4_500, await ReadAll(host, 4_500));
    }

    [Fact]
    public async Task Received_bytes_are_handed_on_no_sooner_than_they_would_have_arrived()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var paced = new PacedTransport(board, 300_000, time);
        await host.WriteAsync(new byte[300], default);

        // The 300 bytes are all in the pipe at once; the line delivers 30 a millisecond.
        int received = 0;
        var buffer = new byte[1_000];
        for (int ms = 1; ms <= 10; ms++)
        {
            Task<int> read = paced.ReadAsync(buffer, default).AsTask();
            await Task.Delay(10);
            Assert.False(read.IsCompleted, $"bytes came in before the line delivered them ({received} by {ms - 1} ms)");
            time.Advance(TimeSpan.FromMilliseconds(1));
            received += await read.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(30 * ms, received);
        }
    }

    [Fact]
    public async Task The_in_memory_link_paces_each_direction_on_its_own()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair(300_000, time);
        await using (host)
        await using (board)
        {
            // Full duplex: 3,000 bytes each way at once take 100 ms, not 200.
            Task out1 = host.WriteAsync(new byte[3_000], default).AsTask();
            Task in1 = board.WriteAsync(new byte[3_000], default).AsTask();
            await Task.Delay(20);
            time.Advance(TimeSpan.FromMilliseconds(99));
            await Task.Delay(20);
            Assert.False(out1.IsCompleted || in1.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(1));
            await Task.WhenAll(out1, in1).WaitAsync(TimeSpan.FromSeconds(10));
        }
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

    private static async Task<int> ReadAll(ByteTransport transport, int expected)
    {
        var buffer = new byte[expected];
        int total = 0;
        while (total < expected)
        {
            int read = await transport.ReadAsync(buffer.AsMemory(total), default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }
}
