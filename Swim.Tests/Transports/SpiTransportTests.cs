using System.Device.Spi;
using Swim.Transports;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Framing;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Transports;

public sealed class SpiTransportTests
{
    /// <summary>
    /// A board on the far side of SPI, simulated as dotnet/iot simulates devices (by subclassing the bus
    /// device): bytes the host writes go to a board endpoint; the endpoint's replies queue up, READY is high
    /// while any are queued, and reads shift them out, then zeros.
    /// </summary>
    private sealed class SimulatedSpiBoard : SpiDevice, IReadyLine
    {
        private readonly BoardEndpoint _endpoint = new(new CountingDevice());
        private readonly FrameDecoder _decoder = new();
        private readonly Queue<byte> _outgoing = new();
        private readonly List<byte[]> _replies = [];
        private readonly Lock _gate = new();

        public override SpiConnectionSettings ConnectionSettings { get; } = new(0, 0) { Mode = SpiMode.Mode0, ClockFrequency = 10_000_000 };

        public bool IsReady
        {
            get
            {
                lock (_gate)
                {
                    return _outgoing.Count > 0;
                }
            }
        }

        public int ZerosClockedOut { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_gate)
            {
                _replies.Clear();
                _endpoint.Receive(_decoder, buffer, _replies);
                foreach (byte b in _replies.SelectMany(r => r))
                {
                    _outgoing.Enqueue(b);
                }
            }
        }

        public override void Read(Span<byte> buffer)
        {
            lock (_gate)
            {
                for (int i = 0; i < buffer.Length; i++)
                {
                    if (_outgoing.Count > 0)
                    {
                        buffer[i] = _outgoing.Dequeue();
                    }
                    else
                    {
                        buffer[i] = 0;
                        ZerosClockedOut++;
                    }
                }
            }
        }

        public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer) => throw new NotSupportedException();

        public override void WriteByte(byte value) => Write([value]);

        public override byte ReadByte()
        {
            Span<byte> one = stackalloc byte[1];
            Read(one);
            return one[0];
        }
    }

    [Fact]
    public async Task Requests_and_responses_cross_spi_with_zero_filler_skipped()
    {
        var board = new SimulatedSpiBoard();
        await using var client = new BoardClient(new SpiTransport(board, board, shouldDispose: false));

        BoardInfo info = await client.IdentifyAsync();
        float[] values = await client.ReadAsync([new CellAddress(0, 7, 1), new CellAddress(0, 9, 2)]);

        Assert.Equal("rram", info.DeviceModel);
        Assert.Equal([7f, 9f], values);
        Assert.True(board.ZerosClockedOut > 0, "reads past the queued response shift out zeros, which the decoder must skip");
        Assert.Equal(0, client.Statistics.CorruptFrames);
    }
}
