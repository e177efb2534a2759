using System.Globalization;
using Swim.Transports;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Protocol.Transports;

namespace Swim.Controller.Cli;

/// <summary>
/// The --board argument: <c>emulator[:PRESET]</c> (in process), <c>tcp:HOST:PORT</c>, <c>serial:PATH[@BAUD]</c>
/// or <c>spi:BUS.CS@READY_GPIO</c>.
/// </summary>
internal sealed class BoardSpec : IAsyncDisposable
{
    private readonly EmulatorHost? _emulator;

    private BoardSpec(ByteTransport transport, EmulatorHost? emulator, DevicePreset? profile)
    {
        Transport = transport;
        _emulator = emulator;
        Profile = profile;
    }

    public ByteTransport Transport { get; }

    /// <summary>The device's variance model when known (the emulator's preset).</summary>
    public DevicePreset? Profile { get; }

    public const string Help = "emulator[:rram|pcm|fefet|paper], tcp:HOST:PORT, serial:PATH[@BAUD] or spi:BUS.CS@READY_GPIO";

    public static async Task<BoardSpec> OpenAsync(string text, EmulatorSettings emulator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(emulator);
        string kind = text.Split(':', 2)[0];
        string rest = text.Contains(':', StringComparison.Ordinal) ? text.Split(':', 2)[1] : "";
        CheckEmulatorSettings(text, emulator);
        switch (kind)
        {
            case "emulator":
                DevicePreset preset;
                try
                {
                    preset = DevicePreset.ByName(rest.Length == 0 ? "rram" : rest);
                }
                catch (ArgumentException ex)
                {
                    throw new SwimInputException($"--board {text}: {ex.Message}");
                }
                preset = emulator.Apply(preset);
                var host = new EmulatorHost(new EmulatedBoard(preset, emulator.Geometry, emulator.Seed));
                return new BoardSpec(host.ConnectInProcess(), host, preset);
            case "tcp":
                (System.Net.IPAddress address, int port) = EmulatorCommand.ParseEndpoint(rest);
                return new BoardSpec(await TcpTransport.ConnectAsync(address.ToString(), port, cancellationToken).ConfigureAwait(false), null, null);
            case "serial":
                string[] parts = rest.Split('@', 2);
                int baud = parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b) ? b
                    : parts.Length == 2 ? throw new SwimInputException($"--board {text}: '{parts[1]}' is not a baud rate.") : SerialTransport.DefaultBaudRate;
                if (parts[0].Length == 0)
                {
                    throw new SwimInputException($"--board {text}: name the device, e.g. serial:/dev/ttyACM0@3000000.");
                }
                return new BoardSpec(SerialTransport.Open(parts[0], baud), null, null);
            case "spi":
                string[] spi = rest.Split('@', 2);
                string[] busCs = spi[0].Split('.', 2);
                if (spi.Length != 2 || busCs.Length != 2 || !int.TryParse(busCs[0], out int bus) || !int.TryParse(busCs[1], out int cs) || !int.TryParse(spi[1], out int ready))
                {
                    throw new SwimInputException($"--board {text}: write spi:BUS.CS@READY_GPIO, e.g. spi:0.0@25 for /dev/spidev0.0 with READY on GPIO 25.");
                }
                return new BoardSpec(SpiTransport.Open(bus, cs, ready), null, null);
            default:
                throw new SwimInputException($"--board '{text}' is not one of {Help}.");
        }
    }

    /// <summary>Whether the board text names the in-process emulator, whose settings (geometry, seed, stuck rate) apply.</summary>
    public static bool IsInProcessEmulator(string text) => text.Split(':', 2)[0] == "emulator";

    /// <summary>Refuses emulator-only settings for a real board, so a command can fail before its long work.</summary>
    public static void CheckEmulatorSettings(string text, EmulatorSettings emulator)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(emulator);
        if (!IsInProcessEmulator(text) && emulator.StuckRate is not null)
        {
            throw new SwimInputException($"--board {text}: a stuck-cell rate sets up the in-process emulator (--board emulator[:PRESET]); a real board's stuck cells are its own. Leave the rate out.");
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
