using System.Diagnostics;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Faults;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Exactly-once, checked from the board: a host sends WRITE_PULSE requests of 1, 8 and 255 cells as fast as it can
/// through the emulator's full fault set both ways (drops, corruption, duplicates, delays that reorder frames, line
/// noise), while a second host polls STATUS in a read-only session. Afterwards every cell's pulse counter on the board
/// is compared with the number of requests that named it: a cell with more pulses than that was pulsed twice. A
/// request the host gave up on may or may not have run, so its cells may be one short, never one over. Version 1
/// runs beside it, the same way, as the reference the sessions replace.
/// </summary>
public static class ExactlyOnce
{
    private static readonly FaultProfile s_faults = new(Drop: 0.01, Corrupt: 0.01, Duplicate: 0.01, Delay: 0.01, MaxDelay: TimeSpan.FromMilliseconds(50), Garbage: 0.001);

    public static async Task<int> RunAsync(TextWriter output, int requests, int seed)
    {
        output.WriteLine($"faults both ways: drop, corrupt, duplicate and delay 1 % each (delays up to 50 ms, which reorder), garbage 0.1 %; a read-only monitor polls STATUS throughout");
        output.WriteLine("protocol  cells/request   requests    wall s   requests/s  retransmits    replays  gave up  cells pulsed twice  cells short  monitor polls");
        int violations = 0;
        foreach (int cells in new[] { 1, 8, 255 })
        {
            violations += await RunOneAsync(output, ProtocolConstants.Version2, cells, requests, seed).ConfigureAwait(false);
        }
        foreach (int cells in new[] { 1, 8 })
        {
            // The reference: version 1's distance rule under the same faults, a tenth as long.
            await RunOneAsync(output, ProtocolConstants.Version1, cells, Math.Max(1, requests / 10), seed).ConfigureAwait(false);
        }
        output.WriteLine(violations == 0 ? "version 2: no cell pulsed twice" : $"version 2: {violations} cells pulsed twice");
        return violations == 0 ? 0 : 1;
    }

    private static async Task<int> RunOneAsync(TextWriter output, byte version, int cellsPerRequest, int requests, int seed)
    {
        var board = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(4, 512, 512), (ulong)seed, protocolVersion: version);
        await using var host = new EmulatorHost(board, s_faults, seed);
        int cellCount = (int)board.Geometry.CellCount;
        var expected = new int[cellCount];
        var unknown = new int[cellCount];
        var options = new BoardClientOptions
        {
            Window = 64, AttemptTimeout = TimeSpan.FromMilliseconds(100), MaxRetries = 40, BackoffBase = TimeSpan.FromMilliseconds(2),
            MaxBackoff = TimeSpan.FromMilliseconds(20), BreakerMinimumThroughput = int.MaxValue, Protocol = version,
        };
        await using var writer = new BoardClient(host.ConnectInProcess(), options);
        BoardInfo info = await writer.IdentifyAsync().ConfigureAwait(false);
        using var stopMonitor = new CancellationTokenSource();
        Task<long> monitor = MonitorAsync(host, version, stopMonitor.Token);
        var clock = Stopwatch.StartNew();
        int gaveUp = 0;
        var inFlight = new Queue<(Task Sent, int First)>();
        for (int i = 0; i < requests; i++)
        {
            int first = (int)((long)i * cellsPerRequest % cellCount);
            inFlight.Enqueue((writer.SendAsync<WritePulseResponse>(Pulses(board, info, first, cellsPerRequest)), first));
            for (int c = 0; c < cellsPerRequest; c++)
            {
                expected[(first + c) % cellCount]++;
            }
            while (inFlight.Count >= 2 * options.Window || (i == requests - 1 && inFlight.Count > 0))
            {
                (Task sent, int start) = inFlight.Dequeue();
                try
                {
                    await sent.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is BoardException or TimeoutException or IOException)
                {
                    gaveUp++;
                    for (int c = 0; c < cellsPerRequest; c++)
                    {
                        unknown[(start + c) % cellCount]++;
                    }
                }
            }
        }
        double wall = clock.Elapsed.TotalSeconds;
        await stopMonitor.CancelAsync().ConfigureAwait(false);
        long polls = await monitor.ConfigureAwait(false);
        (int twice, int shortOf) = Compare(board, expected, unknown);
        LinkStatistics link = writer.Statistics;
        output.WriteLine($"{version,8}  {cellsPerRequest,13}  {requests,9:N0}  {wall,8:F1}  {requests / wall,11:N0}  {link.Retransmissions,11:N0}  {link.Replays,9:N0}  {gaveUp,7:N0}  {twice,18:N0}  {shortOf,11:N0}  {polls,13:N0}");
        return twice;
    }

    /// <summary>Cells whose board counter exceeds what was asked (pulsed twice), and cells short of it beyond the requests given up on.</summary>
    private static (int Twice, int Short) Compare(EmulatedBoard board, int[] expected, int[] unknown)
    {
        int twice = 0, shortOf = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            long pulses = (long)board.Cells.CountersOf(i).Pulses;
            if (pulses > expected[i])
            {
                twice++;
            }
            else if (pulses < expected[i] - unknown[i])
            {
                shortOf++;
            }
        }
        return (twice, shortOf);
    }

    /// <summary>A second host polling STATUS until told to stop: in version 2 in a read-only session, in version 1 in its own series.</summary>
    private static async Task<long> MonitorAsync(EmulatorHost host, byte version, CancellationToken stop)
    {
        var options = new BoardClientOptions { ReadOnly = true, Protocol = version, AttemptTimeout = TimeSpan.FromMilliseconds(100), MaxRetries = 40, BreakerMinimumThroughput = int.MaxValue };
        await using var monitor = new BoardClient(host.ConnectInProcess(), options);
        long polls = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await monitor.StatusAsync(stop).ConfigureAwait(false);
                polls++;
                await Task.Delay(1, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception ex) when (ex is BoardException or TimeoutException or IOException)
            {
                // A poll lost to the faults: the next one tries again.
            }
        }
        return polls;
    }

    private static WritePulseRequest Pulses(EmulatedBoard board, BoardInfo info, int first, int count)
    {
        var pulses = new Pulse[count];
        for (int c = 0; c < count; c++)
        {
            int index = (first + c) % (int)board.Geometry.CellCount;
            int perTile = board.Geometry.Rows * board.Geometry.Columns;
            var cell = new CellAddress((ushort)(index / perTile), (ushort)(index % perTile / board.Geometry.Columns), (ushort)(index % board.Geometry.Columns));
            pulses[c] = new Pulse(cell, c % 2 == 0 ? PulsePolarity.Set : PulsePolarity.Reset, info.SafeOperatingArea.AmplitudeMinVolts, info.SafeOperatingArea.WidthMinNs);
        }
        return new WritePulseRequest(pulses);
    }
}
