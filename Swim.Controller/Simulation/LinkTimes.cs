using System.Collections.Concurrent;
using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Controller.Simulation;

/// <summary>
/// A study's link time: the bytes a programming session of the plan would put on a UART of the protocol's default
/// 3 Mbaud, counted by Swim's own client against a board that answers at once (<see cref="WireOnlyBoard"/>), with the
/// session's chunks of cells, sent in the session's order (by place on the board). Every cell's open-loop write and read-back are the same for any selection and counted
/// once; a selection's write-verify commands are counted per selection (and remembered, since most methods select
/// the same cells on every chip). The journal's per-chunk STATUS and COUNTERS, and the session's lease keep-alives,
/// are not counted: what is counted is the same however fast the study runs.
/// </summary>
internal sealed class LinkTimes : IDisposable
{
    private readonly CellPlan _plan;
    private readonly float _tolerance;
    private readonly ushort _maxIterations;
    private readonly int _chunk = new ProgrammingOptions().ChunkCells;
    private readonly CancellationTokenSource _stop = new();
    private readonly BoardClient _client;
    private readonly WireOnlyBoard _board;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, (long Out, long In)> _verify = new();
    private readonly (long Out, long In) _writeAndReadBack;
    private readonly (long Out, long In) _readAll;

    public LinkTimes(BoardInfo board, CellPlan plan, float tolerance, ushort maxIterations)
    {
        _plan = plan;
        _tolerance = tolerance;
        _maxIterations = maxIterations;
        (ByteTransport host, ByteTransport device) = InMemoryLink.CreatePair();
        _board = new WireOnlyBoard(board);
        _ = new BoardEndpoint(_board).ServeAsync(device, _stop.Token);
        _client = new BoardClient(host);
        _client.IdentifyAsync().GetAwaiter().GetResult();
        int[] all = plan.BoardOrder();
        (long Out, long In) program = Count(() => InChunks(all, cells => _client.ProgramLevelsAsync(Addresses(cells), [.. cells.Select(c => (int)plan.Levels[c])])));
        _readAll = Count(() => InChunks(all, cells => _client.ReadCodedAsync(Addresses(cells), 8)));
        _writeAndReadBack = (program.Out + _readAll.Out, program.In + _readAll.In);
    }

    /// <summary>Seconds on the line for writing every cell, verifying <paramref name="verified"/> (indexed by plan cell) and reading back; a first read of every cell too when <paramref name="measuredFirst"/>.</summary>
    public double Seconds(bool[] verified, bool measuredFirst)
    {
        int[] cells = [.. Enumerable.Range(0, verified.Length).Where(c => verified[c])];
        string key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(cells.AsSpan())));
        (long Out, long In) verify = cells.Length == 0 ? (0, 0) : _verify.GetOrAdd(key, _ =>
        {
            // Sorted into the session's order only for a selection not yet counted: most chips repeat one.
            _plan.SortedByAddress(cells);
            lock (_gate)
            {
                return Count(() => InChunks(cells, chunk => _client.VerifyLevelsAsync(Addresses(chunk), [.. chunk.Select(c => (int)_plan.Levels[c])], _tolerance, _maxIterations)));
            }
        });
        long sent = _writeAndReadBack.Out + verify.Out + (measuredFirst ? _readAll.Out : 0);
        long received = _writeAndReadBack.In + verify.In + (measuredFirst ? _readAll.In : 0);
        return LineRate.ProtocolDefault.Seconds(new LinkStatistics(0, 0, sent, 0, received, 0, 0, 0, 0, 0));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stop.Dispose();
    }

    private CellAddress[] Addresses(int[] cells) => [.. cells.Select(c => _plan.Cells[c])];

    private (long Out, long In) Count(Func<Task> traffic)
    {
        (long fromHost, long toHost) = _board.Bytes;
        traffic().GetAwaiter().GetResult();
        (long fromHostAfter, long toHostAfter) = _board.Bytes;
        return (fromHostAfter - fromHost, toHostAfter - toHost);
    }

    private async Task InChunks(int[] cells, Func<int[], Task> send)
    {
        for (int start = 0; start < cells.Length; start += _chunk)
        {
            await send(cells[start..Math.Min(cells.Length, start + _chunk)]).ConfigureAwait(false);
        }
    }
}
