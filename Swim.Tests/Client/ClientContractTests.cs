using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Protocol;
using Swim.Tests.Support;

namespace Swim.Tests.Client;

/// <summary>
/// The client's promises that no exchange with a real board pins down: which options it refuses, the nominal device
/// time it waits for (the spec's section 5 model, worked by hand), and the link figures it reports, counted against a
/// scripted board that writes frames built from the spec's text.
/// </summary>
public sealed class ClientContractTests
{
    /// <summary>Each refused option, and the bound its refusal names so that the user knows the fix.</summary>
    public static TheoryData<string, Action<BoardClientOptions>, string> RefusedOptions => new()
    {
        { nameof(BoardClientOptions.Protocol), o => o.Protocol = 0, "Swim speaks 1 and 2" },
        { nameof(BoardClientOptions.Protocol), o => o.Protocol = 3, "protocol version 3" },
        { nameof(BoardClientOptions.AttemptTimeout), o => o.AttemptTimeout = TimeSpan.FromMilliseconds(9.99), "at least 10 ms" },
        { nameof(BoardClientOptions.MaxRetries), o => o.MaxRetries = -1, "cannot be negative" },
        { nameof(BoardClientOptions.Window), o => o.Window = 0, "at least one request" },
        { nameof(BoardClientOptions.BreakerFailureRatio), o => o.BreakerFailureRatio = 0, "(0, 1]" },
        { nameof(BoardClientOptions.BreakerFailureRatio), o => o.BreakerFailureRatio = 1.0001, "(0, 1]" },
        { nameof(BoardClientOptions.BreakerMinimumThroughput), o => o.BreakerMinimumThroughput = 1, "at least two attempts" },
    };

    [Theory]
    [MemberData(nameof(RefusedOptions))]
    public void Each_option_out_of_range_is_refused_by_name_with_its_bound(string option, Action<BoardClientOptions> spoil, string bound)
    {
        var options = new BoardClientOptions();
        spoil(options);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(option, ex.ParamName);
        Assert.Contains(bound, ex.Message);
    }

    /// <summary>Every command refuses a missing argument by its name before anything is sent.</summary>
    [Fact]
    public async Task Every_command_refuses_a_missing_list_by_name()
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var scripted = new ScriptedBoard(board, _ => []);
        await using var client = new BoardClient(host, new BoardClientOptions { Protocol = ProtocolConstants.Version1 });
        CellAddress[] cells = [new(0, 0, 0)];
        int[] levels = [1];

        async Task<string?> Refused(Func<Task> call) => (await Assert.ThrowsAsync<ArgumentNullException>(call)).ParamName;

