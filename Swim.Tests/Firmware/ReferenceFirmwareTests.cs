using System.Diagnostics;
using System.Text.Json.Nodes;
using Swim.Controller;
using Swim.Controller.Cli;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;
using Swim.Transports;

namespace Swim.Tests.Firmware;

/// <summary>
/// The reference firmware (firmware/, portable C) built and run as a lab would: its host build over a simulated array,
/// driven by the conformance vectors, by <c>swim program</c> over a pseudo-terminal with link faults and a killed
/// controller, and by its own fuzzer; its Cortex-M4 build measured against the 32 KB flash and 16 KB RAM.
/// </summary>
public sealed class ReferenceFirmwareTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Each request vector: a version 1 frame is answered BAD_VERSION in version 1's framing (section 3.7); its payload
    /// sent again in a version 2 session gets the status the file pairs with it (OK where it pairs none) and an
    /// answer Swim's decoder reads. The board reads rectangles a row at a time (the other tests read cell by cell).
    /// </summary>
    [FirmwareFact]
    public async Task The_host_build_serves_every_conformance_vector()
    {
        await using FirmwareBoard board = await FirmwareBoard.StartAsync(_dir.File("audit.json"), "4x512x512", tcp: true, rowReads: true);
        await using ByteTransport link = await TcpTransport.ConnectAsync("127.0.0.1", board.TcpPort);
        var exchange = new Exchange(link);
        JsonArray vectors = JsonNode.Parse(File.ReadAllText(BundledAssets.Require("firmware-spec/conformance-vectors.json")))!["vectors"]!.AsArray();
        // The session is the one the file's OPEN asks for: sent again among the vectors, it must answer the same session.
        byte[] openPayload = Convert.FromHexString((string)vectors.Single(v => (string)v!["name"]! == "open-request")!["payload_hex"]!);
        Frame open = await exchange.SendAsync(FrameEncoder.Encode(FrameFlags.None, 1, (byte)Opcode.Open, 0, openPayload, version: 2));
        Assert.Equal((byte)StatusCode.Ok, open.Status);
        ushort session = ((OpenResponse)BoardResponse.Decode(Opcode.Open, open.Payload.Span)).Session;
        uint sequence = 1;
        int served = 0;
        foreach (JsonNode? vector in vectors.Where(v => (string)v!["direction"]! == "host-to-board"))
        {
            string name = (string)vector!["name"]!;
            var opcode = (Opcode)(int)vector["opcode"]!;
            int version = (int)vector["version"]!;
            if (version == 1)
            {
                Frame refusal = await exchange.SendAsync(Convert.FromHexString((string)vector["wire_hex"]!));
                Assert.True((refusal.Version, refusal.Status, refusal.Opcode, refusal.Sequence) == (1, (byte)StatusCode.BadVersion, 0, (uint)vector["sequence"]!),
                    $"{name}: a version 1 frame got version {refusal.Version} status {refusal.Status}");
            }
            byte[] payload = Convert.FromHexString((string)vector["payload_hex"]!);
            ushort inSession = opcode == Opcode.Open ? (ushort)0 : session;
            Frame answer = await exchange.SendAsync(FrameEncoder.Encode(FrameFlags.None, ++sequence, (byte)opcode, 0, payload, version: 2, session: inSession));
            JsonNode? paired = vectors.FirstOrDefault(v => (string)v!["direction"]! == "board-to-host" && (int)v["version"]! == version
                && (uint)v["sequence"]! == (uint)vector["sequence"]! && (int)v["opcode"]! == (int)opcode);
            Assert.True((int)(paired?["status"] ?? 0) == answer.Status, $"{name}: status {answer.Status}");
            Assert.True(answer.IsResponse && answer.Session == inSession && answer.Sequence == sequence, name);
            if (answer.Status == (byte)StatusCode.Ok)
            {
                BoardResponse reply = BoardResponse.Decode(opcode, answer.Payload.Span);
                Assert.True(reply is not OpenResponse reopened || reopened.Session == session, $"{name}: a repeated OPEN opened another session");
            }
            served++;
        }
        Assert.Equal(vectors.Count(v => (string)v!["direction"]! == "host-to-board"), served);
    }

    /// <summary>
    /// <c>swim program</c> of the bundled LeNet-5 through a pseudo-terminal whose board side drops, damages, duplicates,
    /// delays and garbles frames both ways, with the controller killed (SIGKILL) part-way and resumed by a new one: the
    /// board's own record shows every cell programmed once and every selected cell verified once, as many as an
    /// undisturbed session over TCP programs and verifies.
    /// </summary>
    [FirmwareFact]
    [Trait("Speed", "Slow")]
    public async Task Swim_program_through_a_pseudo_terminal_runs_every_cell_once_under_faults_and_a_kill()
    {
        JsonNode reference;
        await using (FirmwareBoard clean = await FirmwareBoard.StartAsync(_dir.File("clean.json"), "16x256x256", tcp: true))
        {
            CliRun run = await Task.Run(() => CliRun.Of(Args($"tcp:127.0.0.1:{clean.TcpPort}", _dir.File("clean.db"), _dir.File("clean.onnx"))));
            Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
            reference = await clean.StopAsync();
        }
        Assert.Equal(0, (int)reference["programmed"]![2]!);

        await using FirmwareBoard board = await FirmwareBoard.StartAsync(_dir.File("audit.json"), "16x256x256", pty: true, seed: 2,
            faults: "drop=0.01,corrupt=0.01,duplicate=0.005,delay=0.01,maxdelay=50ms,garbage=0.001");
        string journal = _dir.File("session.db"), output = _dir.File("programmed.onnx");
        string[] args = Args($"serial:{board.PseudoTerminal}", journal, output);
        using (Process controller = ControllerProcess.Start(args))
        {
            // Killed once a third of the cells are programmed: inside the open-loop phase, commands in flight.
            while ((int)(await board.AuditAsync())["programmed"]![1]! < (int)reference["programmed"]![1]! / 3)
            {
                Assert.False(controller.HasExited, "the controller finished before it could be killed");
                await Task.Delay(20);
            }
            controller.Kill(entireProcessTree: true);
            await controller.WaitForExitAsync();
        }
        Assert.False(File.Exists(output), "a killed session must not leave a programmed model");

        CliRun resumed = await Task.Run(() => CliRun.Of([.. args, "--resume"]));
        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.Error);
        JsonNode audit = await board.StopAsync();
        Assert.True((int)audit["programmed"]![2]! == 0 && (int)audit["verified"]![2]! == 0, $"cells run twice: {audit.ToJsonString()}");
        Assert.Equal((int)reference["programmed"]![1]!, (int)audit["programmed"]![1]!);
        Assert.Equal((int)reference["verified"]![1]!, (int)audit["verified"]![1]!);
        Assert.True((int)audit["faults"]!["dropped"]! > 0 && (int)audit["faults"]!["delayed"]! > 0, audit.ToJsonString());
        Assert.True(File.Exists(output));
    }

    /// <summary>
    /// A board as small as the Cortex-M4 build (answers of at most 160 bytes, K = 32, two sessions): the controller
    /// splits every command so that its answer fits, and the session programs every cell once.
    /// </summary>
    [FirmwareFact]
    [Trait("Speed", "Slow")]
    public async Task Swim_program_fits_its_commands_to_a_board_with_the_cortex_m4_limits()
    {
        await using FirmwareBoard board = await FirmwareBoard.StartAsync(_dir.File("audit.json"), "16x256x256", tcp: true, cortexM4Limits: true);
        CliRun run = await Task.Run(() => CliRun.Of(Args($"tcp:127.0.0.1:{board.TcpPort}", _dir.File("session.db"), _dir.File("programmed.onnx"))));
        Assert.True(run.ExitCode == ExitCodes.Success, run.Error);
        JsonNode audit = await board.StopAsync();
        Assert.True((int)audit["programmed"]![2]! == 0 && (int)audit["verified"]![2]! == 0, audit.ToJsonString());
        Assert.True((int)audit["programmed"]![1]! > 400_000, audit.ToJsonString());
    }

    [FirmwareFact]
    public async Task The_core_survives_fuzzed_frames_under_the_sanitizers_with_every_number_run_once()
    {
        string build = FirmwareBuild.Require("fuzz");
        (int code, string output) = await ChildProcess.RunAsync(Path.Combine(build, "swim-fuzz"), _dir.Path, "200000", "3");
        Assert.True(code == 0, output);
        Assert.Contains("200000 frames", output, StringComparison.Ordinal);
        Assert.Contains(", 0 violations", output, StringComparison.Ordinal);
    }

    /// <summary>The Cortex-M4 build (K = 32, two sessions) in at most 32 KB of flash and 16 KB of RAM, stack included.</summary>
    [CortexM4Fact]
    public void The_cortex_m4_build_fits_32_kb_of_flash_and_16_kb_of_ram()
    {
        string build = FirmwareBuild.Require("m4");
        Dictionary<string, int> sections = File.ReadAllLines(Path.Combine(build, "cortex-m4", "size.txt"))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        int flash = sections[".text"] + sections[".data"], ram = sections[".data"] + sections[".bss"] + sections[".stack"];
        Assert.InRange(flash, 1, 32 * 1024);
        Assert.InRange(ram, 1, 16 * 1024);
    }

    private static string[] Args(string board, string journal, string output) =>
        ["program", BundledAssets.Require(BundledAssets.LeNetModel), "--board", board, "--calib", BundledAssets.Require(BundledAssets.MnistData),
         "--samples", "256", "--method", "swim", "--ratio", "0.1", "--journal", journal, "--out", output, "--quiet"];


    /// <summary>One request, one answer, over a raw link: what a firmware engineer's bench script does.</summary>
    private sealed class Exchange(ByteTransport link)
    {
        private readonly FrameDecoder _decoder = new();
        private readonly byte[] _buffer = new byte[1 << 17];
        private readonly Queue<Frame> _frames = new();

        public async Task<Frame> SendAsync(byte[] wire)
        {
            await link.WriteAsync(wire, CancellationToken.None);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (_frames.Count == 0)
            {
                int read = await link.ReadAsync(_buffer, limit.Token);
                Assert.True(read > 0, "the board closed the link");
                ReadOnlySpan<byte> input = _buffer.AsSpan(0, read);
                while (_decoder.TryDecode(ref input, out Frame frame, out FrameError error, out _))
                {
                    Assert.Equal(FrameError.None, error);
                    _frames.Enqueue(frame with { Payload = frame.Payload.ToArray() });
                }
            }
            return _frames.Dequeue();
        }
    }
}
