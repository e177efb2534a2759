using System.Net;
using System.Net.Sockets;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Transports;
using Swim.Transports;

namespace Swim.Controller.Boards;

/// <summary>
/// An open link to a board, made by <see cref="OpenAsync"/> from any <see cref="BoardAddress"/>; for the
/// in-process emulator it also owns the emulator, and knows its device.
/// </summary>
public sealed class BoardConnection : IAsyncDisposable
{
    private readonly EmulatorHost? _emulator;

    private BoardConnection(BoardAddress address, ByteTransport transport, EmulatorHost? emulator, DevicePreset? device)
    {
        Address = address;
        Transport = transport;
        _emulator = emulator;
        Device = device;
    }

    public BoardAddress Address { get; }

    /// <summary>The link, for a <c>BoardClient</c>.</summary>
    public ByteTransport Transport { get; }

    /// <summary>The device's physics when Swim knows it for certain (the in-process emulator's preset), else null.</summary>
    public DevicePreset? Device { get; }

    /// <summary>True for the in-process emulator, whose device clock Swim can move on: waiting on it takes no wall time.</summary>
    public bool HasVirtualClock => _emulator is not null;

    /// <summary>
    /// Lets <paramref name="duration"/> pass on the board: on the in-process emulator's virtual clock (relaxation and drift
    /// follow it), on any other board in wall time, which is the only time a real chip knows.
    /// </summary>
    public Task WaitAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        if (_emulator is not null)
        {
            _emulator.Board.Cells.Wait(duration);
            return Task.CompletedTask;
        }
        return Task.Delay(duration, cancellationToken);
    }

    /// <summary>Opens the board at <paramref name="address"/>; <paramref name="emulator"/> sets up an in-process emulator and is refused for any other board.</summary>
    public static async Task<BoardConnection> OpenAsync(BoardAddress address, EmulatorSettings emulator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(emulator);
        emulator.CheckFor(address);
        switch (address)
        {
            case EmulatorAddress e:
                return OpenEmulated(e, emulator, 0, 1);
            case TcpAddress tcp:
                IPAddress ip = await ResolveAsync(tcp, cancellationToken).ConfigureAwait(false);
                return new BoardConnection(address, await TcpTransport.ConnectAsync(ip.ToString(), tcp.Port, cancellationToken).ConfigureAwait(false), null, null);
            case SerialAddress serial:
                return new BoardConnection(address, OpenSerial(serial), null, null);
            case SpiAddress spi:
                return new BoardConnection(address, OpenSpi(spi), null, null);
            default:
                throw new ArgumentOutOfRangeException(nameof(address), address, "unknown kind of board address");
        }
    }

    /// <summary>
    /// Opens every board of a session over several, in order: each in-process emulator address stands for
    /// <see cref="EmulatorSettings.Boards"/> boards, and all the in-process boards together are one seed's set
    /// (<see cref="EmulatedBoard"/>). On a failure, the boards already open are closed again.
    /// </summary>
    public static async Task<IReadOnlyList<BoardConnection>> OpenAllAsync(IReadOnlyList<BoardAddress> addresses, EmulatorSettings emulator, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(emulator);
        emulator.CheckFor(addresses);
        int emulated = addresses.Count(a => a is EmulatorAddress) * emulator.Boards;
        if (emulated > EmulatedBoard.MaxSetSize)
        {
            throw new SwimInputException($"{emulated} in-process boards: at most {EmulatedBoard.MaxSetSize} share one seed. Give fewer emulator boards.");
        }
        var opened = new List<BoardConnection>();
        try
        {
            int next = 0;
            foreach (BoardAddress address in addresses)
            {
                if (address is EmulatorAddress e)
                {
                    for (int i = 0; i < emulator.Boards; i++)
                    {
                        opened.Add(OpenEmulated(e, emulator, next++, emulated));
                    }
                }
                else
                {
                    opened.Add(await OpenAsync(address, emulator, cancellationToken).ConfigureAwait(false));
                }
            }
            return opened;
        }
        catch
        {
            foreach (BoardConnection connection in opened)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    private static BoardConnection OpenEmulated(EmulatorAddress address, EmulatorSettings emulator, int index, int setSize)
    {
        DevicePreset preset = emulator.Apply(DevicePreset.ByName(address.Preset));
        var host = new EmulatorHost(new EmulatedBoard(preset, emulator.Geometry, emulator.Seed, index, setSize));
        return new BoardConnection(address, host.ConnectInProcess(address.BaudRate), host, preset);
    }

    private static ByteTransport OpenSerial(SerialAddress serial)
    {
        // On Unix a serial port is a device file: a missing one is a wrong path or an unplugged board, not "access denied".
        if (!OperatingSystem.IsWindows() && !File.Exists(serial.Device))
        {
            throw new SwimInputException($"board '{serial}': serial device '{serial.Device}' does not exist; check that the board is plugged in and the path " +
                "(ls /dev/ttyACM* /dev/ttyUSB* lists the candidates).");
        }
        try
        {
            return SerialTransport.Open(serial.Device, serial.BaudRate);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"board '{serial}': '{serial.Device}' is in use by another program, or this user may not open it " +
                "(on Linux, join the dialout group and log in again).", ex);
        }
    }

    private static ByteTransport OpenSpi(SpiAddress spi)
    {
        string device = $"/dev/spidev{spi.Bus}.{spi.ChipSelect}";
        if (OperatingSystem.IsLinux() && !File.Exists(device))
        {
            throw new SwimInputException($"board '{spi}': {device} does not exist; check the bus and chip select, and that SPI is enabled (on a Raspberry Pi, dtparam=spi=on).");
        }
        try
        {
            return SpiTransport.Open(spi.Bus, spi.ChipSelect, spi.ReadyPin);
        }
        catch (Exception ex) when (ex is not SwimInputException and not OutOfMemoryException)
        {
            // The GPIO library reports its own failures in its own terms ("Exception while calling libgpiod").
            throw new IOException($"board '{spi}': cannot open {device} with READY on GPIO {spi.ReadyPin} ({ex.Message}); check the pin number, " +
                "and that this user may use /dev/spidev* and /dev/gpiochip* (the spi and gpio groups).", ex);
        }
    }

    /// <summary>The host's address: itself when it is one, else what the name resolves to (a name that does not resolve is bad input).</summary>
    private static async Task<IPAddress> ResolveAsync(TcpAddress tcp, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(tcp.Host, out IPAddress? literal))
        {
            return literal;
        }
        try
        {
            IPAddress[] found = await Dns.GetHostAddressesAsync(tcp.Host, cancellationToken).ConfigureAwait(false);
            // IPv4 first: bench boxes and the emulator listen on it by default.
            return found.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).FirstOrDefault()
                ?? throw new SwimInputException($"board '{tcp}': host '{tcp.Host}' has no address; check the name, or give the board's IP address.");
        }
        catch (SocketException ex)
        {
            throw new SwimInputException($"board '{tcp}': host '{tcp.Host}' does not resolve ({ex.Message}); check the name, or give the board's IP address.", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
