using System.Diagnostics;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Benchmarks;

/// <summary>
/// PROGRAM_VERIFY traffic through the in-memory transport with each direction paced as a 3,000,000-baud UART
/// (300,000 bytes/s): cells per second and link utilisation, i.e. request payload bytes over the host-to-board
/// line's capacity for the elapsed time. The board answers instantly, so the link is the only limit.
/// Target: at least 80 % with pipelining and batching; stop-and-wait is the baseline.
/// </summary>
public static class LinkUtilisation
{
    private const int Baud = 3_000_000;
    private const double BytesPerSecond = Baud / 10.0;

    public static async Task<int> RunAsync(TextWriter output)
    {
        output.WriteLine($"link modelled at {Baud:N0} baud, 8N1 ({BytesPerSecond:N0} bytes/s each way); board answers instantly");
        output.WriteLine("mode                                   cells   seconds   cells/s    req payload   utilisation");
        await Measure(output, "stop-and-wait, 1 cell per frame", cells: 2_000, cellsPerFrame: 1, window: 1);
        await Measure(output, "stop-and-wait, 255 cells per frame", cells: 20_000, cellsPerFrame: 255, window: 1);
        await Measure(output, "pipelined (window 16), 1 cell per frame", cells: 5_000, cellsPerFrame: 1, window: 16);
        await Measure(output, "pipelined (window 16), 255 cells/frame", cells: 40_000, cellsPerFrame: 255, window: 16);
        return 0;
    }

    private static async Task Measure(TextWriter output, string mode, int cells, int cellsPerFrame, int window)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair(Baud);
        using var stop = new CancellationTokenSource();
        var endpoint = new BoardEndpoint(new InstantDevice((ushort)cellsPerFrame));
        Task served = Task.Run(() => endpoint.ServeAsync(board, stop.Token));
        await using (var client = new BoardClient(host, new BoardClientOptions { Window = window, AttemptTimeout = TimeSpan.FromSeconds(5) }))
        {
            await client.IdentifyAsync();
            VerifyTarget[] targets = Enumerable.Range(0, cells)
                .Select(i => new VerifyTarget(new CellAddress(0, (ushort)(i / 256 % 256), (ushort)(i % 256)), 50f, 0.5f, 20)).ToArray();
            var clock = Stopwatch.StartNew();
            VerifyOutcome[] outcomes = await client.ProgramVerifyAsync(targets);
            double seconds = clock.Elapsed.TotalSeconds;
            if (outcomes.Length != cells)
            {
                throw new InvalidOperationException("lost outcomes");
            }
            int frames = (cells + cellsPerFrame - 1) / cellsPerFrame;
            long payload = (long)cells * VerifyTarget.WireLength + 2L * frames;
            output.WriteLine($"{mode,-38} {cells,6} {seconds,9:F3} {cells / seconds,9:N0} {payload,12:N0} {payload / (seconds * BytesPerSecond),12:P1}");
        }
        await stop.CancelAsync();
        await board.DisposeAsync();
    }

    /// <summary>A board whose cells converge at once: the link, not the device, sets the pace.</summary>
    private sealed class InstantDevice(ushort maxBatch) : IBoardDevice
    {
        public BoardInfo Info { get; } = new(ProtocolConstants.Version, 1, 0, 0, "BENCH", 1, 256, 256, 16, 1f, 100f, 0.01f,
            new SafeOperatingArea(0.3f, 3.3f, 10, 1_000_000), Math.Max(maxBatch, (ushort)1), 4096, 64, 1000, 100, 1500,
            BoardCapabilities.ProgramVerify | BoardCapabilities.Batch, "bench");

        public DeviceCounters Counters => default;

        public BoardResponse Execute(BoardRequest request) => request switch
        {
            IdentifyRequest => new IdentifyResponse(Info),
            ProgramVerifyRequest verify => new ProgramVerifyResponse(verify.Targets.Select(t => new VerifyOutcome(StatusCode.Ok, 1, 1, t.TargetMicrosiemens)).ToArray()),
            _ => throw new BoardStatusException(StatusCode.UnknownOpcode, "not benchmarked"),
        };

        public void Reset(bool clearCounters) { }
    }
}
