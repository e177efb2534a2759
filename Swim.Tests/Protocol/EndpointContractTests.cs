using Microsoft.Extensions.Time.Testing;
using Swim.Protocol.Board;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Protocol;

/// <summary>
/// The board endpoint's own contract, beside the spec's rules: which devices it refuses to serve, how it feeds
/// received bytes through, and that an answer leaves as soon as its request ran.
/// </summary>
public sealed class EndpointContractTests
{
    private const byte Status = 0x08;

    public static TheoryData<string, Func<BoardInfo, BoardInfo>> UnservableDevices => new()
    {
        { "cache depth", info => info with { ResponseCacheDepth = 0 } },
        { "protocol version", info => info with { ProtocolVersion = 3 } },
        { "2 sessions", info => info with { MaxSessions = 1 } },
        { "2 sessions", info => info with { MaxSessions = 1, LeaseMs = 0 } },
        { "lease time", info => info with { LeaseMs = 0 } },
    };

    [Theory]
    [MemberData(nameof(UnservableDevices))]
    public void A_device_it_cannot_serve_is_refused_naming_what_is_wrong(string named, Func<BoardInfo, BoardInfo> spoil)
    {
        var device = new CountingDevice();
        device.Info = spoil(device.Info);

        var ex = Assert.Throws<ArgumentException>(() => new BoardEndpoint(device));

        Assert.Contains(named, ex.Message);
        Assert.Equal("device", ex.ParamName);
    }

    [Fact]
    public void A_device_at_the_smallest_it_can_serve_is_served()
    {
        var device = new CountingDevice(cacheDepth: 1);
        device.Info = device.Info with { MaxSessions = 2, LeaseMs = 1 };
        Assert.Equal(1, new BoardEndpoint(device).CacheDepth);

        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1, MaxSessions = 0, LeaseMs = 0 };
        Assert.Equal(ProtocolConstants.Version1, new BoardEndpoint(device).Version);
        Assert.Throws<ArgumentNullException>(() => new BoardEndpoint(null!));
    }

    [Fact]
    public async Task Missing_arguments_are_refused_by_name()
    {
        var endpoint = new BoardEndpoint(new CountingDevice());

        Assert.Equal("transport", (await Assert.ThrowsAsync<ArgumentNullException>(() => endpoint.ServeAsync(null!, CancellationToken.None))).ParamName);
        Assert.Equal("decoder", Assert.Throws<ArgumentNullException>(() => endpoint.Receive(null!, [], [])).ParamName);
        Assert.Equal("replies", Assert.Throws<ArgumentNullException>(() => endpoint.Receive(endpoint.NewDecoder(), [], null!)).ParamName);
    }

    /// <summary>Received bytes holding several frames draw an answer each; asked to stop at the first answer, it consumes exactly that frame.</summary>
    [Fact]
    public void Several_frames_in_one_input_are_each_answered_or_stopped_after_the_first_answer()
    {
        var device = new CountingDevice();
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        byte[] first = SpecRuleTests.Wire(1, Status, []), second = SpecRuleTests.Wire(2, Status, []);
        byte[] both = [.. first, .. second];

        var replies = new List<byte[]>();
        endpoint.Receive(endpoint.NewDecoder(), both, replies);
        Assert.Equal(2, replies.Count);

        replies.Clear();
        int consumed = endpoint.Receive(endpoint.NewDecoder(), both, replies, untilFirstReply: true);
        Assert.Single(replies);
        Assert.Equal(first.Length, consumed);
    }

    /// <summary>
    /// A payload over the board's max_payload that reaches the endpoint through a decoder of a larger limit is still
    /// refused BAD_LENGTH and not run; one of exactly max_payload is taken.
    /// </summary>
    [Fact]
    public void A_payload_over_max_payload_is_refused_whatever_decoder_let_it_through()
    {
        var device = new CountingDevice();
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1, MaxPayload = 2 + 11 * 3 };
        var endpoint = new BoardEndpoint(device);
        static byte[] Targets(int count, int padding) => [.. SpecRuleTests.ProgramRow(20, count), .. new byte[padding]];
        StatusCode Send(uint sequence, byte[] payload)
        {
            var replies = new List<byte[]>();
            endpoint.Receive(new FrameDecoder(), SpecRuleTests.Wire(sequence, (byte)Opcode.Program, payload), replies);
            ReadOnlySpan<byte> input = Assert.Single(replies);
            Assert.True(new FrameDecoder().TryDecode(ref input, out Frame frame, out _, out _));
            return (StatusCode)frame.Status;
        }

        Assert.Equal(StatusCode.Ok, Send(1, Targets(3, 0)));
        Assert.Equal(StatusCode.BadLength, Send(2, Targets(2, 12)));
        Assert.Equal(3, device.Executions.Count);
    }

    /// <summary>
    /// Two PROGRAM_VERIFYs in one write, each taking a second of the board's clock: the first one's answer is on the link
    /// while the second still runs (a host times each request, so an answer must not wait for the next request's work).
    /// </summary>
    [Fact]
    public async Task An_answer_leaves_as_soon_as_its_request_ran_not_after_the_rest_of_the_read()
    {
        var time = new FakeTimeProvider();
        var device = new CountingDevice { VerifyDuration = TimeSpan.FromSeconds(1), Clock = time };
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        using var stop = new CancellationTokenSource();
        Task served = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        static byte[] Verify(uint sequence, ushort column) => SpecRuleTests.Wire(sequence, (byte)Opcode.ProgramVerify,
            new ProgramVerifyRequest([new VerifyTarget(new CellAddress(0, 0, column), 50f, 1f, 5)]).ToPayload());

        await host.WriteAsync((byte[])[.. Verify(1, 1), .. Verify(2, 2)], CancellationToken.None);
        for (int wait = 0; wait < 3_000 && device.Executions.IsEmpty; wait++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(1);
        }
        var buffer = new byte[1024];
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int read = await host.ReadAsync(buffer, patience.Token);
        ReadOnlySpan<byte> input = buffer.AsSpan(0, read);
        Assert.True(new FrameDecoder().TryDecode(ref input, out Frame answer, out FrameError error, out _));

        Assert.Equal(FrameError.None, error);
        Assert.Equal(1u, answer.Sequence);
        // The second is still on the board's clock, which stands still now.
        Assert.False(device.Executions.ContainsKey(new CellAddress(0, 0, 2)));
        time.Advance(TimeSpan.FromSeconds(2));
        while (!device.Executions.ContainsKey(new CellAddress(0, 0, 2)))
        {
            await Task.Delay(1, patience.Token);
        }
        await host.ReadAsync(buffer, patience.Token);
        await stop.CancelAsync();
        await served.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
