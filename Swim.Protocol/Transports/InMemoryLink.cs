using System.IO.Pipelines;

namespace Swim.Protocol.Transports;

/// <summary>
/// Two connected transports in one process, for tests, benchmarks and the in-process emulator. Optionally
/// models a full-duplex UART: each direction delivers at most <c>baud / 10</c> bytes per second (8N1 framing), its
/// writer never waiting for the line.
/// </summary>
public static class InMemoryLink
{
    /// <param name="baudRate">0 for an unlimited link; otherwise the modelled line rate of each direction.</param>
    public static (ByteTransport Host, ByteTransport Board) CreatePair(int baudRate = 0, TimeProvider? time = null)
    {
        if (baudRate > 0)
        {
            // Each direction a line with a transmit queue: writers go on at once, readers get bytes as they arrive.
            var boardward = new PacedQueue(baudRate, time);
            var hostward = new PacedQueue(baudRate, time);
            return (new QueueTransport(hostward, boardward, $"in-memory (host end) @ {baudRate} baud"),
                    new QueueTransport(boardward, hostward, $"in-memory (board end) @ {baudRate} baud"));
        }
        var toBoard = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var toHost = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        return (new PipeTransport(toHost.Reader, toBoard.Writer, "in-memory (host end)"),
                new PipeTransport(toBoard.Reader, toHost.Writer, "in-memory (board end)"));
    }

    private sealed class QueueTransport(PacedQueue incoming, PacedQueue outgoing, string description) : ByteTransport
    {
        public override string Description => description;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            outgoing.Write(data.Span);
            return ValueTask.CompletedTask;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => incoming.ReadAsync(buffer, cancellationToken);

        public override ValueTask DisposeAsync()
        {
            // As closing a pipe: the far end reads what is on the line, then 0; this end reads 0 once it has drained.
            outgoing.Complete();
            incoming.Complete();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class PipeTransport(PipeReader reader, PipeWriter writer, string description) : ByteTransport
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);

        public override string Description => description;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var available = result.Buffer;
            if (available.IsEmpty && result.IsCompleted)
            {
                reader.AdvanceTo(available.End);
                return 0;
            }
            int count = (int)Math.Min(available.Length, buffer.Length);
            var slice = available.Slice(0, count);
            System.Buffers.BuffersExtensions.CopyTo(slice, buffer.Span);
            reader.AdvanceTo(slice.End);
            return count;
        }

        public override async ValueTask DisposeAsync()
        {
            await writer.CompleteAsync().ConfigureAwait(false);
            await reader.CompleteAsync().ConfigureAwait(false);
            _writeLock.Dispose();
        }
    }
}
