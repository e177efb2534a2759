using System.Net;
using System.Text.Json.Nodes;
using Swim.Emulator.Faults;
using Swim.Transports;
using Swim.Controller.Cli;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Emulator;

public sealed class EmulatorHostTests
{
    private static EmulatedBoard Board(string preset = "rram", string geometry = "2x64x64", ulong seed = 1) =>
        new(DevicePreset.ByName(preset), BoardGeometry.Parse(geometry), seed);

    [LinuxFact]
    public async Task A_real_serial_port_talks_to_the_emulators_virtual_serial_port()
    {
        await using var host = new EmulatorHost(Board());
        string path = host.OpenSerialPort();

        await using var client = new BoardClient(SerialTransport.Open(path, 3_000_000));
        BoardInfo info = await client.IdentifyAsync();
        VerifyOutcome[] outcomes = await client.ProgramVerifyAsync(Enumerable.Range(0, 100)
            .Select(i => new VerifyTarget(new CellAddress(0, (ushort)(i / 64), (ushort)(i % 64)), 20f, 0.5f, 30)).ToArray());
        float[] reads = await client.ReadAsync([new CellAddress(0, 0, 0)], samples: 4);

        Assert.StartsWith("/dev/pts/", path);
        Assert.Equal("rram", info.DeviceModel);
        Assert.True(outcomes.Count(o => o.Status == StatusCode.Ok) >= 95);
        Assert.InRange(reads[0], 18.5f, 21.5f);
    }

    [Fact]
    public async Task Every_conformance_vector_request_gets_a_well_formed_answer_from_the_emulator()
    {
        await using var host = new EmulatorHost(new EmulatedBoard(DevicePreset.Rram, BoardGeometry.Parse("4x512x512"), 3, protocolVersion: ProtocolConstants.Version1));
        ByteTransport link = host.ConnectInProcess();
        JsonArray vectors = JsonNode.Parse(File.ReadAllText(Controller.BundledAssets.Require("firmware-spec/conformance-vectors.json")))!["vectors"]!.AsArray();
        var decoder = new FrameDecoder();
        var buffer = new byte[65536];
        int answered = 0;
        // Version 1 frames to a version 1 board; version 2's sessions have their rules checked in SessionRuleTests.
        foreach (JsonNode? vector in vectors.Where(v => (string)v!["direction"]! == "host-to-board" && (int)v["version"]! == 1))
        {
            await link.WriteAsync(Convert.FromHexString((string)vector!["wire_hex"]!), CancellationToken.None);
            Frame? response = null;
            while (response is null)
            {
                int read = await link.ReadAsync(buffer, CancellationToken.None);
                Frame? decoded = DecodeOne(decoder, buffer.AsSpan(0, read));
                response = decoded;
            }
            Assert.True(response.Value.IsResponse);
            Assert.Equal((uint)vector["sequence"]!, response.Value.Sequence);
            Assert.Equal((int)vector["opcode"]!, response.Value.Opcode);
            // OK, or the refusal the file pairs with the request (its response vector of the same sequence number).
            JsonNode? paired = vectors.FirstOrDefault(v => (string)v!["direction"]! == "board-to-host" && (uint)v["sequence"]! == (uint)vector["sequence"]!);
            Assert.True((int)(paired?["status"] ?? 0) == response.Value.Status, $"{vector["name"]}: status {response.Value.Status}");
            if (response.Value.Status == (byte)StatusCode.Ok)
            {
                BoardResponse.Decode((Opcode)response.Value.Opcode, response.Value.Payload.Span);
            }
            answered++;
        }
        Assert.Equal(15, answered);
        await link.DisposeAsync();
    }

