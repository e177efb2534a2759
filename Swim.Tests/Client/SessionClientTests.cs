using Microsoft.Extensions.Time.Testing;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Client;

/// <summary>The client's side of version 2: negotiating the version, opening, closing and reopening sessions, the write lease.</summary>
public sealed class SessionClientTests : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private static ProgramRequest Program(int i) => new([new ProgramTarget(new CellAddress(0, (ushort)(i / 512), (ushort)(i % 512)), TargetKind.Level, 3)]);

    private ByteTransport Link(BoardEndpoint endpoint, out ByteTransport boardSide)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        _ = Task.Run(() => endpoint.ServeAsync(board, _stop.Token));
        boardSide = board;
        return host;
    }

    private ByteTransport Link(BoardEndpoint endpoint) => Link(endpoint, out _);

    [Fact]
    public async Task A_client_opens_a_session_with_the_lease_and_a_second_writer_is_refused_until_the_first_closes()
    {
        var device = new CountingDevice();
        var endpoint = new BoardEndpoint(device);
        await using (var first = new BoardClient(Link(endpoint)))
        {
            await first.SendAsync<ProgramResponse>(Program(1));
            Assert.Equal(ProtocolConstants.Version2, first.ProtocolVersion);
            Assert.NotNull(first.Session);
            Assert.Equal(2, first.ConnectRequests);

            await using var second = new BoardClient(Link(endpoint), new BoardClientOptions { LeaseWait = TimeSpan.Zero });
            BoardException refused = await Assert.ThrowsAsync<BoardException>(() => second.SendAsync<ProgramResponse>(Program(2)));
            Assert.Equal(StatusCode.LeaseHeld, refused.Status);
            Assert.Contains("another host holds the board's write lease", refused.Message);

            await using var monitor = new BoardClient(Link(endpoint), new BoardClientOptions { ReadOnly = true });
            await monitor.StatusAsync();
            BoardException notLeased = await Assert.ThrowsAsync<BoardException>(() => monitor.SendAsync<ProgramResponse>(Program(3)));
            Assert.Equal(StatusCode.NotLeased, notLeased.Status);
            await first.SendAsync<ProgramResponse>(Program(4));
        }
        // The first closed its session on the way out: the lease is free at once.
        await using var next = new BoardClient(Link(endpoint), new BoardClientOptions { LeaseWait = TimeSpan.Zero });
        await next.SendAsync<ProgramResponse>(Program(5));
        Assert.Equal([1, 1, 1], new[] { 1, 4, 5 }.Select(i => device.Executions[Program(i).Targets[0].Cell]));
        Assert.False(device.Executions.ContainsKey(Program(2).Targets[0].Cell) || device.Executions.ContainsKey(Program(3).Targets[0].Cell));
    }

    [Fact]
    public async Task A_writer_waits_out_the_lease_of_a_host_that_fell_silent_and_then_takes_it()
    {
        var device = new CountingDevice();
        device.Info = device.Info with { LeaseMs = 300 };
        var endpoint = new BoardEndpoint(device);
        var silent = new BoardClient(Link(endpoint), new BoardClientOptions { CloseOnDispose = false });
        await silent.SendAsync<ProgramResponse>(Program(1));
        await silent.DisposeAsync();

        await using var next = new BoardClient(Link(endpoint));
        await next.SendAsync<ProgramResponse>(Program(2)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, device.Executions[Program(2).Targets[0].Cell]);
    }

    /// <summary>
    /// By default a writer waits out the board's lease and a second more (2 s + 1 s here, on a fake clock both sides
    /// share): a host that fell silent 2 s ago has lost the lease by then. A shorter wait the caller sets ends in
    /// LEASE_HELD while the lease still stands.
    /// </summary>
    [Theory]
    [InlineData(null, true)]
    [InlineData(1_000, false)]
    public async Task A_writer_waits_for_a_lapsed_lease_as_long_as_the_lease_and_a_second_unless_told_otherwise(int? waitMs, bool takesIt)
    {
        var time = new FakeTimeProvider();
        var device = new CountingDevice();
        device.Info = device.Info with { LeaseMs = 2_000 };
        var endpoint = new BoardEndpoint(device, time);
        await using (var silent = new BoardClient(Link(endpoint), new BoardClientOptions { CloseOnDispose = false }))
        {
            await silent.SendAsync<ProgramResponse>(Program(1));
        }
        var options = new BoardClientOptions { AttemptTimeout = TimeSpan.FromMinutes(1), LeaseWait = waitMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null };
        await using var next = new BoardClient(Link(endpoint), options, time);

        Task<ProgramResponse> program = next.SendAsync<ProgramResponse>(Program(2));
        TimeSpan waited = TimeSpan.Zero;
        while (!program.IsCompleted && waited < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(2);
            time.Advance(TimeSpan.FromMilliseconds(20));
            waited += TimeSpan.FromMilliseconds(20);
        }

        if (takesIt)
        {
            await program.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.InRange(waited, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
            Assert.Equal(1, device.Executions[Program(2).Targets[0].Cell]);
        }
        else
        {
            BoardException refused = await Assert.ThrowsAsync<BoardException>(() => program.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(StatusCode.LeaseHeld, refused.Status);
            Assert.InRange(waited, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
            Assert.False(device.Executions.ContainsKey(Program(2).Targets[0].Cell));
        }
    }

    [Fact]
    public async Task A_crashed_hosts_session_is_reopened_from_its_ticket_and_answers_its_requests_from_the_cache()
    {
        var device = new CountingDevice();
        var endpoint = new BoardEndpoint(device);
        const uint First = 1_000;
        ByteTransport deadLink = Link(endpoint, out ByteTransport deadBoardSide);
        var dead = new BoardClient(deadLink, new BoardClientOptions { InitialSequence = First });
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => dead.SendAsync<ProgramResponse>(Program(i))));
        SessionTicket ticket = dead.Session!;
        // The crash: the link goes before the client could close anything.
        await deadBoardSide.DisposeAsync();
        await dead.DisposeAsync();

        await using var successor = new BoardClient(Link(endpoint), new BoardClientOptions { ResumeSession = ticket, InitialSequence = First + 2 + 12 });
        await successor.IdentifyAsync();
        Assert.True(successor.SessionResumed);
        Assert.Equal(ticket, successor.Session);
        using (successor.ReplayFrom(First + 2))
        {
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => successor.SendAsync<ProgramResponse>(Program(i))));
        }
        Assert.Equal(10, successor.Statistics.Replays);
        Assert.Equal(12, device.Executions.Count);
        Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
    }

    /// <summary>
    /// A host that reopens a dead host's session without numbers of its own goes on past every number the dead host may
    /// still have had on its way: the session's newest (First + 11: IDENTIFY and OPEN took First and First + 1) plus
    /// the window of 32, plus one.
    /// </summary>
    [Fact]
    public async Task A_resumed_session_without_numbers_of_its_own_goes_on_past_the_dead_hosts_window()
    {
        var endpoint = new BoardEndpoint(new CountingDevice());
        const uint First = 5_000;
        var dead = new BoardClient(Link(endpoint, out ByteTransport deadBoardSide), new BoardClientOptions { InitialSequence = First, CloseOnDispose = false });
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => dead.SendAsync<ProgramResponse>(Program(i))));
        SessionTicket ticket = dead.Session!;
        await deadBoardSide.DisposeAsync();
        await dead.DisposeAsync();

        await using var successor = new BoardClient(Link(endpoint), new BoardClientOptions { ResumeSession = ticket });
        await successor.IdentifyAsync();

        Assert.True(successor.SessionResumed);
        Assert.Equal(First + 11 + 32 + 1, successor.NextSequence);
    }

    /// <summary>The window a user asks for holds in a session too, below the board's cache depth (32 here).</summary>
    [Fact]
    public async Task A_window_smaller_than_the_boards_cache_is_kept_in_a_session()
    {
        var device = new CountingDevice { VerifyDuration = TimeSpan.FromMilliseconds(1) };
        var watched = new Swim.Tests.Protocol.SpecRuleTests.WindowWatcher(Link(new BoardEndpoint(device)));
        await using (var client = new BoardClient(watched, new BoardClientOptions { Window = 4, AttemptTimeout = TimeSpan.FromSeconds(30) }))
        {
            await client.IdentifyAsync();
            await Task.WhenAll(Enumerable.Range(0, 60).Select(i => client.SendAsync<ProgramVerifyResponse>(
                new ProgramVerifyRequest([new VerifyTarget(new CellAddress(0, 0, (ushort)i), 50f, 1f, 5)]))));
        }

        Assert.InRange(watched.WidestSpread, 2u, 4u);
        Assert.Equal(60, device.Executions.Count);
    }

    [Fact]
    public async Task A_session_the_board_lost_is_not_resumed_and_the_client_says_so()
    {
        var device = new CountingDevice();
        var endpoint = new BoardEndpoint(device);
        ByteTransport deadLink = Link(endpoint, out ByteTransport deadBoardSide);
        var dead = new BoardClient(deadLink);
        await dead.SendAsync<ProgramResponse>(Program(0));
        SessionTicket ticket = dead.Session!;
        await deadBoardSide.DisposeAsync();
        await dead.DisposeAsync();
        endpoint.PowerCycle();

        await using var successor = new BoardClient(Link(endpoint), new BoardClientOptions { ResumeSession = ticket });
        await successor.IdentifyAsync();
        Assert.False(successor.SessionResumed);
        Assert.NotEqual(ticket, successor.Session);
        await successor.SendAsync<ProgramResponse>(Program(1));
    }

    [Fact]
    public async Task A_version_2_host_speaks_version_1_to_a_version_1_board_unless_told_to_speak_only_2()
    {
        var device = new CountingDevice();
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        await using (var client = new BoardClient(Link(endpoint)))
        {
            BoardInfo info = await client.IdentifyAsync();
            Assert.Equal(ProtocolConstants.Version1, client.ProtocolVersion);
            Assert.Equal(ProtocolConstants.Version1, info.ProtocolVersion);
            Assert.Null(client.Session);
            await client.SendAsync<ProgramResponse>(Program(0));
        }
        await using var strict = new BoardClient(Link(endpoint), new BoardClientOptions { Protocol = ProtocolConstants.Version2 });
        BoardException refused = await Assert.ThrowsAsync<BoardException>(() => strict.IdentifyAsync());
        Assert.Equal(StatusCode.BadVersion, refused.Status);
        Assert.Contains("does not speak this protocol version", refused.Message);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
    }
}
