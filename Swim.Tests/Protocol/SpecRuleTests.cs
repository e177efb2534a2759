using System.Buffers.Binary;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Protocol;

/// <summary>
/// The mandatory rules of firmware-spec/protocol.md for version 1 boards, checked against a board of that version with
/// frames built byte by byte from the spec's text (section 2.2 layout, its CRC, its COBS description), not with the
/// codec under test. Version 2's sessions have theirs in <see cref="SessionRuleTests"/>.
/// </summary>
public sealed class SpecRuleTests
{
    private const byte Identify = 0x01, Reset = 0x02, Read = 0x03, Program = 0x05, Batch = 0x07, Status = 0x08;

    /// <summary>COBS as section 2.1 describes it: groups of a code byte n and n - 1 data bytes, 255 for 254 bytes and no zero.</summary>
    private static List<byte> CobsBySpec(byte[] block)
    {
        var output = new List<byte>();
        var group = new List<byte>();
        foreach (byte b in block)
        {
            if (b == 0)
            {
                output.Add((byte)(group.Count + 1));
                output.AddRange(group);
                group.Clear();
                continue;
            }
            group.Add(b);
            if (group.Count == 254)
            {
                output.Add(0xFF);
                output.AddRange(group);
                group.Clear();
            }
        }
        if (group.Count > 0 || block.Length == 0 || block[^1] == 0)
        {
            output.Add((byte)(group.Count + 1));
            output.AddRange(group);
        }
        return output;
    }

