using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Swim.Protocol.Board;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Protocol;

/// <summary>
/// Version 2's rules (firmware-spec/protocol.md, section 3): sessions, their windows, the write lease. Requests are
/// built byte by byte from the spec's layout (a 12-byte header with the session at offset 2), answers read with the
/// decoder. Each rule is checked from the device's own count of executions, not from what the host was told.
/// </summary>
public sealed class SessionRuleTests
{
    private const byte Identify = 0x01, Read = 0x03, Program = 0x05, Status = 0x08, Open = 0x0D, Close = 0x0E;
    private const int K = 32;

    /// <summary>Section 2.2, version 2: version 2, flags, session u16, sequence u32, opcode, status 0, length u16, payload, CRC-32; COBS; 0x00.</summary>
    internal static byte[] Wire(ushort session, uint sequence, byte opcode, byte[] payload, byte flags = 0, byte status = 0)
    {
        var body = new byte[12 + payload.Length + 4];
        body[0] = 2;
        body[1] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), session);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), sequence);
        body[8] = opcode;
        body[9] = status;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(10), (ushort)payload.Length);
        payload.CopyTo(body, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12 + payload.Length), System.IO.Hashing.Crc32.HashToUInt32(body.AsSpan(0, 12 + payload.Length)));
        var wire = new byte[ProtocolConstants.MaxWireLength(payload.Length)];
        int length = Cobs.Encode(body, wire);
        return [.. wire[..length], 0];
    }

    /// <summary>OPEN's payload: nonce u64, flags u8 (bit 0 write), session to reopen u16 (0 for a new one).</summary>
    private static byte[] OpenPayload(ulong nonce, bool write, ushort resume = 0)
    {
        var payload = new byte[11];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, nonce);
        payload[8] = write ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(9), resume);
        return payload;
    }

    private static byte[] ProgramOne(ushort row, ushort column) => SpecRuleTests.ProgramOne(row, column);

    private sealed class Bench
    {
        private readonly BoardEndpoint _endpoint;
        private readonly FrameDecoder _decoder;
        private readonly FrameDecoder _replies = new();

        public Bench(Func<BoardInfo, BoardInfo>? describe = null)
        {
            Device = new CountingDevice(K);
            Device.Info = describe?.Invoke(Device.Info) ?? Device.Info;
            _endpoint = new BoardEndpoint(Device, Time);
            _decoder = _endpoint.NewDecoder();
        }

        public FakeTimeProvider Time { get; } = new();

        public CountingDevice Device { get; }

        public BoardEndpoint Endpoint => _endpoint;

        public int Executions(ushort row, ushort column) => Device.Executions.GetValueOrDefault(new CellAddress(0, row, column));

        /// <summary>The board's answer to one frame, or null when it answers nothing.</summary>
        public Frame? Exchange(byte[] wire)
        {
            var replies = new List<byte[]>();
            _endpoint.Receive(_decoder, wire, replies);
            Assert.True(replies.Count <= 1);
            if (replies.Count == 0)
            {
                return null;
            }
            ReadOnlySpan<byte> input = replies[0];
            Assert.True(_replies.TryDecode(ref input, out Frame frame, out FrameError error, out _));
            Assert.Equal(FrameError.None, error);
            return frame with { Payload = frame.Payload.ToArray() };
        }

        public StatusCode StatusOf(byte[] wire) => (StatusCode)Exchange(wire)!.Value.Status;

        public (ushort Session, bool Lease, bool Resumed, uint Newest) OpenSession(ulong nonce, bool write, ushort resume = 0, uint sequence = 1)
        {
            Frame answer = Exchange(Wire(0, sequence, Open, OpenPayload(nonce, write, resume)))!.Value;
            Assert.Equal(StatusCode.Ok, (StatusCode)answer.Status);
            Assert.Equal(0, answer.Session);
            var open = (OpenResponse)BoardResponse.Decode(Opcode.Open, answer.Payload.Span);
            Assert.NotEqual(0, open.Session);
            Assert.Equal(K, open.Window);
            return (open.Session, open.HoldsLease, open.Resumed, open.Newest);
        }
    }

    [Fact]
    public void Outside_a_session_only_IDENTIFY_STATUS_and_OPEN_are_answered_and_nothing_else_runs()
    {
        var bench = new Bench();
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(0, 5, Identify, [])));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(0, 5, Status, [])));
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0, 6, Program, ProgramOne(1, 1))));
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0x1234, 7, Program, ProgramOne(1, 1))));
        Assert.Equal(0, bench.Executions(1, 1));
    }

    [Fact]
    public void A_retransmitted_OPEN_finds_the_session_its_first_attempt_opened()
    {
        var bench = new Bench();
        (ushort first, bool lease, _, _) = bench.OpenSession(42, write: true);
        (ushort again, bool stillLease, _, _) = bench.OpenSession(42, write: true, sequence: 2);
        Assert.Equal(first, again);
        Assert.True(lease && stillLease);
        Assert.Equal(1, bench.Endpoint.SessionCount);
    }

    [Fact]
    public void A_repeat_is_answered_from_the_cache_and_a_late_first_arrival_runs_once()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        Frame first = bench.Exchange(Wire(s, 100, Program, ProgramOne(2, 2)))!.Value;
        Frame repeat = bench.Exchange(Wire(s, 100, Program, ProgramOne(2, 2)))!.Value;
        Assert.Equal(FrameFlags.Response, first.Flags);
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, repeat.Flags);
        Assert.Equal(s, repeat.Session);
        Assert.Equal(1, bench.Executions(2, 2));
        // 105 overtakes 101..104 (a link that reorders); 103 arrives late, never seen before: it runs, once.
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 105, Program, ProgramOne(2, 5))));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 103, Program, ProgramOne(2, 3))));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 103, Program, ProgramOne(2, 3))));
        Assert.Equal(1, bench.Executions(2, 3));
    }

    /// <summary>The version 1 failure the sessions fix: a copy far behind was taken for a new host's series and ran again.</summary>
    [Theory]
    [InlineData(K)]
    [InlineData(4 * K)]
    [InlineData(100_000)]
    [InlineData(int.MaxValue)]
    public void A_number_K_or_more_behind_is_STALE_however_far_and_never_runs(int behind)
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        const uint Start = 7;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, Start, Program, ProgramOne(3, 3))));
        uint newest = unchecked(Start + (uint)behind);
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, newest, Program, ProgramOne(3, 4))));

        Assert.Equal(StatusCode.StaleSequence, bench.StatusOf(Wire(s, Start, Program, ProgramOne(3, 3))));
        // Still stale after: the stale copy did not move the window.
        Assert.Equal(StatusCode.StaleSequence, bench.StatusOf(Wire(s, Start, Program, ProgramOne(3, 3))));
        Assert.Equal(1, bench.Executions(3, 3));
    }

    [Fact]
    public void The_window_holds_exactly_K_numbers_behind_the_newest()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        for (uint n = 0; n < K + 1; n++)
        {
            bench.Exchange(Wire(s, 1000 + n, Program, ProgramOne(4, (ushort)n)));
        }
        // Newest 1000 + K: K - 1 behind is cached, K behind is stale.
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, bench.Exchange(Wire(s, 1001, Program, ProgramOne(4, 1)))!.Value.Flags);
        Assert.Equal(StatusCode.StaleSequence, bench.StatusOf(Wire(s, 1000, Program, ProgramOne(4, 0))));
        Assert.All(Enumerable.Range(0, K + 1), c => Assert.Equal(1, bench.Executions(4, (ushort)c)));
    }

    [Fact]
    public void A_second_host_far_ahead_in_its_own_session_does_not_disturb_the_first()
    {
        var bench = new Bench();
        ushort writer = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(writer, 10, Program, ProgramOne(5, 5))));
        (ushort monitor, bool lease, _, _) = bench.OpenSession(2, write: false, sequence: 2);
        Assert.False(lease);
        Assert.NotEqual(writer, monitor);
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(monitor, 0x8000_0000, Status, [])));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(0, 0x9000_0000, Status, [])));

        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, bench.Exchange(Wire(writer, 10, Program, ProgramOne(5, 5)))!.Value.Flags);
        Assert.Equal(1, bench.Executions(5, 5));
        // A read-only session changes nothing, and says so.
        Assert.Equal(StatusCode.NotLeased, bench.StatusOf(Wire(monitor, 0x8000_0001, Program, ProgramOne(5, 6))));
        Assert.Equal(0, bench.Executions(5, 6));
    }

    [Fact]
    public void The_write_lease_is_held_until_it_lapses_and_then_only_another_writer_takes_it()
    {
        var bench = new Bench();
        uint leaseMs = bench.Device.Info.LeaseMs;
        ushort first = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(first, 1, Program, ProgramOne(6, 1))));
        Assert.Equal(StatusCode.LeaseHeld, bench.StatusOf(Wire(0, 2, Open, OpenPayload(2, write: true))));

        // Idle past the lease: the holder's next request still goes on while nobody else asked.
        bench.Time.Advance(TimeSpan.FromMilliseconds(leaseMs + 1));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(first, 2, Program, ProgramOne(6, 2))));
        Assert.Equal(StatusCode.LeaseHeld, bench.StatusOf(Wire(0, 3, Open, OpenPayload(2, write: true))));

        bench.Time.Advance(TimeSpan.FromMilliseconds(leaseMs + 1));
        (ushort second, bool lease, _, _) = bench.OpenSession(2, write: true, sequence: 4);
        Assert.True(lease);
        Assert.Equal(StatusCode.NotLeased, bench.StatusOf(Wire(first, 3, Program, ProgramOne(6, 3))));
        // What the first host's session ran is still answered from its cache, not run again.
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, bench.Exchange(Wire(first, 2, Program, ProgramOne(6, 2)))!.Value.Flags);
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(second, 1, Program, ProgramOne(6, 3))));
        Assert.Equal([1, 1, 1], new[] { bench.Executions(6, 1), bench.Executions(6, 2), bench.Executions(6, 3) });
    }

    [Fact]
    public void A_crashed_host_reopens_its_session_with_the_journalled_id_and_nonce_and_finds_its_cache()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(77, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 500, Program, ProgramOne(7, 7))));

        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0, 9, Open, OpenPayload(78, write: true, resume: s))));
        (ushort again, bool lease, bool resumed, uint newest) = bench.OpenSession(77, write: true, resume: s, sequence: 10);
        Assert.Equal(s, again);
        Assert.True(lease && resumed);
        Assert.Equal(500u, newest);
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, bench.Exchange(Wire(s, 500, Program, ProgramOne(7, 7)))!.Value.Flags);
        Assert.Equal(1, bench.Executions(7, 7));
    }

    [Fact]
    public void A_power_cycle_loses_every_session_and_a_stray_frame_of_one_runs_nothing()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 1, Program, ProgramOne(8, 1))));
        bench.Endpoint.PowerCycle();

        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(s, 2, Program, ProgramOne(8, 2))));
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0, 3, Open, OpenPayload(1, write: true, resume: s))));
        Assert.Equal(0, bench.Executions(8, 2));
    }

    [Fact]
    public void OPEN_inside_a_session_is_refused_and_a_full_table_evicts_the_idlest_session_without_the_lease()
    {
        var bench = new Bench();
        ushort writer = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Malformed, bench.StatusOf(Wire(writer, 1, Open, OpenPayload(9, write: false))));
        var monitors = new List<ushort>();
        for (ulong nonce = 2; nonce < 2 + (ulong)bench.Device.Info.MaxSessions; nonce++)
        {
            bench.Time.Advance(TimeSpan.FromMilliseconds(1));
            monitors.Add(bench.OpenSession(nonce, write: false, sequence: (uint)nonce).Session);
        }
        Assert.Equal(bench.Device.Info.MaxSessions, bench.Endpoint.SessionCount);
        // The first monitor went; the writer, idlest of all, stays because it holds the lease.
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(monitors[0], 1, Status, [])));
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(writer, 2, Program, ProgramOne(9, 9))));
    }

    [Fact]
    public void A_version_1_frame_is_refused_BAD_VERSION_in_version_1_framing_so_its_host_can_read_it()
    {
        var bench = new Bench();
        Frame answer = bench.Exchange(SpecRuleTests.Wire(0x0102_0304, Identify, []))!.Value;
        Assert.Equal(ProtocolConstants.Version1, answer.Version);
        Assert.Equal(0x0102_0304u, answer.Sequence);
        Assert.Equal(StatusCode.BadVersion, (StatusCode)answer.Status);
    }

    [Fact]
    public void A_version_1_board_answers_a_version_2_frame_BAD_VERSION_in_its_own_framing()
    {
        var device = new CountingDevice(K);
        device.Info = device.Info with { ProtocolVersion = ProtocolConstants.Version1 };
        var endpoint = new BoardEndpoint(device);
        var replies = new List<byte[]>();
        endpoint.Receive(endpoint.NewDecoder(), Wire(0, 9, Identify, []), replies);
        ReadOnlySpan<byte> input = Assert.Single(replies);
        Assert.True(new FrameDecoder().TryDecode(ref input, out Frame frame, out FrameError error, out _));
        Assert.Equal(FrameError.None, error);
        Assert.Equal(ProtocolConstants.Version1, frame.Version);
        Assert.Equal(StatusCode.BadVersion, (StatusCode)frame.Status);
    }

    /// <summary>Section 3: a lease lapses when its holder's latest request is more than lease_ms old; at exactly lease_ms it holds.</summary>
    [Fact]
    public void A_lease_exactly_lease_ms_old_holds_and_one_a_millisecond_older_lapses()
    {
        var bench = new Bench();
        uint leaseMs = bench.Device.Info.LeaseMs;
        bench.OpenSession(1, write: true);

        bench.Time.Advance(TimeSpan.FromMilliseconds(leaseMs));
        Assert.Equal(StatusCode.LeaseHeld, bench.StatusOf(Wire(0, 2, Open, OpenPayload(2, write: true))));
        bench.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bench.OpenSession(2, write: true, sequence: 3).Lease);
    }

    /// <summary>Section 3: a session is reopened by its id and its own nonce together; another session's nonce reopens nothing.</summary>
    [Fact]
    public void Reopening_a_session_needs_its_own_nonce_not_another_sessions()
    {
        var bench = new Bench();
        ushort first = bench.OpenSession(1, write: true).Session;
        bench.OpenSession(2, write: false, sequence: 2);

        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0, 3, Open, OpenPayload(2, write: false, resume: first))));
        (ushort again, _, bool resumed, _) = bench.OpenSession(1, write: true, resume: first, sequence: 4);
        Assert.Equal(first, again);
        Assert.True(resumed);
    }

    /// <summary>Section 3: CLOSE ends the session, its cache and its lease: its numbers name nothing, and the next writer gets the lease at once.</summary>
    [Fact]
    public void CLOSE_ends_the_session_with_its_cache_and_its_lease()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 1, Program, ProgramOne(10, 1))));

        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 2, Close, [])));

        Assert.Equal(0, bench.Endpoint.SessionCount);
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(s, 1, Program, ProgramOne(10, 1))));
        Assert.True(bench.OpenSession(2, write: true, sequence: 3).Lease);
        Assert.Equal(1, bench.Executions(10, 1));
        // executed: OPEN, PROGRAM, CLOSE, OPEN.
        byte[] status = bench.Exchange(Wire(0, 4, Status, []))!.Value.Payload.ToArray();
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(33)));
    }

    /// <summary>Section 3: "behind" is d &lt; 2^31 modulo 2^32, so a number exactly 2^31 from the newest is ahead and runs.</summary>
    [Fact]
    public void A_number_exactly_2_to_the_31_from_the_newest_is_ahead_and_runs()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        bench.Exchange(Wire(s, 10, Program, ProgramOne(11, 1)));

        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(s, 10 + 0x8000_0000, Program, ProgramOne(11, 2))));
        Assert.Equal(1, bench.Executions(11, 2));
    }

    /// <summary>Section 3: a number that jumps ahead leaves every number K or more behind it stale, not only the one just past the window.</summary>
    [Fact]
    public void A_jump_ahead_makes_every_number_it_leaves_K_behind_stale()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        for (uint n = 1; n <= K; n++)
        {
            bench.Exchange(Wire(s, n, Program, ProgramOne(12, (ushort)n)));
        }

        bench.Exchange(Wire(s, K + 5, Program, ProgramOne(12, K + 5)));

        // Newest K + 5: 1 to 5 are K or more behind, 6 is K - 1 behind.
        Assert.All(Enumerable.Range(1, 5), n => Assert.Equal(StatusCode.StaleSequence, bench.StatusOf(Wire(s, (uint)n, Program, ProgramOne(12, (ushort)n)))));
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, bench.Exchange(Wire(s, 6, Program, ProgramOne(12, 6)))!.Value.Flags);
        Assert.All(Enumerable.Range(1, K), n => Assert.Equal(1, bench.Executions(12, (ushort)n)));
    }

    /// <summary>
    /// Section 5, STATUS in version 2: what ran outside a session (OPEN, IDENTIFY) counts in executed, a NO_SESSION refusal
    /// does not; every valid request counts in frames_received.
    /// </summary>
    [Fact]
    public void Requests_outside_a_session_count_in_executed_only_when_they_ran()
    {
        var bench = new Bench();
        ushort s = bench.OpenSession(1, write: true).Session;
        Assert.Equal(StatusCode.Ok, bench.StatusOf(Wire(0, 2, Identify, [])));
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(0, 3, Program, ProgramOne(13, 1))));
        Assert.Equal(StatusCode.NoSession, bench.StatusOf(Wire(unchecked((ushort)(s + 1)), 4, Program, ProgramOne(13, 2))));

        byte[] status = bench.Exchange(Wire(0, 5, Status, []))!.Value.Payload.ToArray();

        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(17)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(status.AsSpan(33)));
    }

    /// <summary>
    /// Section 7: a board answers at most max_response bytes. A READ whose answer is exactly that long runs; one cell more
    /// is BATCH_TOO_LARGE, though a frame could carry it.
    /// </summary>
    [Fact]
    public void A_READ_answering_exactly_max_response_runs_and_one_cell_more_is_refused()
    {
        var bench = new Bench(info => info with { MaxResponse = 2 + 4 * 10 });
        ushort s = bench.OpenSession(1, write: true).Session;
        static byte[] Row(ushort columns) => [1, 1, 0, 0, 0, 0, 0, 0, 1, 0, (byte)columns, 0];

        Frame ten = bench.Exchange(Wire(s, 1, Read, Row(10)))!.Value;
        Assert.Equal(StatusCode.BatchTooLarge, bench.StatusOf(Wire(s, 2, Read, Row(11))));

        Assert.Equal(StatusCode.Ok, (StatusCode)ten.Status);
        Assert.Equal(42, ten.Payload.Length);
    }

    /// <summary>
    /// Section 3: session 0 means "no session", and ids of sessions held are distinct. Opening 70,000 sessions one after
    /// another (each evicting the idlest) runs the id counter through every value and past its wrap.
    /// </summary>
    [Fact]
    public void Session_ids_are_never_0_and_never_one_already_held()
    {
        var bench = new Bench();
        for (uint n = 1; n <= 70_000; n++)
        {
            bench.Time.Advance(TimeSpan.FromMilliseconds(1));
            bench.OpenSession(n, write: false, sequence: n);
        }
        var held = new HashSet<ushort>();
        for (ulong n = 70_000; held.Count < bench.Device.Info.MaxSessions; n--)
        {
            Assert.True(held.Add(bench.OpenSession(n, write: false, sequence: (uint)n).Session));
        }
    }
}
