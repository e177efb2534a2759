using System.Net;
using System.Net.Sockets;
using Swim.Emulator.Faults;
using Swim.Transports;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Transports;

public sealed class TransportTests
{
    [Fact]
    public async Task A_board_over_tcp_loopback_answers_like_any_other()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var device = new CountingDevice();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Task served = Task.Run(async () =>
        {
            using TcpClient accepted = await listener.AcceptTcpClientAsync(stop.Token);
            await new BoardEndpoint(device).ServeAsync(new StreamTransport(accepted.GetStream(), shouldDispose: false, "accepted"), stop.Token);
        });

        await using (var client = new BoardClient(await TcpTransport.ConnectAsync("127.0.0.1", port)))
        {
            BoardInfo info = await client.IdentifyAsync();
            VerifyOutcome[] outcomes = await client.ProgramVerifyAsync(Enumerable.Range(0, 300)
                .Select(i => new VerifyTarget(new CellAddress(0, (ushort)(i / 100), (ushort)(i % 100)), 40f, 1f, 10)).ToArray());

            Assert.Equal(64, info.MaxBatch);
            Assert.Equal(300, outcomes.Length);
            Assert.All(outcomes, o => Assert.Equal(40f, o.FinalMicrosiemens));
            Assert.Equal(300, device.Executions.Count);
        }
        await served.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_names_the_address_and_the_fix()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        IOException ex = await Assert.ThrowsAsync<IOException>(() => TcpTransport.ConnectAsync("127.0.0.1", port));
        Assert.Contains($"127.0.0.1:{port}", ex.Message);
        Assert.Contains("listening", ex.Message);
    }

    [Fact]
    public void Opening_a_missing_serial_port_names_the_port_and_the_fix()
    {
        IOException ex = Assert.Throws<IOException>(() => SerialTransport.Open("/dev/ttySWIM-does-not-exist", 3_000_000));
        Assert.Contains("/dev/ttySWIM-does-not-exist", ex.Message);
        Assert.Contains("device path", ex.Message);
    }

    [Fact]
    public void Fault_profiles_parse_and_bad_ones_are_refused_by_name()
    {
        FaultProfile profile = FaultProfile.Parse("drop=0.01, corrupt=0.02,duplicate=0.5,delay=0.1,maxdelay=20ms,garbage=0.001");

        Assert.Equal(new FaultProfile(0.01, 0.02, 0.5, 0.1, TimeSpan.FromMilliseconds(20), 0.001), profile);
        Assert.Contains("unknown fault 'lose'", Assert.Throws<FormatException>(() => FaultProfile.Parse("lose=0.1")).Message);
        Assert.Contains("from 0 to 1", Assert.Throws<FormatException>(() => FaultProfile.Parse("drop=2")).Message);
    }
}
