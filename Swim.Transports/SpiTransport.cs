using Swim.Protocol.Transports;
using System.Device.Gpio;
using System.Device.Spi;

namespace Swim.Transports;

/// <summary>
/// SPI mode 0 with the host as master and a READY line from the board (firmware-spec, "SPI"). The host
/// clocks a request frame out; the board asserts READY while it has response bytes queued, and the host then
/// clocks them in, sending zeros. A board with nothing to send shifts out zeros, which the frame decoder
/// skips as idle delimiters.
/// </summary>
public sealed class SpiTransport : ByteTransport
{
    /// <summary>Bytes clocked per read transfer while READY is asserted.</summary>
    public const int ReadChunk = 256;

    private readonly SpiDevice _device;
    private readonly IReadyLine _ready;
    private readonly bool _shouldDispose;
    private readonly TimeSpan _pollInterval;

    public SpiTransport(SpiDevice device, IReadyLine ready, bool shouldDispose, TimeSpan? pollInterval = null)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        _ready = ready ?? throw new ArgumentNullException(nameof(ready));
        _shouldDispose = shouldDispose;
        _pollInterval = pollInterval ?? TimeSpan.FromMilliseconds(1);
    }

    public override string Description =>
        $"spi bus {_device.ConnectionSettings.BusId} cs {_device.ConnectionSettings.ChipSelectLine} @ {_device.ConnectionSettings.ClockFrequency} Hz";

    /// <summary>Opens Linux spidev <c>/dev/spidevB.C</c> with READY on GPIO <paramref name="readyPin"/>.</summary>
    public static SpiTransport Open(int busId, int chipSelect, int readyPin, int clockHz = 10_000_000)
    {
        var device = SpiDevice.Create(new SpiConnectionSettings(busId, chipSelect) { Mode = SpiMode.Mode0, ClockFrequency = clockHz, DataBitLength = 8 });
        var gpio = new GpioController();
        gpio.OpenPin(readyPin, PinMode.Input);
        return new SpiTransport(device, new GpioReadyLine(gpio, readyPin), shouldDispose: true);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _device.Write(data.Span);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!_ready.IsReady)
        {
            await Task.Delay(_pollInterval, cancellationToken).ConfigureAwait(false);
        }
        int count = Math.Min(buffer.Length, ReadChunk);
        _device.Read(buffer.Span[..count]);
        return count;
    }

    public override ValueTask DisposeAsync()
    {
        if (_shouldDispose)
        {
            _device.Dispose();
            (_ready as IDisposable)?.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>The board's READY output as the host sees it.</summary>
public interface IReadyLine
{
    bool IsReady { get; }
}

/// <summary>READY on a GPIO input, active high.</summary>
public sealed class GpioReadyLine(GpioController controller, int pin) : IReadyLine, IDisposable
{
    public bool IsReady => controller.Read(pin) == PinValue.High;

    public void Dispose() => controller.Dispose();
}
