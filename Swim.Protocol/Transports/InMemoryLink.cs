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
        private long _lineFreeAtTicks;

        public override string Description => baudRate > 0 ? $"{description} @ {baudRate} baud" : description;

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (baudRate > 0)
                {
                    // The line is busy until the previous bytes have gone out; these follow them.
                    long now = time.GetTimestamp();
                    long start = Math.Max(now, _lineFreeAtTicks);
                    _lineFreeAtTicks = start + (long)(data.Length * 10.0 / baudRate * time.TimestampFrequency);
                    await WaitUntilAsync(_lineFreeAtTicks, cancellationToken).ConfigureAwait(false);
                }
                await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        /// <summary>
        /// Sleeps most of the way and spins the last millisecond: timer sleeps are coarse (about 1 ms), and a
        /// small frame at 3 Mbaud takes about 0.1 ms, so sleeping alone would model a much slower link.
        /// </summary>
        private async ValueTask WaitUntilAsync(long timestamp, CancellationToken cancellationToken)
        {
            TimeSpan remaining = time.GetElapsedTime(time.GetTimestamp(), timestamp);
            if (remaining > TimeSpan.FromMilliseconds(2))
            {
                await Task.Delay(remaining - TimeSpan.FromMilliseconds(1), time, cancellationToken).ConfigureAwait(false);
            }
            if (time != TimeProvider.System)
            {
                // A test clock only moves when the test moves it.
                if (time.GetTimestamp() < timestamp)
                {
                    await Task.Delay(time.GetElapsedTime(time.GetTimestamp(), timestamp), time, cancellationToken).ConfigureAwait(false);
                }
                return;
            }
            var spinner = new SpinWait();
            while (time.GetTimestamp() < timestamp)
            {
                cancellationToken.ThrowIfCancellationRequested();
                spinner.SpinOnce(sleep1Threshold: -1);
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