        Assert.Equal("cells", await Refused(() => client.ReadAsync(null!)));
        Assert.Equal("cells", await Refused(() => client.ReadCodedAsync(null!, 8)));
        Assert.Equal("targets", await Refused(() => client.ProgramAsync(null!)));
        Assert.Equal("cells", await Refused(() => client.ProgramLevelsAsync(null!, levels)));
        Assert.Equal("levels", await Refused(() => client.ProgramLevelsAsync(cells, null!)));
        Assert.Equal("cells", await Refused(() => client.VerifyLevelsAsync(null!, levels, 1f, 5)));
        Assert.Equal("levels", await Refused(() => client.VerifyLevelsAsync(cells, null!, 1f, 5)));
        Assert.Equal("targets", await Refused(() => client.ProgramVerifyAsync(null!)));
        Assert.Equal("pulses", await Refused(() => client.WritePulsesAsync(null!)));
        Assert.Equal("cells", await Refused(() => client.CountersAsync(null!)));
        Assert.Equal("request", await Refused(() => client.SendAsync<StatusResponse>(null!)));
        Assert.Equal("cells", Assert.Throws<ArgumentNullException>(() => client.ProgramSpans(null!)).ParamName);
        Assert.Equal("cells", Assert.Throws<ArgumentNullException>(() => client.VerifySpans(null!)).ParamName);
        Assert.Equal(0, scripted.BytesRead);
    }

    [Fact]
    public void A_client_is_not_made_with_options_out_of_range()
    {
        (ByteTransport host, _) = InMemoryLink.CreatePair();

        Assert.Equal("Window", Assert.Throws<ArgumentOutOfRangeException>(() => new BoardClient(host, new BoardClientOptions { Window = 0 })).ParamName);
        Assert.Throws<ArgumentNullException>(() => new BoardClient(null!));
    }

    /// <summary>
    /// Section 3: before IDENTIFY the host assumes K = 32, whatever window it was given. A version 1 client sends its
    /// first requests without IDENTIFY to a board that holds every answer back: 32 frames arrive, and no 33rd until
    /// answers come.
    /// </summary>
    [Fact]
    public async Task Before_IDENTIFY_no_more_than_32_requests_are_in_flight()
    {
        var received = new List<uint>();
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        _ = new ScriptedBoard(board, request =>
        {
            lock (received)
            {
                received.Add(request.Sequence);
            }
            return [];
        });
        await using var client = new BoardClient(host, new BoardClientOptions
        {
            Protocol = ProtocolConstants.Version1, InitialSequence = 0, Window = 64, AttemptTimeout = TimeSpan.FromMinutes(2),
        });

        Task[] requests = [.. Enumerable.Range(0, 40).Select(_ => (Task)client.SendAsync<StatusResponse>(new StatusRequest()))];
        for (int wait = 0; wait < 3_000 && received.Count < 32; wait++)
        {
            await Task.Delay(10);
        }
        await Task.Delay(300);

        lock (received)
        {
            Assert.Equal(Enumerable.Range(0, 32).Select(n => (uint)n), received);
        }
    }

    [Fact]
    public void Every_option_at_its_bound_is_accepted()
    {
        foreach (byte? version in new byte?[] { null, 1, 2 })
        {
            new BoardClientOptions
            {
                Protocol = version,
                AttemptTimeout = TimeSpan.FromMilliseconds(10),
                MaxRetries = 0,
                Window = 1,
                BreakerFailureRatio = 1,
                BreakerMinimumThroughput = 2,
            }.Validate();
        }
        new BoardClientOptions { BreakerFailureRatio = 1e-9 }.Validate();
    }

    /// <summary>
    /// The spec's nominal model (section 5, STATUS): reads x read_ns, pulses x pulse_ns, and a PROGRAM_VERIFY target at
    /// worst a read and its iteration limit of verify_iteration_ns; a BATCH is its parts' sum. Worked by hand for
    /// read 1 us, pulse 300 ns, iteration 2 us.
    /// </summary>
    [Fact]
    public void A_requests_nominal_device_time_is_the_spec_model_at_its_worst()
    {
        BoardInfo board = RandomMessages.InfoVersion2(new Random(3)) with { ReadNs = 1_000, PulseNs = 300, VerifyIterationNs = 2_000 };
        var cell = new CellAddress(0, 1, 2);
        BoardRequest read = ReadRequest.Rectangle(cell, 4, 8, samples: 3);
        BoardRequest pulses = new WritePulseRequest(Enumerable.Repeat(new Pulse(cell, PulsePolarity.Set, 1.2f, 100), 5).ToArray());
        BoardRequest program = new ProgramRequest([new ProgramTarget(cell, TargetKind.Level, 1), new ProgramTarget(cell, TargetKind.Level, 2)]);
        BoardRequest verify = new ProgramVerifyRequest([new VerifyTarget(cell, 50, 1, 10), new VerifyTarget(cell, 60, 1, 20)]);

        Assert.Equal(32 * 3 * 1_000, BoardClient.NominalDeviceNs(read, board));
        Assert.Equal(5 * 300, BoardClient.NominalDeviceNs(pulses, board));
        Assert.Equal(2 * (300 + 1_000), BoardClient.NominalDeviceNs(program, board));
        Assert.Equal((1_000 + 10 * 2_000) + (1_000 + 20 * 2_000), BoardClient.NominalDeviceNs(verify, board));
        Assert.Equal(96_000 + 1_500 + 2_600 + 62_000, BoardClient.NominalDeviceNs(new BatchRequest([read, pulses, program, verify, new StatusRequest()]), board));
        Assert.Equal(0, BoardClient.NominalDeviceNs(new StatusRequest(), board));
        Assert.Equal(0, BoardClient.NominalDeviceNs(verify, board: null));
    }

    [Fact]
    public void Several_links_figures_add_up_field_by_field()
    {
        var a = new LinkStatistics(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        var b = new LinkStatistics(100, 200, 300, 400, 500, 600, 700, 800, 900, 1000);

        Assert.Equal(new LinkStatistics(101, 202, 303, 404, 505, 606, 707, 808, 909, 1010), LinkStatistics.Sum([a, b, new LinkStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]));
        Assert.Equal(new LinkStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), LinkStatistics.Sum([]));
        Assert.Throws<ArgumentNullException>(() => LinkStatistics.Sum(null!));
    }

    /// <summary>
    /// Three PROGRAMs to a scripted version 1 board: the second's answer comes after a block that is not COBS and a frame
    /// without the RESPONSE bit, the third's answer is REPLAYED and then arrives a second time. Every figure is counted on
    /// the board's side of the link.
    /// </summary>
    [Fact]
    public async Task The_link_figures_count_what_crossed_the_link()
    {
        byte[] Answer(uint sequence, byte flags) => SpecRuleTests.Wire(sequence, (byte)Opcode.Program, [1, 0, 0], flags: flags);
        byte[][][] script =
        [
            [Answer(100, 1)],
            [[0x05, 0x11, 0x00], SpecRuleTests.Wire(7, (byte)Opcode.Status, []), Answer(101, 1)],
            [Answer(102, 3), Answer(102, 3)],
        ];
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var scripted = new ScriptedBoard(board, request => script[request.Sequence - 100]);
        // Nothing is resent however slow the machine: every figure below is then exact.
        await using var client = new BoardClient(host, new BoardClientOptions
        {
            Protocol = ProtocolConstants.Version1, InitialSequence = 100, AttemptTimeout = TimeSpan.FromMinutes(2),
        });

        for (int i = 0; i < 3; i++)
        {
            await client.SendAsync<ProgramResponse>(new ProgramRequest([new ProgramTarget(new CellAddress(0, 0, (ushort)i), TargetKind.Level, 1)]));
        }
        long written = script.SelectMany(frames => frames).Sum(frame => (long)frame.Length);
        // The third answer's second copy may still be on its way.
        for (int wait = 0; wait < 3_000 && client.Statistics.BytesReceived < written; wait++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(new LinkStatistics(Requests: 3, FramesSent: 3, BytesSent: scripted.BytesRead, FramesReceived: 4, BytesReceived: written,
            Retransmissions: 0, Timeouts: 0, CorruptFrames: 1, StrayResponses: 2, Replays: 2), client.Statistics);
    }

    /// <summary>A board's answer that does not parse, or that answers another number of cells than were asked, is a link fault, said as one.</summary>
    [Fact]
    public async Task An_answer_that_does_not_parse_or_counts_other_cells_is_an_io_error_naming_the_command()
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        _ = new ScriptedBoard(board, request => request.Sequence switch
        {
            100 => [SpecRuleTests.Wire(100, (byte)Opcode.Program, [5], flags: 1)],
            _ => [SpecRuleTests.Wire(request.Sequence, (byte)Opcode.Read, [2, 0, 0, 0, 0x80, 0x3F, 0, 0, 0x80, 0x3F], flags: 1)],
        });
        await using var client = new BoardClient(host, new BoardClientOptions
        {
            Protocol = ProtocolConstants.Version1, InitialSequence = 100, AttemptTimeout = TimeSpan.FromMinutes(2),
        });
        var cell = new CellAddress(0, 0, 0);

        IOException unparsed = await Assert.ThrowsAsync<IOException>(() => client.ProgramAsync([new ProgramTarget(cell, TargetKind.Level, 1)]));
        IOException miscounted = await Assert.ThrowsAsync<IOException>(() => client.ReadAsync([cell, cell with { Row = 5 }, cell with { Row = 9 }]));

        Assert.Contains("Program response (sequence 100) does not parse", unparsed.Message);
        Assert.Contains("a READ of 3 cells with 2 conductances", miscounted.Message);
    }

    /// <summary>Requests that could not be sent whole, or answered in one frame, are refused before anything reaches the link.</summary>
    [Fact]
    public async Task A_request_too_long_to_send_or_to_answer_is_refused_before_anything_is_sent()
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var scripted = new ScriptedBoard(board, request => [SpecRuleTests.Wire(request.Sequence, (byte)Opcode.Program, [1, 0, 0], flags: 1)]);
        await using var client = new BoardClient(host, new BoardClientOptions { Protocol = ProtocolConstants.Version1, InitialSequence = 100 });
        var cell = new CellAddress(0, 0, 0);
        ProgramTarget[] targets = [.. Enumerable.Repeat(new ProgramTarget(cell, TargetKind.Level, 1), (ProtocolConstants.MaxPayloadLengthOf(1) - 2) / ProgramTarget.WireLength + 1)];

        var tooLong = await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync<ProgramResponse>(new ProgramRequest(targets)));
        var answerTooLong = await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync<ReadResponse>(ReadRequest.Rectangle(cell, 200, 200)).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("Split it", tooLong.Message);
        Assert.Contains("160,002 bytes", answerTooLong.Message);
        Assert.Equal(0, scripted.BytesRead);
        Assert.Equal(0, client.Statistics.Requests);
        // Neither took a sequence number, nor kept the turn of the requests behind them.
        Assert.Equal(100u, client.NextSequence);
        await client.ProgramAsync([new ProgramTarget(cell, TargetKind.Level, 1)]).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, client.Statistics.Requests);
    }

    /// <summary>A replay lies behind the client's own series (less than 2^31 behind), one at a time; its scope gives the numbers back once.</summary>
    [Fact]
    public async Task A_replay_must_lie_behind_the_clients_own_series_and_runs_one_at_a_time()
    {
        (ByteTransport host, _) = InMemoryLink.CreatePair();
        await using var client = new BoardClient(host, new BoardClientOptions { Protocol = ProtocolConstants.Version1, InitialSequence = 1_000 });

        Assert.Throws<InvalidOperationException>(() => client.ReplayFrom(1_000));
        Assert.Throws<InvalidOperationException>(() => client.ReplayFrom(1_001));
        Assert.Throws<InvalidOperationException>(() => client.ReplayFrom(unchecked(1_000u - 0x8000_0000)));
        client.ReplayFrom(unchecked(1_000u - 0x7FFF_FFFF)).Dispose();

        IDisposable scope = client.ReplayFrom(990);
        Assert.Throws<InvalidOperationException>(() => client.ReplayFrom(980));
        // While the replay runs, the client's own series still goes on from where it stood.
        Assert.Equal(1_000u, client.NextSequence);
        Assert.Equal(1_000u, client.NextSequence);
        scope.Dispose();
        scope.Dispose();
        Assert.Equal(1_000u, client.NextSequence);
    }

    /// <summary>What a user is told for each status they can act on: the cause and what to do.</summary>
    [Theory]
    [InlineData(StatusCode.LeaseHeld, "connect read-only")]
    [InlineData(StatusCode.NotLeased, "nothing was changed")]
    [InlineData(StatusCode.NoSession, "Read the affected cells")]
    [InlineData(StatusCode.BadVersion, "update its firmware")]
    public void A_board_refusal_a_user_can_act_on_says_what_to_do(StatusCode status, string advice)
    {
        var ex = new BoardException(status, Opcode.Program, 42);

        Assert.Contains($"refused Program (sequence 42) with status {status} (0x{(byte)status:X2})", ex.Message);
        Assert.Contains(advice, ex.Message);
        Assert.EndsWith(".", new BoardException(StatusCode.OutOfRange, Opcode.Read, 1).Message);
        Assert.DoesNotContain(":", new BoardException(StatusCode.OutOfRange, Opcode.Read, 1).Message);
    }

    [Fact]
    public void Every_attempt_refused_says_whether_the_board_was_busy_or_the_frames_arrive_damaged()
    {
        var busy = new BoardException(StatusCode.Busy, Opcode.ProgramVerify, 7, attempts: 4);
        var damaged = new BoardException(StatusCode.BadCrc, Opcode.ProgramVerify, 7, attempts: 4);

        Assert.Contains("BUSY to all 4 attempts", busy.Message);
        Assert.Contains("executed none", busy.Message);
        Assert.Contains("check the cable, the baud rate and the ground", damaged.Message);
        Assert.Equal((StatusCode.BadCrc, Opcode.ProgramVerify, 7u), (damaged.Status, damaged.Opcode, damaged.Sequence));
    }

    /// <summary>Answers each request frame it reads with the frames its script gives, counting the bytes it reads.</summary>
    private sealed class ScriptedBoard
    {
        private long _read;

        public ScriptedBoard(ByteTransport link, Func<Frame, byte[][]> script) => _ = Task.Run(() => ServeAsync(link, script));

        public long BytesRead => Interlocked.Read(ref _read);

        private async Task ServeAsync(ByteTransport link, Func<Frame, byte[][]> script)
        {
            var decoder = new FrameDecoder();
            var buffer = new byte[4096];
            int count;
            while ((count = await link.ReadAsync(buffer, CancellationToken.None)) > 0)
            {
                Interlocked.Add(ref _read, count);
                var answers = new List<byte[]>();
                ReadOnlySpan<byte> input = buffer.AsSpan(0, count);
                while (decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    Assert.Equal(FrameError.None, error);
                    answers.AddRange(script(frame));
                }
                foreach (byte[] answer in answers)
                {
                    await link.WriteAsync(answer, CancellationToken.None);
                }
            }
        }
    }
}
