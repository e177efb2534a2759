using System.Collections.Concurrent;
using Swim.Protocol.Board;
using Swim.Protocol.Messages;

namespace Swim.Tests.Support;

/// <summary>
/// A scripted device for protocol tests: PROGRAM and PROGRAM_VERIFY count how often each cell was executed,
/// READ answers a cell's row number, and it can answer BUSY to the first attempt of every request.
/// </summary>
public sealed class CountingDevice(ushort cacheDepth = 32, ushort maxBatch = 64) : IBoardDevice
{
    private int _busyToggle;

    public ConcurrentDictionary<CellAddress, int> Executions { get; } = new();

    /// <summary>The cells of PROGRAM requests in the order the board executed them.</summary>
    public ConcurrentQueue<CellAddress> ProgramOrder { get; } = new();

    public bool BusyOnFirstAttempt { get; set; }

    public bool AlwaysBusy { get; set; }

    /// <summary>How long a PROGRAM_VERIFY takes, as on a slow bench setup, by <see cref="Clock"/>.</summary>
    public TimeSpan VerifyDuration { get; set; }

    /// <summary>The clock <see cref="VerifyDuration"/> runs on: a test's fake one makes the board's timing exact.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    public BoardInfo Info { get; set; } = RandomMessages.InfoVersion2(new Random(1)) with { ResponseCacheDepth = cacheDepth, MaxBatch = maxBatch, Rows = 512, Columns = 512 };

    public DeviceCounters Counters => new(0, 1, 2, 3, 4, 5);

    public BoardResponse Execute(BoardRequest request)
    {
        if (AlwaysBusy || (BusyOnFirstAttempt && Interlocked.Increment(ref _busyToggle) % 2 == 1))
        {
            throw new BoardStatusException(StatusCode.Busy, "busy");
        }
        switch (request)
        {
            case IdentifyRequest:
                return new IdentifyResponse(Info);
            case ProgramRequest program:
                foreach (ProgramTarget t in program.Targets)
                {
                    Executions.AddOrUpdate(t.Cell, 1, (_, n) => n + 1);
                    ProgramOrder.Enqueue(t.Cell);
                }
                return new ProgramResponse(program.Targets.Select(_ => StatusCode.Ok).ToArray());
            case ProgramVerifyRequest verify:
                TakeVerifyDuration();
                foreach (VerifyTarget t in verify.Targets)
                {
                    Executions.AddOrUpdate(t.Cell, 1, (_, n) => n + 1);
                }
                return new ProgramVerifyResponse(verify.Targets.Select(t => new VerifyOutcome(StatusCode.Ok, 3, 3, t.TargetMicrosiemens)).ToArray());
            case ReadRequest read:
                CellAddress[] cells = read.Addresses().ToArray();
                if (cells.Any(c => c.Row >= Info.Rows))
                {
                    throw new BoardStatusException(StatusCode.OutOfRange, "row out of range");
                }
                return new ReadResponse(cells.Select(c => (float)c.Row).ToArray());
            default:
                throw new BoardStatusException(StatusCode.UnknownOpcode, "not scripted");
        }
    }

    /// <summary>Each RESET the device was given, by whether it cleared the counters.</summary>
    public ConcurrentQueue<bool> Resets { get; } = new();

    public void Reset(bool clearCounters) => Resets.Enqueue(clearCounters);

    private void TakeVerifyDuration()
    {
        DateTimeOffset until = Clock.GetUtcNow() + VerifyDuration;
        if (Clock == TimeProvider.System)
        {
            Thread.Sleep(VerifyDuration);
            return;
        }
        while (Clock.GetUtcNow() < until)
        {
            Thread.Sleep(1);
        }
    }
}
