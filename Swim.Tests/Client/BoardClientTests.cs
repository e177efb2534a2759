using Microsoft.Extensions.Time.Testing;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Swim.Emulator.Faults;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Client;

public sealed class BoardClientTests
{
    private static (BoardClient Client, CancellationTokenSource Stop, Task Served) Connect(CountingDevice device, BoardClientOptions options,
        FaultProfile? hostFaults = null, FaultProfile? boardFaults = null, int seed = 1, TimeProvider? time = null)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        if (hostFaults is not null)
        {
            host = new FaultInjectingTransport(host, hostFaults, seed);
        }
        if (boardFaults is not null)
        {
            board = new FaultInjectingTransport(board, boardFaults, seed + 1000);
        }
        var stop = new CancellationTokenSource();
        var endpoint = new BoardEndpoint(device);
        Task served = Task.Run(() => endpoint.ServeAsync(board, stop.Token));
        return (new BoardClient(host, options, time), stop, served);
    }

    private static ProgramRequest Program(int i) => new([new ProgramTarget(new CellAddress(0, (ushort)(i / 512), (ushort)(i % 512)), TargetKind.Level, 3)]);

    [Fact]
    public async Task Pipelined_requests_on_a_clean_link_each_execute_once()
    {
        var device = new CountingDevice();
        // A long attempt timeout: a stall of the test machine past the default 500 ms resends a request, as it should,
        // and this test counts resends (CI once saw one, the board's serving task starved while the test ran beside others).
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions { Window = 8, AttemptTimeout = TimeSpan.FromSeconds(30) });
        await using (client)
        {
            BoardInfo info = await client.IdentifyAsync();
            Assert.Equal("rram", info.DeviceModel);
            await Task.WhenAll(Enumerable.Range(0, 300).Select(i => client.SendAsync<ProgramResponse>(Program(i))));

            Assert.Equal(300, device.Executions.Count);
            Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
            Assert.Equal(0, client.Statistics.Retransmissions);
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Requests_made_together_reach_the_board_in_the_order_they_were_made()
    {
        // A window of 4 makes most of 3,000 requests wait for room; whichever waiter wakes first must not overtake
        // (before the client kept the order, this failed three runs in three).
        var device = new CountingDevice();
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions { Window = 4 });
        await using (client)
        {
            await Task.WhenAll(Enumerable.Range(0, 3000).Select(i => client.SendAsync<ProgramResponse>(Program(i))).ToList());

            Assert.Equal(Enumerable.Range(0, 3000).Select(i => Program(i).Targets[0].Cell), device.ProgramOrder);
        }
        await stop.CancelAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Under_drops_corruption_duplicates_delays_and_noise_no_request_executes_twice(int seed)
    {
        var faults = new FaultProfile(Drop: 0.08, Corrupt: 0.08, Duplicate: 0.08, Delay: 0.08, MaxDelay: TimeSpan.FromMilliseconds(60), Garbage: 0.05);
        var device = new CountingDevice();
        // Short attempts so the faults force many retransmissions, and retries without practical end (a minute of them
        // a request at the least), so that no stall of a loaded test machine can make a request give up: every one must
        // complete, and none run twice, whatever the timing (nor may a burst of timeouts open the circuit breaker).
        var options = new BoardClientOptions { Window = 8, AttemptTimeout = TimeSpan.FromMilliseconds(40), MaxRetries = 1_000, BreakerMinimumThroughput = 1_000_000, BackoffBase = TimeSpan.FromMilliseconds(2), MaxBackoff = TimeSpan.FromMilliseconds(20) };
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, options, faults, faults, seed);
        const int Requests = 250;
        var outcomes = new Task<ProgramResponse>[Requests];
        await using (client)
        {
            for (int i = 0; i < Requests; i++)
            {
                outcomes[i] = client.SendAsync<ProgramResponse>(Program(i));
            }
            try
            {
                await Task.WhenAll(outcomes);
            }
            catch (Exception)
            {
                // Inspected per request below.
            }
            LinkStatistics stats = client.Statistics;
            Assert.True(stats.Retransmissions > 0, "the faults should have forced retransmissions");
        }
        await stop.CancelAsync();

        for (int i = 0; i < Requests; i++)
        {
            CellAddress cell = Program(i).Targets[0].Cell;
            int executed = device.Executions.GetValueOrDefault(cell);
            Assert.True(outcomes[i].IsCompletedSuccessfully, $"request {i}: {outcomes[i].Exception?.InnerException?.Message}");
            Assert.True(executed == 1, $"request {i} executed {executed} times");
        }
    }

    [Fact]
    public async Task Busy_answers_are_retried_with_the_same_sequence_and_execute_once()
    {
        var device = new CountingDevice { BusyOnFirstAttempt = true };
        // Exactly one resend a request, for its BUSY; a long attempt timeout keeps a stall of the test machine from adding more.
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions { BackoffBase = TimeSpan.FromMilliseconds(1), AttemptTimeout = TimeSpan.FromSeconds(30) });
        await using (client)
        {
            await client.IdentifyAsync();
            long connecting = client.Statistics.Retransmissions;
            await Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.SendAsync<ProgramResponse>(Program(i))));
            Assert.Equal(20, client.Statistics.Retransmissions - connecting);
        }
        await stop.CancelAsync();
        Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task A_board_busy_through_every_retry_surfaces_as_a_board_exception_that_says_so()
    {
        // Version 1, which sends no IDENTIFY before the first request: the board's BUSY meets the PROGRAM itself.
        var device = new CountingDevice { AlwaysBusy = true };
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions { BackoffBase = TimeSpan.FromMilliseconds(1), MaxRetries = 3, Protocol = ProtocolConstants.Version1 });
        await using (client)
        {
            BoardException ex = await Assert.ThrowsAsync<BoardException>(() => client.SendAsync<ProgramResponse>(Program(0)));
            Assert.Equal(StatusCode.Busy, ex.Status);
            Assert.Equal(Opcode.Program, ex.Opcode);
            Assert.Contains("BUSY to all 4 attempts", ex.Message);
        }
        await stop.CancelAsync();
        Assert.Empty(device.Executions);
    }

    /// <summary>
    /// Commands of 10 iterations of 200 ms nominal each, with a 300 ms attempt timeout: an attempt waits the timeout
    /// plus the nominal device time of every request outstanding (2.3 s for the first of two pipelined commands, 4.3 s
    /// for the second). On a fake clock the board takes exactly <paramref name="verifyMs"/> a command, one after the
    /// other: at 800 ms both answers come well in time and nothing is resent; at 4 s the first is past its 2.3 s and
    /// goes again, and each command still executes once (the resend is answered from the board's cache).
    /// </summary>
    [Theory]
    [InlineData(800, false)]
    [InlineData(4_000, true)]
    public async Task A_command_is_waited_for_as_long_as_the_nominal_device_time_of_everything_outstanding(int verifyMs, bool resent)
    {
        var time = new FakeTimeProvider();
        var device = new CountingDevice { VerifyDuration = TimeSpan.FromMilliseconds(verifyMs), Clock = time };
        device.Info = device.Info with { VerifyIterationNs = 200_000_000 };
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions { AttemptTimeout = TimeSpan.FromMilliseconds(300) }, time: time);
        await using (client)
        {
            await client.IdentifyAsync();
            VerifyTarget Target(ushort column) => new(new CellAddress(0, 0, column), 50f, 1f, 10);

            long sentBefore = client.Statistics.FramesSent;
            Task both = Task.WhenAll(client.ProgramVerifyAsync([Target(1)]), client.ProgramVerifyAsync([Target(2)]));
            // Both deadlines count from when each frame went out: the clock stays put until both have.
            for (int wait = 0; wait < 3000 && client.Statistics.FramesSent < sentBefore + 2; wait++)
            {
                await Task.Delay(10);
            }
            Assert.Equal(sentBefore + 2, client.Statistics.FramesSent);
            // Then it moves in 20 ms steps, each a real millisecond or more for the board and client to act on it: every
            // deadline and every answer is hundreds of steps from the nearest other one.
            for (int step = 0; step < 2000 && !both.IsCompleted; step++)
            {
                time.Advance(TimeSpan.FromMilliseconds(20));
                await Task.Delay(1);
            }
            await both.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(resent, client.Statistics.Retransmissions > 0);
        }
        await stop.CancelAsync();
        Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
    }

    /// <summary>
    /// A command's nominal device time (10 iterations of 1 s) stretches timeouts only while it is outstanding: once it
    /// is answered, a STATUS whose frame is lost goes again after the bare 300 ms attempt timeout, not 10 s later.
    /// </summary>
    [Fact]
    public async Task An_answered_commands_device_time_no_longer_stretches_later_timeouts()
    {
        var time = new FakeTimeProvider();
        var device = new CountingDevice { Clock = time };
        device.Info = device.Info with { VerifyIterationNs = 1_000_000_000 };
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        // Frames out: IDENTIFY, OPEN, PROGRAM_VERIFY, then the STATUS, lost.
        await using (var client = new BoardClient(new FrameDropper(host, 4), new BoardClientOptions { AttemptTimeout = TimeSpan.FromMilliseconds(300) }, time))
        {
            await client.IdentifyAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await client.ProgramVerifyAsync([new VerifyTarget(new CellAddress(0, 0, 1), 50f, 1f, 10)]).WaitAsync(TimeSpan.FromSeconds(20));

            long sent = client.Statistics.FramesSent;
            Task status = client.StatusAsync();
            // Its deadline counts from when its frame went out: the clock stays put until it has.
            for (int wait = 0; wait < 3_000 && client.Statistics.FramesSent == sent; wait++)
            {
                await Task.Delay(10);
            }
            var elapsed = TimeSpan.Zero;
            for (; elapsed < TimeSpan.FromSeconds(5) && !status.IsCompleted; elapsed += TimeSpan.FromMilliseconds(20))
            {
                time.Advance(TimeSpan.FromMilliseconds(20));
                await Task.Delay(2);
            }

            Assert.True(status.IsCompleted, "the lost STATUS was not sent again within 5 s of the board's clock");
            Assert.InRange(elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2));
            Assert.Equal(1, client.Statistics.Retransmissions);
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task An_identify_that_describes_an_unusable_board_is_refused_naming_each_problem()
    {
        var device = new CountingDevice();
        device.Info = device.Info with { ConductanceMinMicrosiemens = 40, ConductanceMaxMicrosiemens = 1, MaxBatch = 0, LevelsPerCell = 1 };
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions());
        await using (client)
        {
            IOException ex = await Assert.ThrowsAsync<IOException>(() => client.IdentifyAsync());
            Assert.Contains("g_min 40 to g_max 1 uS", ex.Message);
            Assert.Contains("max_batch 0", ex.Message);
            Assert.Contains("1 levels per cell", ex.Message);
            Assert.Null(client.Board);
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Board_status_codes_surface_as_board_exceptions_carrying_the_code()
    {
        var device = new CountingDevice();
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions());
        await using (client)
        {
            BoardException ex = await Assert.ThrowsAsync<BoardException>(() => client.ReadAsync([new CellAddress(0, 600, 0)]));
            Assert.Equal(StatusCode.OutOfRange, ex.Status);
            Assert.Equal(Opcode.Read, ex.Opcode);
            Assert.Contains("OutOfRange", ex.Message);
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Long_reads_are_split_into_the_boards_batch_size_and_reassembled_in_order()
    {
        var device = new CountingDevice(maxBatch: 10);
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions());
        await using (client)
        {
            await client.IdentifyAsync();
            CellAddress[] cells = Enumerable.Range(0, 95).Select(i => new CellAddress(0, (ushort)(i * 3 % 500), 0)).ToArray();
            float[] values = await client.ReadAsync(cells);
            Assert.Equal(cells.Select(c => (float)c.Row), values);
            Assert.Equal(client.ConnectRequests + 10, client.Statistics.Requests);
        }
        await stop.CancelAsync();
    }

    /// <summary>
    /// Items a command, worked by hand for a board of max_batch 100, max_payload 1,100 and max_response 200: the batch
    /// limit, or what fits the payload (2 bytes of count, then the items), or what the answer can carry, whichever is
    /// least, and never below one. A READ of 100 listed cells then goes as 49, 49 and 2; answers of 3 bytes an item fit
    /// (200 - 2) / 3 = 66 (one more, were the count's 2 bytes added instead of taken).
    /// </summary>
    [Fact]
    public async Task Commands_are_cut_at_the_least_of_the_boards_batch_payload_and_answer_limits()
    {
        var device = new CountingDevice(maxBatch: 100);
        device.Info = device.Info with { MaxPayload = 1_100, MaxResponse = 200 };
        (BoardClient client, CancellationTokenSource stop, _) = Connect(device, new BoardClientOptions());
        await using (client)
        {
            await client.IdentifyAsync();

            Assert.Equal(100, client.ItemsPerCommand(7));
            Assert.Equal(12, client.ItemsPerCommand(7, answerItemLength: 16));
            Assert.Equal(66, client.ItemsPerCommand(7, answerItemLength: 3));
            Assert.Equal(99, client.ItemsPerCommand(11, answerItemLength: 1));
            Assert.Equal(1, client.ItemsPerCommand(600));
            Assert.Equal(1, client.ItemsPerCommand(2_000));

            long before = client.Statistics.Requests;
            CellAddress[] cells = [.. Enumerable.Range(0, 100).Select(i => new CellAddress(0, (ushort)(i * 5 % 400), (ushort)(i % 3)))];
            Assert.Equal(cells.Select(c => (float)c.Row), await client.ReadAsync(cells));
            Assert.Equal(3, client.Statistics.Requests - before);

            // A list of exactly two commands' worth goes as two, not two and an empty one.
            before = client.Statistics.Requests;
            await client.ProgramAsync([.. Enumerable.Range(0, 2 * 99).Select(i => new ProgramTarget(new CellAddress(1, (ushort)i, 0), TargetKind.Level, 1))]);
            Assert.Equal(2, client.Statistics.Requests - before);
        }
        await stop.CancelAsync();
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    public async Task A_lost_frame_goes_again_as_soon_as_a_later_request_is_answered_not_at_its_timeout(bool responseLost, int lost)
    {
        // Frame 1 is IDENTIFY; frame 4 (each way) is the third PROGRAM, frame 5 the fourth. The clock never moves, so only
        // the board's answers to later requests can show the loss: before, the request waited for its 30 s timeout.
        var time = new FakeTimeProvider();
        var device = new CountingDevice();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        int[] dropped = [.. Enumerable.Range(4, lost)];
        host = responseLost ? host : new FrameDropper(host, dropped);
        board = responseLost ? new FrameDropper(board, dropped) : board;
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        await using (var client = new BoardClient(host, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), Window = 8 }, time))
        {
            await client.IdentifyAsync();
            Task all = Task.WhenAll(Enumerable.Range(0, 20).Select(i => client.SendAsync<ProgramResponse>(Program(i))));

            await all.WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(20, device.Executions.Count);
            Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
            Assert.Equal(lost, client.Statistics.Retransmissions);
            Assert.Equal(responseLost ? lost : 0, client.Statistics.Replays);
            Assert.Equal(0, client.Statistics.Timeouts);
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task A_busy_answer_to_a_later_request_is_no_sign_that_an_earlier_one_was_lost()
    {
        // A board may refuse a request BUSY while an earlier one still runs, so that refusal overtakes the earlier
        // request's answer without anything being lost: the earlier request must not go out again.
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var client = new BoardClient(host, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30), InitialSequence = 100, Protocol = ProtocolConstants.Version1 }, new FakeTimeProvider());
        Task<StatusResponse> first = client.SendAsync<StatusResponse>(new StatusRequest());
        Task<StatusResponse> second = client.SendAsync<StatusResponse>(new StatusRequest());
        var decoder = new FrameDecoder();
        var received = new List<uint>();
        var buffer = new byte[1024];
        async Task ReadUntilAsync(int frames)
        {
            while (received.Count < frames)
            {
                int read = await board.ReadAsync(buffer, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                ReadOnlySpan<byte> input = buffer.AsSpan(0, read);
                while (decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    Assert.Equal(FrameError.None, error);
                    received.Add(frame.Sequence);
                }
            }
        }
        await ReadUntilAsync(2);

        await board.WriteAsync(FrameEncoder.Encode(FrameFlags.Response, 101, (byte)Opcode.Status, (byte)StatusCode.Busy, []), CancellationToken.None);
        var status = new StatusResponse(new BoardStatus(0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0));
        await board.WriteAsync(FrameEncoder.Encode(FrameFlags.Response, 100, (byte)Opcode.Status, 0, status.ToPayload()), CancellationToken.None);
        await first.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([100u, 101u], received);
        Assert.Equal(0, client.Statistics.Retransmissions);
        Assert.False(second.IsCompleted);
        await board.DisposeAsync();
    }

    [Fact]
    public async Task A_lost_frame_with_nothing_sent_after_it_waits_for_its_timeout()
    {
        var time = new FakeTimeProvider();
        var device = new CountingDevice();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        // The fourth frame out is lost: after IDENTIFY, OPEN and the first PROGRAM, the last request.
        await using (var client = new BoardClient(new FrameDropper(host, 4), new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(30) }, time))
        {
            await client.IdentifyAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await client.SendAsync<ProgramResponse>(Program(0)).WaitAsync(TimeSpan.FromSeconds(20));
            Task last = client.SendAsync<ProgramResponse>(Program(1));

            await Task.Delay(300);
            Assert.False(last.IsCompleted);
            Assert.Equal(0, client.Statistics.Retransmissions);
            for (int step = 0; step < 100 && !last.IsCompleted; step++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(5);
            }

            await last.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(1, client.Statistics.Retransmissions);
            Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
        }
        await stop.CancelAsync();
    }

    [Fact]
    public async Task A_silent_board_times_out_after_every_retry_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var options = new BoardClientOptions { MaxRetries = 3, AttemptTimeout = TimeSpan.FromMilliseconds(100), BackoffBase = TimeSpan.FromMilliseconds(10), BreakerMinimumThroughput = 100, Protocol = ProtocolConstants.Version1 };
        await using var client = new BoardClient(host, options, time);

        Task<StatusResponse> pending = client.SendAsync<StatusResponse>(new StatusRequest());
        for (int step = 0; step < 200 && !pending.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(1);
        }

        BoardTimeoutException timeout = await Assert.ThrowsAsync<BoardTimeoutException>(() => pending);
        Assert.Contains("did not answer Status", timeout.Message);
        Assert.Contains("in 4 attempts of 100 ms each", timeout.Message);
        Assert.Equal(4, client.Statistics.FramesSent);
        Assert.Equal(1, client.Statistics.Timeouts);
        await board.DisposeAsync();
    }

    [Fact]
    public async Task A_dead_link_opens_the_circuit_so_later_requests_fail_fast()
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var options = new BoardClientOptions { MaxRetries = 1, AttemptTimeout = TimeSpan.FromMilliseconds(10), BackoffBase = TimeSpan.FromMilliseconds(1), BreakerMinimumThroughput = 4, BreakDuration = TimeSpan.FromSeconds(30) };
        await using var client = new BoardClient(host, options);

        for (int i = 0; i < 4; i++)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => client.SendAsync<StatusResponse>(new StatusRequest()));
        }
        IOException open = await Assert.ThrowsAsync<IOException>(() => client.SendAsync<StatusResponse>(new StatusRequest()));
        Assert.IsType<BrokenCircuitException>(open.InnerException);
        Assert.Contains("failed too often", open.Message);
        // The open circuit refused it before any attempt: the board cannot have run it.
        Assert.Contains("(sequence", open.Message);
        Assert.Contains("was not sent", open.Message);
        await board.DisposeAsync();
    }

    [Fact]
    public async Task A_closed_link_fails_pending_and_later_requests_with_io_errors()
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        await using var client = new BoardClient(host, new BoardClientOptions { AttemptTimeout = TimeSpan.FromSeconds(5) });
        Task<StatusResponse> pending = client.SendAsync<StatusResponse>(new StatusRequest());

        await board.DisposeAsync();

        IOException ex = await Assert.ThrowsAsync<IOException>(() => pending);
        Assert.Contains("closed", ex.Message);
        await Assert.ThrowsAsync<IOException>(() => client.SendAsync<StatusResponse>(new StatusRequest()));
    }

    [Fact]
    public void The_endpoint_replays_cached_responses_and_refuses_stale_sequences()
    {
        // Version 1's series rules: one series per board.
        var device = new CountingDevice(cacheDepth: 32);
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        var decoder = new FrameDecoder();
        var replies = new List<byte[]>();
        byte[] Send(uint sequence, BoardRequest request)
        {
            replies.Clear();
            endpoint.Receive(decoder, FrameEncoder.Encode(FrameFlags.None, sequence, (byte)request.Opcode, 0, request.ToPayload()), replies);
            return Assert.Single(replies);
        }
        static Frame Decode(byte[] wire)
        {
            var d = new FrameDecoder();
            ReadOnlySpan<byte> input = wire;
            Assert.True(d.TryDecode(ref input, out Frame f, out FrameError e, out _));
            Assert.Equal(FrameError.None, e);
            return new Frame(f.Version, f.Flags, f.Sequence, f.Opcode, f.Status, f.Payload.ToArray());
        }

        Frame first = Decode(Send(1000, Program(1)));
        Frame again = Decode(Send(1000, Program(1)));
        Assert.Equal(1, device.Executions[Program(1).Targets[0].Cell]);
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, again.Flags);
        Assert.Equal(first.Payload.ToArray(), again.Payload.ToArray());

        Decode(Send(1040, Program(2)));
        Frame stale = Decode(Send(1000, Program(1)));
        Assert.Equal((byte)StatusCode.StaleSequence, stale.Status);
        Frame late = Decode(Send(1020, Program(3)));
        Assert.Equal((byte)StatusCode.Ok, late.Status);
        Assert.Equal(1, device.Executions[Program(1).Targets[0].Cell]);
    }

    /// <summary>
    /// Found by the SIGKILL test under load: a resumed host whose random start fell below its predecessor's
    /// numbers had every response expire from the cache at once, so a retransmission after a timeout executed
    /// again (one cell pulsed once more than in an uninterrupted run).
    /// </summary>
    [Fact]
    public void A_new_host_below_its_predecessors_numbers_gets_its_own_retransmissions_replayed()
    {
        // Version 1's series rules: one series per board.
        var device = new CountingDevice(cacheDepth: 32);
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        var decoder = new FrameDecoder();
        var replies = new List<byte[]>();
        void Send(uint sequence, BoardRequest request)
        {
            replies.Clear();
            endpoint.Receive(decoder, FrameEncoder.Encode(FrameFlags.None, sequence, (byte)request.Opcode, 0, request.ToPayload()), replies);
            Assert.Single(replies);
        }

        // The old host's series around 3,000,000,000; the new host starts 1e9 below it (behind, modulo 2^32).
        for (uint s = 3_000_000_000; s < 3_000_000_040; s++)
        {
            Send(s, new StatusRequest());
        }
        Send(2_000_000_000, Program(7));
        Send(2_000_000_001, Program(8));
        Send(2_000_000_000, Program(7));

        Assert.Equal(1, device.Executions[Program(7).Targets[0].Cell]);
        Assert.Equal(1, device.Executions[Program(8).Targets[0].Cell]);
    }

    /// <summary>
    /// A host that died after sending 10 of 12 numbered requests; its successor continues the series after them and
    /// replays all 12 under their own numbers: the board answers the 10 it ran from its cache and runs the other two,
    /// so every cell is programmed once. The successor's own numbers then go on where they were, and a replay that
    /// would reach them, or lie ahead of them, is refused before anything is sent.
    /// </summary>
    [Fact]
    public async Task A_replay_under_a_dead_hosts_numbers_runs_only_what_the_board_never_received()
    {
        // Version 1's one series per board; version 2 reopens the dead host's session (SessionResumeTests).
        var device = new CountingDevice(cacheDepth: 32);
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        using var stop = new CancellationTokenSource();
        const uint First = 4_000_000_000;
        (ByteTransport deadHost, ByteTransport deadBoard) = InMemoryLink.CreatePair();
        Task served = endpoint.ServeAsync(deadBoard, stop.Token);
        await using (var dead = new BoardClient(deadHost, new BoardClientOptions { InitialSequence = First, Protocol = ProtocolConstants.Version1 }))
        {
            await Task.WhenAll(Enumerable.Range(0, 10).Select(i => dead.SendAsync<ProgramResponse>(Program(i))));
        }
        await served.WaitAsync(TimeSpan.FromSeconds(10));

        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        _ = endpoint.ServeAsync(board, stop.Token);
        await using var successor = new BoardClient(host, new BoardClientOptions { InitialSequence = First + 12, Protocol = ProtocolConstants.Version1 });
        await successor.IdentifyAsync();
        Assert.Throws<InvalidOperationException>(() => successor.ReplayFrom(First + 14));
        using (successor.ReplayFrom(First))
        {
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => successor.SendAsync<ProgramResponse>(Program(i))));
        }
        Assert.Equal(First + 13, successor.NextSequence);
        Assert.Equal(12, device.Executions.Count);
        Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
        Assert.Equal(10, successor.Statistics.Replays);

        using (successor.ReplayFrom(First))
        {
            // A thirteenth request from First would take First + 12, the number of the successor's IDENTIFY.
            await Task.WhenAll(Enumerable.Range(0, 12).Select(i => successor.SendAsync<ProgramResponse>(Program(i))));
            await Assert.ThrowsAsync<InvalidOperationException>(() => successor.SendAsync<ProgramResponse>(Program(12)));
        }
        Assert.All(device.Executions.Values, n => Assert.Equal(1, n));
        Assert.Equal(First + 13, successor.NextSequence);
        await stop.CancelAsync();
    }
}
