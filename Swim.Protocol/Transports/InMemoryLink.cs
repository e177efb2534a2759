using System.IO.Pipelines;

namespace Swim.Protocol.Transports;

/// <summary>
/// Two connected transports in one process, for tests, benchmarks and the in-process emulator. Optionally
/// models a UART's byte rate: each direction delivers at most <c>baud / 10</c> bytes per second (8N1 framing).
/// </summary>
public static class InMemoryLink
{
    /// <param name="baudRate">0 for an unlimited link; otherwise the modelled line rate of each direction.</param>
    public static (ByteTransport Host, ByteTransport Board) CreatePair(int baudRate = 0, TimeProvider? time = null)
    {
        var toBoard = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var toHost = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        time ??= TimeProvider.System;
        return (new PipeTransport(toHost.Reader, toBoard.Writer, baudRate, time, "in-memory (host end)"),
                new PipeTransport(toBoard.Reader, toHost.Writer, baudRate, time, "in-memory (board end)"));
    }

    private sealed class PipeTransport(PipeReader reader, PipeWriter writer, int baudRate, TimeProvider time, string description) : ByteTransport
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly SerialLine? _line = baudRate > 0 ? new SerialLine(baudRate, time) : null;

        public override string Description => baudRate > 0 ? $"{description} @ {baudRate} baud" : description;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_line is not null)
                {
                    // The line is busy until the previous bytes have gone out; these follow them.
                    await _line.CrossAsync(data.Length, cancellationToken).ConfigureAwait(false);
                }
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
