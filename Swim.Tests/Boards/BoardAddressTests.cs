using Swim.Controller;
using Swim.Controller.Boards;
using Swim.Tests.Support;

namespace Swim.Tests.Boards;

/// <summary>Board addresses: every accepted form into its record, and every malformed one refused with the accepted forms.</summary>
public sealed class BoardAddressTests
{
    [Theory]
    [InlineData("emulator", "emulator:rram")]
    [InlineData("emulator:fefet", "emulator:fefet")]
    [InlineData("tcp:127.0.0.1:5025", "tcp:127.0.0.1:5025")]
    [InlineData("tcp:benchbox.lab:5025", "tcp:benchbox.lab:5025")]
    [InlineData("tcp:[::1]:1", "tcp:[::1]:1")]
    [InlineData("tcp:localhost:65535", "tcp:localhost:65535")]
    [InlineData("serial:/dev/ttyACM0", "serial:/dev/ttyACM0@3000000")]
    [InlineData("serial:/dev/ttyUSB1@115200", "serial:/dev/ttyUSB1@115200")]
    [InlineData("serial:COM3@921600", "serial:COM3@921600")]
    [InlineData("spi:0.0@25", "spi:0.0@25")]
    [InlineData("emulator@115200", "emulator:rram@115200")]
    [InlineData("emulator:pcm@3000000", "emulator:pcm@3000000")]
    [InlineData("tcp:127.0.0.1:5025@3000000", "tcp:127.0.0.1:5025@3000000")]
    [InlineData("tcp:[::1]:5025@921600", "tcp:[::1]:5025@921600")]
    public void Accepted_forms_parse_into_their_record_and_print_back(string text, string canonical)
    {
        BoardAddress address = BoardAddress.Parse(text);
        Assert.Equal(canonical, address.ToString());
        Assert.Equal(address, BoardAddress.Parse(canonical));
    }

    [Fact]
    public void The_parts_land_in_the_records_fields()
    {
        Assert.Equal(new TcpAddress("benchbox.lab", 5025), BoardAddress.Parse("tcp:benchbox.lab:5025"));
        Assert.Equal(new TcpAddress("::1", 5025), BoardAddress.Parse("tcp:[::1]:5025"));
        Assert.Equal(new SerialAddress("/dev/ttyUSB1", 115200), BoardAddress.Parse("serial:/dev/ttyUSB1@115200"));
        Assert.Equal(new SpiAddress(1, 2, 17), BoardAddress.Parse("spi:1.2@17"));
        Assert.Equal(new EmulatorAddress("pcm"), BoardAddress.Parse("emulator:pcm"));
        Assert.Equal(new EmulatorAddress("pcm", 3_000_000), BoardAddress.Parse("emulator:pcm@3000000"));
        Assert.Equal(new TcpAddress("::1", 5025, 921_600), BoardAddress.Parse("tcp:[::1]:5025@921600"));
    }

    [Theory]
    [InlineData("serial:/dev/ttyACM0", 3_000_000, false)]
    [InlineData("serial:/dev/ttyUSB0@115200", 115_200, false)]
    [InlineData("emulator:pcm@1000000", 1_000_000, false)]
    [InlineData("tcp:benchbox.lab:5025@921600", 921_600, false)]
    [InlineData("emulator", 3_000_000, true)]
    [InlineData("tcp:benchbox.lab:5025", 3_000_000, true)]
    [InlineData("spi:0.0@25", 3_000_000, true)]
    public void The_link_time_is_counted_at_the_addresses_line_rate_or_the_protocols_default_flagged_as_assumed(string text, int baud, bool assumed)
    {
        LineRate line = LineRate.Of(BoardAddress.Parse(text));

        Assert.Equal(new LineRate(baud, assumed), line);
        // Full duplex: 300,000 bytes out and 30,000 in keep a line busy for the 300,000 (10 bits each).
        var link = new Swim.Protocol.Client.LinkStatistics(0, 10, 300_000, 10, 30_000, 0, 0, 0, 0, 0);
        Assert.Equal(3_000_000.0 / baud, line.Seconds(link), 9);
    }

    [Theory]
    [InlineData("", "is not a kind of board")]
    [InlineData("usb:/dev/x", "is not a kind of board")]
    [InlineData("TCP:1.2.3.4:5", "is not a kind of board")]
    [InlineData("emulator:flash", "is not a device preset")]
    [InlineData("tcp:", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:0", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:99999", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:-1", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:50x", "tcp:HOST:PORT")]
    [InlineData("tcp::5025", "tcp:HOST:PORT")]
    [InlineData("tcp:bench box:5025", "tcp:HOST:PORT")]
    [InlineData("serial:", "name the device")]
    [InlineData("serial:@9600", "name the device")]
    [InlineData("serial:/dev/ttyACM0@fast", "is not a baud rate")]
    [InlineData("serial:/dev/ttyACM0@0", "is not a baud rate")]
    [InlineData("emulator:rram@0", "is not a baud rate")]
    [InlineData("emulator@fast", "is not a baud rate")]
    [InlineData("tcp:127.0.0.1:5025@", "is not a baud rate")]
    [InlineData("tcp:127.0.0.1:5025@-9600", "is not a baud rate")]
    [InlineData("spi:zero", "spi:BUS.CS@READY_GPIO")]
    [InlineData("spi:0.0", "spi:BUS.CS@READY_GPIO")]
    [InlineData("spi:0@25", "spi:BUS.CS@READY_GPIO")]
    [InlineData("spi:0.-1@25", "spi:BUS.CS@READY_GPIO")]
    public void Malformed_addresses_are_refused_with_the_accepted_forms(string text, string problem)
    {
        var error = Assert.Throws<SwimInputException>(() => BoardAddress.Parse(text));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(BoardAddress.Forms, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tcp:127.0.0.1", "tcp:HOST:PORT")]
    [InlineData("tcp:127.0.0.1:99999", "tcp:HOST:PORT")]
    [InlineData("tcp:no-such-host.invalid:5025", "does not resolve")]
    public void The_command_line_turns_a_bad_board_into_exit_2_without_a_stack_trace(string board, string problem)
    {
        CliRun run = CliRun.Of("info", BundledAssets.Require(BundledAssets.LeNetModel), "--board", board);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(problem, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_name_resolves_and_reaches_the_board()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        Task<System.Net.Sockets.TcpClient> accepted = listener.AcceptTcpClientAsync();

        await using BoardConnection connection = await BoardConnection.OpenAsync(BoardAddress.Parse($"tcp:localhost:{port}"), EmulatorSettings.Default)
            .WaitAsync(TimeSpan.FromSeconds(30));
        using System.Net.Sockets.TcpClient _ = await accepted.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains($":{port}", connection.Transport.Description, StringComparison.Ordinal);
        await connection.Transport.DisposeAsync();
    }

    [Fact]
    public void Emulator_settings_are_refused_for_another_board_before_it_is_opened()
    {
        var settings = EmulatorSettings.Default with { StuckRate = 0 };
        var error = Assert.Throws<SwimInputException>(() => settings.CheckFor(BoardAddress.Parse("tcp:127.0.0.1:9")));
        Assert.Contains("in-process emulator", error.Message, StringComparison.Ordinal);
        settings.CheckFor(BoardAddress.Parse("emulator:pcm"));
    }
}