    private static Frame? DecodeOne(FrameDecoder decoder, ReadOnlySpan<byte> input)
    {
        Frame? result = null;
        while (decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
        {
            Assert.Equal(FrameError.None, error);
            result = new Frame(frame.Version, frame.Flags, frame.Sequence, frame.Opcode, frame.Status, frame.Payload.ToArray());
        }
        return result;
    }

    [Fact]
    public async Task The_board_refuses_bad_addresses_pulses_and_targets_before_touching_any_cell()
    {
        EmulatedBoard board = Board();
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        await client.IdentifyAsync();

        BoardException address = await Assert.ThrowsAsync<BoardException>(() => client.ProgramAsync([new ProgramTarget(new CellAddress(0, 0, 0), TargetKind.Level, 1), new ProgramTarget(new CellAddress(5, 0, 0), TargetKind.Level, 1)]));
        Assert.Equal(StatusCode.OutOfRange, address.Status);
        BoardException soa = await Assert.ThrowsAsync<BoardException>(() => client.WritePulsesAsync([new Pulse(new CellAddress(0, 0, 1), PulsePolarity.Set, 1f, 100), new Pulse(new CellAddress(0, 0, 2), PulsePolarity.Set, 9f, 100)]));
        Assert.Equal(StatusCode.OutsideSafeOperatingArea, soa.Status);
        StatusCode[] levels = await client.ProgramAsync([
            new ProgramTarget(new CellAddress(0, 0, 3), TargetKind.Level, 9),
            new ProgramTarget(new CellAddress(0, 0, 3), TargetKind.Level, 1.5f),
            new ProgramTarget(new CellAddress(0, 0, 3), TargetKind.Conductance, float.NaN)]);
        Assert.Equal([StatusCode.OutOfRange, StatusCode.OutOfRange, StatusCode.OutOfRange], levels);
        VerifyOutcome[] verify = await client.ProgramVerifyAsync([
            new VerifyTarget(new CellAddress(0, 0, 4), float.NaN, 1f, 10),
            new VerifyTarget(new CellAddress(0, 0, 4), 1e6f, 1f, 10)]);
        Assert.All(verify, o => Assert.Equal((StatusCode.OutOfRange, 0, 0), (o.Status, (int)o.Iterations, (int)o.Pulses)));
        BoardException tolerance = await Assert.ThrowsAsync<BoardException>(() => client.ProgramVerifyAsync([new VerifyTarget(new CellAddress(0, 0, 4), 50f, float.NaN, 10)]));
        Assert.Equal(StatusCode.OutOfRange, tolerance.Status);

        CellCounters[] counters = await client.CountersAsync([new CellAddress(0, 0, 0), new CellAddress(0, 0, 1), new CellAddress(0, 0, 2), new CellAddress(0, 0, 3), new CellAddress(0, 0, 4)]);
        Assert.All(counters, c => Assert.Equal(0u, c.Pulses));
        Assert.Equal(0u, counters[4].Reads);
    }

    [Fact]
    public async Task Status_and_counters_report_device_time_pulses_and_reads()
    {
        EmulatedBoard board = Board();
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        CellAddress cell = new(1, 2, 3);

        VerifyOutcome[] outcome = await client.ProgramVerifyAsync([new VerifyTarget(cell, 30f, 0.4f, 40)]);
        CellCounters counters = (await client.CountersAsync([cell]))[0];
        BoardStatus status = await client.StatusAsync();

        DevicePreset p = DevicePreset.Rram;
        Assert.Equal(outcome[0].Pulses, counters.Pulses);
        // Every verify read averages the loop's samples: one before the first pulse and one after each.
        Assert.Equal((outcome[0].Iterations + 1u) * (uint)p.Verify.ReadSamples, counters.Reads);
        Assert.Equal(counters.Pulses * (ulong)p.PulseNs + counters.Reads * (ulong)p.ReadNs + outcome[0].Iterations * (ulong)p.VerifyOverheadNs, counters.DeviceTimeNs);
        Assert.Equal((ulong)board.Cells.ClockNs, status.DeviceTimeNs);
        Assert.Equal(counters.Pulses, status.Pulses);
        Assert.Equal((ulong)outcome[0].Iterations, status.VerifyIterations);
    }

    [Fact]
    public async Task A_brown_out_keeps_conductances_and_loses_the_response_cache_and_counters()
    {
        // Raw frames, so no client retransmission can muddle which answers came from the cache; version 1, whose cache is the board's.
        EmulatedBoard board = new(DevicePreset.ByName("paper"), BoardGeometry.Parse("2x64x64"), 1, protocolVersion: ProtocolConstants.Version1);
        await using var host = new EmulatorHost(board);
        ByteTransport link = host.ConnectInProcess();
        var decoder = new FrameDecoder();
        var buffer = new byte[4096];
        CellAddress cell = new(0, 5, 5);
        byte[] read = FrameEncoder.Encode(FrameFlags.None, 500, (byte)Opcode.Read, 0, ReadRequest.Cells([cell]).ToPayload());
        async Task<Frame> Send(byte[] frame)
        {
            await link.WriteAsync(frame, CancellationToken.None);
            Frame? answer = null;
            while (answer is null)
            {
                answer = DecodeOne(decoder, buffer.AsSpan(0, await link.ReadAsync(buffer, CancellationToken.None)));
            }
            return answer.Value;
        }
        board.Cells.Program(board.IndexOf(cell), 60);
        double before = board.Cells.TrueConductance(board.IndexOf(cell));

        Frame first = await Send(read);
        Frame again = await Send(read);
        host.BrownOut();
        Frame afterBrownOut = await Send(read);

        Assert.Equal(before, board.Cells.TrueConductance(board.IndexOf(cell)));
        Assert.Equal(FrameFlags.Response, first.Flags);
        Assert.Equal(FrameFlags.Response | FrameFlags.Replayed, again.Flags);
        // The same sequence number after the brown-out is executed afresh: the cache is gone.
        Assert.Equal(FrameFlags.Response, afterBrownOut.Flags);
        Assert.Equal(before, BitConverter.ToSingle(afterBrownOut.Payload.Span[2..]), 1e-4);
        Assert.Equal(1u, board.Cells.CountersOf(board.IndexOf(cell)).Reads);
        await link.DisposeAsync();
    }

    [Fact]
    public void State_files_restore_the_board_exactly_and_truncated_ones_are_refused()
    {
        using var dir = new TempDirectory();
        EmulatedBoard board = Board("pcm", "1x32x32", 4);
        for (int i = 0; i < 200; i++)
        {
            board.Cells.Program(i, 10 + i % 7);
            VerifyLoop.Run(board.Cells, i, 12, 0.3f, 20);
            // Writes seconds apart within a block of cells, so their write times are held at a float's precision.
            board.Cells.Wait(TimeSpan.FromSeconds(i % 3));
        }
        board.Cells.ClearCounters();
        board.Cells.Read(5, samples: 300);
        string path = dir.File("board.state");

        BoardStateFile.Save(board, path);
        EmulatedBoard restored = BoardStateFile.Load(path);

        Assert.Equal(board.Cells.ClockNs, restored.Cells.ClockNs);
        Assert.Equal(board.Cells.ResidentBytes, restored.Cells.ResidentBytes);
        Assert.All(Enumerable.Range(0, 1024), i => Assert.Equal(board.Cells.TrueConductance(i), restored.Cells.TrueConductance(i)));
        Assert.All(Enumerable.Range(0, 1024), i => Assert.Equal(board.Cells.CountersOf(i), restored.Cells.CountersOf(i)));
        // Going on the same way from both: every draw, age and wear count came back, not only the conductances.
        foreach (EmulatedBoard b in new[] { board, restored })
        {
            b.Cells.Wait(TimeSpan.FromSeconds(40));
            for (int i = 0; i < 300; i++)
            {
                b.Cells.Pulse(i, PulsePolarity.Set, 2.5f, 500);
            }
        }
        Assert.All(Enumerable.Range(0, 1024), i => Assert.Equal(board.Cells.Read(i), restored.Cells.Read(i)));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..500]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => BoardStateFile.Load(path)).Message);
    }

    [Fact]
    public async Task Injected_fault_rates_match_the_configuration()
    {
        var profile = new FaultProfile(Drop: 0.1, Corrupt: 0.05, Duplicate: 0.02, Delay: 0.03, MaxDelay: TimeSpan.FromMilliseconds(1), Garbage: 0.01);
        (ByteTransport a, ByteTransport b) = InMemoryLink.CreatePair();
        var faulty = new FaultInjectingTransport(a, profile, seed: 8);
        const int Frames = 10_000;
        byte[] frame = FrameEncoder.Encode(FrameFlags.None, 1, 8, 0, []);
        for (int i = 0; i < Frames; i++)
        {
            await faulty.WriteAsync(frame, CancellationToken.None);
        }
        var injected = faulty.Injected;
        static void Near(long count, double rate, string what) =>
            Assert.True(Math.Abs(count - Frames * rate) <= 4 * Math.Sqrt(Frames * rate * (1 - rate)), $"{what}: {count} of {Frames} at rate {rate}");
        Assert.Equal(Frames, injected.Frames);
        Near(injected.Dropped, 0.1, "dropped");
        // Corruption, duplication and delay apply to frames that were not dropped.
        Near(injected.Corrupted, 0.05 * 0.9, "corrupted");
        Near(injected.Duplicated, 0.02 * 0.9, "duplicated");
        Near(injected.Delayed, 0.03 * 0.9, "delayed");
        Near(injected.Garbage, 0.01, "garbage");
        await faulty.DisposeAsync();
        await b.DisposeAsync();
    }

    [Fact]
    public async Task The_emulator_command_serves_tcp_on_loopback_and_saves_its_state_when_stopped()
    {
        using var dir = new TempDirectory();
        string state = dir.File("emu.state");
        var output = new SynchronizedWriter();
        var error = new SynchronizedWriter();
        using var stop = new CancellationTokenSource();
        // --duration is only a backstop: the test stops the emulator itself once it is done with it.
        Task<int> run = Task.Run(() => SwimCommandLine.RunAsync(["emulator", "--tcp", "127.0.0.1:0", "--geometry", "1x16x16", "--duration", "120", "--state", state], output, error, stop.Token));
        IPEndPoint? endpoint = null;
        for (int i = 0; i < 400 && endpoint is null; i++)
        {
            await Task.Delay(50);
            string text = output.ToString();
            int at = text.IndexOf("emulator: tcp ", StringComparison.Ordinal);
            if (at >= 0)
            {
                endpoint = IPEndPoint.Parse(text[(at + 14)..].Split('\n')[0].Trim());
            }
        }
        Assert.NotNull(endpoint);
        Assert.True(IPAddress.IsLoopback(endpoint.Address));
        await using (var client = new BoardClient(await TcpTransport.ConnectAsync("127.0.0.1", endpoint.Port)))
        {
            Assert.Equal(16, (await client.IdentifyAsync()).Rows);
            await client.ProgramAsync([new ProgramTarget(new CellAddress(0, 1, 1), TargetKind.Level, 2)]);
        }
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Success, await run);
        Assert.Contains("state saved", output.ToString());
        Assert.Equal(1u, BoardStateFile.Load(state).Cells.CountersOf(17).Pulses);
    }

    /// <summary>A writer two threads can share: the command writes while the test polls.</summary>
    private sealed class SynchronizedWriter : StringWriter
    {
        private readonly Lock _gate = new();

        public override void Write(char value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_gate)
            {
                base.Write(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                base.WriteLine(value);
            }
        }

        public override string ToString()
        {
            lock (_gate)
            {
                return base.ToString();
            }
        }
    }

    [Fact]
    public void A_counter_clearing_reset_restarts_device_time_too_while_the_arrays_clock_runs_on()
    {
        var board = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(1, 8, 8), 3);
        board.Execute(new ProgramRequest([new ProgramTarget(new CellAddress(0, 1, 1), TargetKind.Level, 3)]));
        Assert.True(board.Counters.DeviceTimeNs > 0);
        long clock = board.Cells.ClockNs;

        board.Reset(clearCounters: true);

        Assert.Equal(0ul, board.Counters.DeviceTimeNs);
        Assert.Equal(0ul, board.Counters.Pulses);
        Assert.Equal(clock, board.Cells.ClockNs);
        board.Execute(ReadRequest.Cells([new CellAddress(0, 1, 1)]));
        Assert.Equal((ulong)DevicePreset.Rram.ReadNs, board.Counters.DeviceTimeNs);
    }

    /// <summary>The spec's rule for max_payload and max_batch, met by the emulator: every command of max_batch items fits a frame both ways.</summary>
    [Fact]
    public void Every_command_of_max_batch_items_fits_the_emulators_max_payload_and_its_answer_a_frame()
    {
        BoardInfo info = new EmulatedBoard(DevicePreset.Rram, BoardGeometry.Default, 1).Info;
        CellAddress cell = new(0, 0, 0);
        int n = info.MaxBatch;
        BoardRequest[] widest =
        [
            ReadRequest.Cells([.. Enumerable.Repeat(cell, n)]),
            new WritePulseRequest([.. Enumerable.Repeat(new Pulse(cell, PulsePolarity.Set, 1f, 100), n)]),
            new ProgramRequest([.. Enumerable.Repeat(new ProgramTarget(cell, TargetKind.Level, 0), n)]),
            new ProgramVerifyRequest([.. Enumerable.Repeat(new VerifyTarget(cell, 10f, 1f, 1), n)]),
            new CountersRequest([.. Enumerable.Repeat(cell, n)]),
        ];
        Assert.All(widest, r => Assert.True(r.PayloadLength <= info.MaxPayload && r.MaxResponseLength <= ProtocolConstants.MaxPayloadLength,
            $"{r.Opcode} of {n}: {r.PayloadLength} bytes (max_payload {info.MaxPayload}), answer up to {r.MaxResponseLength}"));
    }

    [Fact]
    public void Bad_emulator_options_exit_with_bad_input()
    {
        CliRun geometry = CliRun.Of("emulator", "--geometry", "8x0x256", "--duration", "0.1");
        Assert.Equal(ExitCodes.BadInput, geometry.ExitCode);
        Assert.Contains("TILESxROWSxCOLUMNS", geometry.Error);
        CliRun faults = CliRun.Of("emulator", "--faults", "drop=7", "--duration", "0.1");
        Assert.Equal(ExitCodes.BadInput, faults.ExitCode);
        CliRun stuck = CliRun.Of("emulator", "--stuck-rate", "-0.1", "--duration", "0.1");
        Assert.Equal(ExitCodes.BadInput, stuck.ExitCode);
        Assert.Contains("--stuck-rate must be a fraction of cells in [0, 1]", stuck.Error);
        CliRun baud = CliRun.Of("emulator", "--baud", "-9600", "--duration", "0.1");
        Assert.Equal(ExitCodes.BadInput, baud.ExitCode);
        Assert.Contains("--baud -9600: give a line rate in baud above 0", baud.Error);
        Assert.DoesNotContain("emulator: tcp", baud.Output);
    }
}
