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
    public static TheoryData<string, Action<BoardClientOptions>> RefusedOptions => new()
    {
        { nameof(BoardClientOptions.Protocol), o => o.Protocol = 0 },
        { nameof(BoardClientOptions.Protocol), o => o.Protocol = 3 },
        { nameof(BoardClientOptions.AttemptTimeout), o => o.AttemptTimeout = TimeSpan.FromMilliseconds(9.99) },
        { nameof(BoardClientOptions.MaxRetries), o => o.MaxRetries = -1 },
        { nameof(BoardClientOptions.Window), o => o.Window = 0 },
        { nameof(BoardClientOptions.BreakerFailureRatio), o => o.BreakerFailureRatio = 0 },
        { nameof(BoardClientOptions.BreakerFailureRatio), o => o.BreakerFailureRatio = 1.0001 },
        { nameof(BoardClientOptions.BreakerMinimumThroughput), o => o.BreakerMinimumThroughput = 1 },
    };

    [Theory]
    [MemberData(nameof(RefusedOptions))]
    public void Each_option_out_of_range_is_refused_by_name(string option, Action<BoardClientOptions> spoil)
    {
        var options = new BoardClientOptions();
        spoil(options);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal(option, ex.ParamName);
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