    /// <summary>Section 2.2: version, flags, sequence u32, opcode, status 0, length u16, payload, CRC-32 of all that; COBS; 0x00.</summary>
    internal static byte[] Wire(uint sequence, byte opcode, byte[] payload, byte version = 1, byte flags = 0, byte status = 0)
    {
        var body = new byte[10 + payload.Length + 4];
        body[0] = version;
        body[1] = flags;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(2), sequence);
        body[6] = opcode;
        body[7] = status;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), (ushort)payload.Length);
        payload.CopyTo(body, 10);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(10 + payload.Length), System.IO.Hashing.Crc32.HashToUInt32(body.AsSpan(0, 10 + payload.Length)));
        return [.. CobsBySpec(body), 0];
    }

    /// <summary>Section 5, PROGRAM: a list of one target, cell (tile, row, column), kind 0 (level), value f32.</summary>
    internal static byte[] ProgramOne(ushort row, ushort column)
    {
        var payload = new byte[2 + 11];
        BinaryPrimitives.WriteUInt16LittleEndian(payload, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(4), row);
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(6), column);
        BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(9), 2f);
        return payload;
    }

    /// <summary>Section 5, PROGRAM: a list of <paramref name="count"/> targets, columns 0 on of one row, each as <see cref="ProgramOne"/>'s.</summary>
    internal static byte[] ProgramRow(ushort row, int count)
    {
        var payload = new List<byte> { (byte)count, (byte)(count >> 8) };
        for (int c = 0; c < count; c++)
        {
            payload.AddRange(ProgramOne(row, (ushort)c)[2..]);
        }
        return [.. payload];
    }

    /// <summary>A board served over an in-memory link, spoken to frame by frame.</summary>
    private sealed class Bench : IAsyncDisposable
    {
        private readonly ByteTransport _host;
        private readonly CancellationTokenSource _stop = new();
        private readonly FrameDecoder _decoder = new();
        private readonly byte[] _buffer = new byte[4096];
        private byte[] _pending = [];

        public Bench(ushort cacheDepth = 32, ushort maxBatch = 64)
        {
            Device = new CountingDevice(cacheDepth, maxBatch);
            Device.Info = Device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
            (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
            _host = host;
            Endpoint = new BoardEndpoint(Device);
            _ = Task.Run(() => Endpoint.ServeAsync(board, _stop.Token));
        }

        public CountingDevice Device { get; }

        public BoardEndpoint Endpoint { get; }

        public int Executions(ushort row, ushort column) => Device.Executions.GetValueOrDefault(new CellAddress(0, row, column));

        public async Task<Frame> ExchangeAsync(byte[] wire)
        {
            await _host.WriteAsync(wire, CancellationToken.None);
            return await NextAsync();
        }

        public Task SendAsync(byte[] wire) => _host.WriteAsync(wire, CancellationToken.None).AsTask();

        /// <summary>The next frame the board sends, waiting at most 10 s (a hang fails instead of blocking the run).</summary>
        public async Task<Frame> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (true)
            {
                ReadOnlySpan<byte> input = _pending;
                if (_decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    _pending = input.ToArray();
                    Assert.Equal(FrameError.None, error);
                    return new Frame(frame.Version, frame.Flags, frame.Sequence, frame.Opcode, frame.Status, frame.Payload.ToArray());
                }
                _pending = [];
                int read = await _host.ReadAsync(_buffer, timeout.Token);
                Assert.True(read > 0, "the board closed the link");
                _pending = _buffer[..read];
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _host.DisposeAsync();
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task The_spec_worked_example_of_section_2_4_is_what_these_frames_are_built_as()
    {
        Assert.Equal(Convert.FromHexString("0201020101010201010105b3645e7800"), Wire(1, Identify, []));
        await using var bench = new Bench();
        Frame identify = await bench.ExchangeAsync(Wire(1, Identify, []));
        Assert.Equal((byte)StatusCode.Ok, identify.Status);
        Assert.Equal(1u, identify.Sequence);
    }

    [Fact]
    public async Task A_frame_of_another_protocol_version_is_refused_BAD_VERSION_with_opcode_0_and_not_executed()
    {
        await using var bench = new Bench();

        Frame refused = await bench.ExchangeAsync(Wire(7, Program, ProgramOne(1, 1), version: 2));

        Assert.Equal((byte)StatusCode.BadVersion, refused.Status);
        Assert.Equal(0, refused.Opcode);
        Assert.Equal(0, bench.Executions(1, 1));
        // Not cached either: the same number at version 1 runs.
        Frame accepted = await bench.ExchangeAsync(Wire(7, Program, ProgramOne(1, 1)));
        Assert.Equal((byte)StatusCode.Ok, accepted.Status);
        Assert.Equal(1, bench.Executions(1, 1));
    }

    [Fact]
    public async Task A_frame_with_the_RESPONSE_bit_set_is_neither_answered_nor_executed()
    {
        await using var bench = new Bench();

        await bench.SendAsync(Wire(3, Program, ProgramOne(2, 2), flags: 0x01));
        // The board handles frames in arrival order: the next answer is STATUS's, and nothing came before it.
        Frame next = await bench.ExchangeAsync(Wire(4, Status, []));

        Assert.Equal(4u, next.Sequence);
        Assert.Equal(Status, next.Opcode);
        Assert.Equal(0, bench.Executions(2, 2));
    }

    [Fact]
    public async Task The_cache_holds_exactly_K_responses_then_refuses_STALE_and_never_runs_a_request_twice()
    {
        const int K = 32;
        await using var bench = new Bench(K);
        for (uint s = 1; s <= K; s++)
        {
            Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(s, Program, ProgramOne(0, (ushort)s)))).Status);
        }

        // Sequence 1 is K - 1 behind the newest (K): still cached.
        Frame replay = await bench.ExchangeAsync(Wire(1, Program, ProgramOne(0, 1)));
        Assert.True(((FrameFlags)replay.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal((byte)StatusCode.Ok, replay.Status);

        // One more request: 1 is now K behind, out of the cache and stale; 2 is K - 1 behind and cached.
        await bench.ExchangeAsync(Wire(K + 1, Program, ProgramOne(0, K + 1)));
        Frame stale = await bench.ExchangeAsync(Wire(1, Program, ProgramOne(0, 1)));
        Assert.Equal((byte)StatusCode.StaleSequence, stale.Status);
        Frame second = await bench.ExchangeAsync(Wire(2, Program, ProgramOne(0, 2)));
        Assert.True(((FrameFlags)second.Flags).HasFlag(FrameFlags.Replayed));

        // 4K - 1 behind is still stale, never a new series.
        for (uint s = K + 2; s <= 4 * K; s++)
        {
            await bench.ExchangeAsync(Wire(s, Program, ProgramOne(1, (ushort)s)));
        }
        Assert.Equal((byte)StatusCode.StaleSequence, (await bench.ExchangeAsync(Wire(1, Program, ProgramOne(0, 1)))).Status);
        Assert.All(Enumerable.Range(1, K + 1), c => Assert.Equal(1, bench.Executions(0, (ushort)c)));
    }

    [Fact]
    public async Task Sequence_numbers_wrap_from_the_largest_u32_to_0_inside_the_cache()
    {
        await using var bench = new Bench();
        uint[] series = [uint.MaxValue - 2, uint.MaxValue - 1, uint.MaxValue, 0, 1, 2];
        foreach ((uint s, int i) in series.Select((s, i) => (s, i)))
        {
            await bench.ExchangeAsync(Wire(s, Program, ProgramOne(2, (ushort)i)));
        }

        // The number before the wrap is 5 behind 2, modulo 2^32: a retransmission, answered from the cache.
        Frame replay = await bench.ExchangeAsync(Wire(uint.MaxValue - 2, Program, ProgramOne(2, 0)));

        Assert.True(((FrameFlags)replay.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal(1, bench.Executions(2, 0));
    }

    [Fact]
    public async Task RESET_clears_the_cache_so_an_old_number_runs_as_a_new_request()
    {
        await using var bench = new Bench();
        await bench.ExchangeAsync(Wire(10, Program, ProgramOne(3, 3)));
        Assert.True(((FrameFlags)(await bench.ExchangeAsync(Wire(10, Program, ProgramOne(3, 3)))).Flags).HasFlag(FrameFlags.Replayed));

        Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(11, Reset, [0]))).Status);
        Frame after = await bench.ExchangeAsync(Wire(10, Program, ProgramOne(3, 3)));

        Assert.False(((FrameFlags)after.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal(2, bench.Executions(3, 3));
    }

    [Theory]
    [InlineData(4_097)]
    [InlineData(4_100)]
    [InlineData(9_000)]
    [InlineData(65_521)]
    public async Task A_payload_over_max_payload_is_refused_BAD_LENGTH_whatever_its_size_and_not_executed(int length)
    {
        await using var bench = new Bench();
        Assert.Equal(4_096, bench.Device.Info.MaxPayload);
        byte[] payload = new byte[length];
        ProgramOne(6, 6).CopyTo(payload, 0);

        Frame refused = await bench.ExchangeAsync(Wire(21, Program, payload));

        Assert.Equal((byte)StatusCode.BadLength, refused.Status);
        Assert.Equal(21u, refused.Sequence);
        Assert.Equal(0, refused.Opcode);
        Assert.Equal(0, bench.Executions(6, 6));
    }

    /// <summary>Section 5, BATCH: each sub-request with its own status, a failing one (here one no board knows) not stopping the rest.</summary>
    [Fact]
    public async Task A_BATCH_answers_a_sub_request_it_cannot_decode_with_its_own_status_and_runs_the_others()
    {
        await using var bench = new Bench();
        byte[] first = ProgramOne(4, 4), second = ProgramOne(4, 5);
        byte[] batch = [3, 0, Program, (byte)first.Length, 0, .. first, 0x55, 2, 0, 1, 2, Program, (byte)second.Length, 0, .. second];

        Frame answer = await bench.ExchangeAsync(Wire(30, Batch, batch));

        Assert.Equal((byte)StatusCode.Ok, answer.Status);
        // count, then opcode, status, length and payload per sub-request: PROGRAM OK (one status, OK), 0x55 UNKNOWN_OPCODE, PROGRAM OK.
        Assert.Equal(new byte[] { 3, 0, Program, 0, 3, 0, 1, 0, 0, 0x55, (byte)StatusCode.UnknownOpcode, 0, 0, Program, 0, 3, 0, 1, 0, 0 }, answer.Payload.ToArray());
        Assert.Equal(1, bench.Executions(4, 4));
        Assert.Equal(1, bench.Executions(4, 5));
    }

    /// <summary>
    /// A request whose answer could not be framed (over the u16 length) is refused BATCH_TOO_LARGE before anything in
    /// it runs: a PROGRAM and 64 READs of 16 x 16, 65,928 bytes of answer.
    /// </summary>
    [Fact]
    public async Task A_request_whose_answer_would_not_fit_a_frame_is_refused_before_anything_runs()
    {
        await using var bench = new Bench(maxBatch: 256);
        byte[] program = ProgramOne(7, 7);
        byte[] rectangle = [1, 1, 0, 0, 0, 0, 0, 0, 16, 0, 16, 0];
        var batch = new List<byte> { 65, 0, Program, (byte)program.Length, 0 };
        batch.AddRange(program);
        for (int i = 0; i < 64; i++)
        {
            batch.AddRange([Read, (byte)rectangle.Length, 0, .. rectangle]);
        }

        Frame refused = await bench.ExchangeAsync(Wire(40, Batch, [.. batch]));

        Assert.Equal((byte)StatusCode.BatchTooLarge, refused.Status);
        Assert.Equal(0, bench.Executions(7, 7));
        // The link is not deaf afterwards.
        Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(41, Status, []))).Status);
    }

    /// <summary>Section 5, RESET bit 0: every STATUS counter counts from the RESET, the link's included.</summary>
    [Fact]
    public async Task RESET_with_clear_counters_starts_every_STATUS_counter_again()
    {
        await using var bench = new Bench();
        await bench.ExchangeAsync(Wire(50, Program, ProgramOne(8, 8)));
        await bench.ExchangeAsync(Wire(50, Program, ProgramOne(8, 8)));
        await bench.ExchangeAsync(Wire(51, Reset, [0]));
        byte[] damaged = Wire(52, Status, []);
        damaged[^3] ^= 0x40;
        Assert.Equal((byte)StatusCode.BadCrc, (await bench.ExchangeAsync(damaged)).Status);
        Frame before = await bench.ExchangeAsync(Wire(53, Status, []));
        Assert.True(BinaryPrimitives.ReadUInt32LittleEndian(before.Payload.Span[17..]) >= 4);

        await bench.ExchangeAsync(Wire(54, Reset, [1]));
        Frame after = await bench.ExchangeAsync(Wire(55, Status, []));

        ReadOnlySpan<byte> status = after.Payload.Span;
        // frames_received counts the STATUS itself; crc_errors, framing_errors, replays, executed and resets are 0.
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(status[17..]));
        foreach (int offset in new[] { 21, 25, 29, 33, 61 })
        {
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(status[offset..]));
        }
        // Counting goes on after the RESET: the STATUS just answered is executed 1.
        Frame later = await bench.ExchangeAsync(Wire(56, Status, []));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(later.Payload.Span[33..]));
        Assert.Equal([false, true], bench.Device.Resets);
    }

    /// <summary>
    /// Section 3: a power cycle loses the cache, forgets the newest number (one that would have been stale runs) and
    /// zeroes every counter; conductances (here, what ran) stay as they were.
    /// </summary>
    [Fact]
    public async Task A_power_cycle_loses_the_cache_the_newest_number_and_every_counter()
    {
        await using var bench = new Bench();
        await bench.ExchangeAsync(Wire(5, Program, ProgramOne(12, 1)));
        await bench.ExchangeAsync(Wire(5, Program, ProgramOne(12, 1)));

        bench.Endpoint.PowerCycle();
        // 40 behind 5, modulo 2^32: stale had the board remembered 5.
        Frame below = await bench.ExchangeAsync(Wire(unchecked(5u - 40), Program, ProgramOne(12, 2)));
        Frame again = await bench.ExchangeAsync(Wire(5, Program, ProgramOne(12, 1)));
        byte[] status = (await bench.ExchangeAsync(Wire(6, Status, []))).Payload.ToArray();

        Assert.Equal((byte)StatusCode.Ok, below.Status);
        Assert.False(((FrameFlags)again.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal(2, bench.Executions(12, 1));
        Assert.Equal(1, bench.Executions(12, 2));
        // frames_received: two PROGRAMs and this STATUS; replays 0; executed: the two PROGRAMs.
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(17)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(29)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(33)));
        // The device lost its volatile state and counters too.
        Assert.Equal([true], bench.Device.Resets);
    }

    /// <summary>
    /// Section 3 (version 1): a first attempt overtaken by later numbers runs when it arrives, within the window, without
    /// starting a new series: the numbers around it are still answered from the cache.
    /// </summary>
    [Fact]
    public async Task A_late_first_arrival_within_the_window_runs_and_keeps_the_cache()
    {
        await using var bench = new Bench();
        foreach (uint s in new uint[] { 1, 2, 4 })
        {
            await bench.ExchangeAsync(Wire(s, Program, ProgramOne(17, (ushort)s)));
        }

        Frame late = await bench.ExchangeAsync(Wire(3, Program, ProgramOne(17, 3)));
        Frame repeat = await bench.ExchangeAsync(Wire(1, Program, ProgramOne(17, 1)));

        Assert.Equal((byte)StatusCode.Ok, late.Status);
        Assert.True(((FrameFlags)repeat.Flags).HasFlag(FrameFlags.Replayed));
        Assert.All(Enumerable.Range(1, 4), c => Assert.Equal(1, bench.Executions(17, (ushort)c)));
    }

    /// <summary>Section 3 (version 1): no sessions, so OPEN and CLOSE are opcodes such a board does not implement.</summary>
    [Fact]
    public async Task A_version_1_board_answers_OPEN_and_CLOSE_UNKNOWN_OPCODE()
    {
        await using var bench = new Bench();
        byte[] open = new byte[11];
        open[0] = 7;

        Assert.Equal((byte)StatusCode.UnknownOpcode, (await bench.ExchangeAsync(Wire(60, (byte)Opcode.Open, open))).Status);
        Assert.Equal((byte)StatusCode.UnknownOpcode, (await bench.ExchangeAsync(Wire(61, (byte)Opcode.Close, []))).Status);
    }

    /// <summary>
    /// Section 5, max_batch: a command of exactly max_batch items, and a BATCH of exactly max_batch sub-requests, run; one
    /// item more is BATCH_TOO_LARGE and nothing in it runs.
    /// </summary>
    [Fact]
    public async Task Exactly_max_batch_items_run_and_one_more_is_BATCH_TOO_LARGE()
    {
        const ushort MaxBatch = 8;
        await using var bench = new Bench(maxBatch: MaxBatch);
        static byte[] Batched(ushort row, int count)
        {
            var payload = new List<byte> { (byte)count, 0 };
            for (int c = 0; c < count; c++)
            {
                byte[] one = ProgramOne(row, (ushort)c);
                payload.AddRange([Program, (byte)one.Length, 0, .. one]);
            }
            return [.. payload];
        }

        Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(70, Program, ProgramRow(13, MaxBatch)))).Status);
        Assert.Equal((byte)StatusCode.BatchTooLarge, (await bench.ExchangeAsync(Wire(71, Program, ProgramRow(14, MaxBatch + 1)))).Status);
        Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(72, Batch, Batched(15, MaxBatch)))).Status);
        Assert.Equal((byte)StatusCode.BatchTooLarge, (await bench.ExchangeAsync(Wire(73, Batch, Batched(16, MaxBatch + 1)))).Status);

        Assert.All(Enumerable.Range(0, MaxBatch), c => Assert.Equal(1, bench.Executions(13, (ushort)c)));
        Assert.All(Enumerable.Range(0, MaxBatch), c => Assert.Equal(1, bench.Executions(15, (ushort)c)));
        Assert.All(Enumerable.Range(0, MaxBatch + 1), c => Assert.Equal(0, bench.Executions(14, (ushort)c) + bench.Executions(16, (ushort)c)));
    }

    /// <summary>
    /// Section 5, STATUS: each counter counts what its name says. Valid requests in frames_received (the STATUS asking
    /// included), BAD_CRC in crc_errors, the other framing refusals (a block that is not COBS, BAD_VERSION, BAD_LENGTH;
    /// section 3 calls them framing refusals) in framing_errors, cache answers in replays, requests run in executed
    /// (a repeat or a STALE refusal is not run), a RESET without bit 0 in resets.
    /// </summary>
    [Fact]
    public async Task STATUS_counts_frames_errors_replays_executions_and_resets_as_the_spec_names_them()
    {
        const int K = 32;
        await using var bench = new Bench(K);
        for (uint s = 1; s <= K + 1; s++)
        {
            await bench.ExchangeAsync(Wire(s, Program, ProgramOne(9, (ushort)s)));
        }
        await bench.ExchangeAsync(Wire(K + 1, Program, ProgramOne(9, K + 1)));
        await bench.ExchangeAsync(Wire(K, Program, ProgramOne(9, K)));
        Assert.Equal((byte)StatusCode.StaleSequence, (await bench.ExchangeAsync(Wire(1, Program, ProgramOne(9, 1)))).Status);
        byte[] damaged = Wire(K + 2, Status, []);
        damaged[^3] ^= 0x40;
        Assert.Equal((byte)StatusCode.BadCrc, (await bench.ExchangeAsync(damaged)).Status);
        Assert.Equal((byte)StatusCode.BadVersion, (await bench.ExchangeAsync(Wire(K + 2, Status, [], version: 9))).Status);
        Assert.Equal((byte)StatusCode.BadLength, (await bench.ExchangeAsync(Wire(K + 2, Program, new byte[4_097]))).Status);
        // A code byte promising four data bytes before the delimiter, with one: not COBS, nothing to answer.
        await bench.SendAsync([0x05, 0x11, 0x00]);
        Assert.Equal((byte)StatusCode.Ok, (await bench.ExchangeAsync(Wire(K + 2, Reset, [0]))).Status);

        byte[] first = (await bench.ExchangeAsync(Wire(K + 3, Status, []))).Payload.ToArray();
        byte[] second = (await bench.ExchangeAsync(Wire(K + 4, Status, []))).Payload.ToArray();

        uint Counter(byte[] status, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(offset));
        // frames_received: K + 1 programs, 2 repeats, the stale one, the RESET and this STATUS.
        Assert.Equal((uint)(K + 1 + 2 + 1 + 1 + 1), Counter(first, 17));
        Assert.Equal(1u, Counter(first, 21));
        Assert.Equal(3u, Counter(first, 25));
        Assert.Equal(2u, Counter(first, 29));
        // executed: K + 1 programs and the RESET, not the STATUS still running when it reads them.
        Assert.Equal((uint)(K + 1 + 1), Counter(first, 33));
        Assert.Equal(1u, Counter(first, 61));
        Assert.Equal(Counter(first, 17) + 1, Counter(second, 17));
        Assert.Equal(Counter(first, 33) + 1, Counter(second, 33));
    }

    /// <summary>
    /// Section 3 (version 1), a new host's series: a request 4K or more behind the newest runs, the board clears its
    /// cache and takes that number as the newest; the new series' retransmissions are then answered from the cache.
    /// </summary>
    [Fact]
    public async Task A_number_4K_behind_starts_a_new_series_whose_repeats_are_replayed_and_clears_the_old_cache()
    {
        const int K = 32;
        await using var bench = new Bench(K);
        await bench.ExchangeAsync(Wire(999, Program, ProgramOne(10, 1)));
        await bench.ExchangeAsync(Wire(1000, Program, ProgramOne(10, 2)));

        Frame first = await bench.ExchangeAsync(Wire(1000 - 4 * K, Program, ProgramOne(10, 3)));
        Frame repeat = await bench.ExchangeAsync(Wire(1000 - 4 * K, Program, ProgramOne(10, 3)));
        Frame next = await bench.ExchangeAsync(Wire(1001 - 4 * K, Program, ProgramOne(10, 4)));
        // 999 is now ahead of the new newest, and its cached answer went with the old series: it runs as new.
        Frame old = await bench.ExchangeAsync(Wire(999, Program, ProgramOne(10, 1)));

        Assert.Equal((byte)StatusCode.Ok, first.Status);
        Assert.False(((FrameFlags)first.Flags).HasFlag(FrameFlags.Replayed));
        Assert.True(((FrameFlags)repeat.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal((byte)StatusCode.Ok, next.Status);
        Assert.False(((FrameFlags)old.Flags).HasFlag(FrameFlags.Replayed));
        Assert.Equal(1, bench.Executions(10, 3));
        Assert.Equal(1, bench.Executions(10, 4));
        Assert.Equal(2, bench.Executions(10, 1));
    }

    /// <summary>
    /// Section 3, the host's window: never K or more ahead of the oldest unanswered request. A board of K = 8 and
    /// a client asked for a window of 64: what crosses the link, seen on the host's side, never spreads 8 or more.
    /// </summary>
    [Fact]
    public async Task The_client_never_runs_K_or_more_ahead_of_its_oldest_unanswered_request()
    {
        const int K = 8;
        var device = new CountingDevice(cacheDepth: K) { VerifyDuration = TimeSpan.FromMilliseconds(1) };
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        var watched = new WindowWatcher(host);
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() => new BoardEndpoint(device).ServeAsync(board, stop.Token));
        await using (var client = new BoardClient(watched, new BoardClientOptions { Window = 64, AttemptTimeout = TimeSpan.FromSeconds(30) }))
        {
            await client.IdentifyAsync();
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.SendAsync<ProgramVerifyResponse>(
                new ProgramVerifyRequest([new VerifyTarget(new CellAddress(0, (ushort)(i / 512), (ushort)(i % 512)), 50f, 1f, 5)]))));
        }
        await stop.CancelAsync();

        // Newest minus oldest unanswered at most K - 1: a spread of at most K numbers, and more than one (it pipelined).
        Assert.InRange(watched.WidestSpread, 2u, (uint)K);
        Assert.Equal(200, device.Executions.Count);
    }

    /// <summary>Decodes what the host writes and reads, and keeps the widest spread of sequence numbers in flight.</summary>
    internal sealed class WindowWatcher(ByteTransport inner) : ByteTransport
    {
        private readonly FrameDecoder _sent = new(), _received = new();
        private readonly SortedSet<uint> _open = [];
        private readonly Lock _gate = new();
        private uint? _first;

        public uint WidestSpread { get; private set; }

        public override string Description => inner.Description;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                ReadOnlySpan<byte> input = data.Span;
                while (_sent.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    if (error == FrameError.None && frame.Opcode != Identify)
                    {
                        // Offsets from the first number sent: a host starts anywhere, and its numbers may wrap past 2^32.
                        _first ??= frame.Sequence;
                        _open.Add(unchecked(frame.Sequence - _first.Value));
                        WidestSpread = Math.Max(WidestSpread, _open.Max - _open.Min + 1);
                    }
                }
            }
            return inner.WriteAsync(data, cancellationToken);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken);
            lock (_gate)
            {
                ReadOnlySpan<byte> input = buffer.Span[..read];
                while (_received.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    if (error == FrameError.None && _first is { } first)
                    {
                        _open.Remove(unchecked(frame.Sequence - first));
                    }
                }
            }
            return read;
        }

        public override ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
