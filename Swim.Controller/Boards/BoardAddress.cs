using System.Globalization;
using Swim.Devices;
using Swim.Transports;

namespace Swim.Controller.Boards;

/// <summary>
/// Where a board is, parsed once (from <c>--board</c> or a script's <c>board:</c>) and opened by
/// <see cref="BoardConnection.OpenAsync"/>: the in-process emulator with a preset, a TCP endpoint, a serial device
/// or an SPI bus with its READY line.
/// </summary>
public abstract record BoardAddress
{
    /// <summary>The accepted forms, for help texts and error messages.</summary>
    public const string Forms = "emulator[:rram|pcm|fefet|paper], tcp:HOST:PORT, serial:PATH[@BAUD] or spi:BUS.CS@READY_GPIO";

    /// <summary>Parses a board address, refusing a malformed one with the accepted forms.</summary>
    public static BoardAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string kind = colon < 0 ? text : text[..colon];
        string rest = colon < 0 ? "" : text[(colon + 1)..];
        return kind switch
        {
            "emulator" => EmulatorAddress.ParseRest(text, rest),
            "tcp" => TcpAddress.ParseRest(text, rest),
            "serial" => SerialAddress.ParseRest(text, rest),
            "spi" => SpiAddress.ParseRest(text, rest),
            _ => throw Malformed(text, $"'{kind}' is not a kind of board"),
        };
    }

    /// <summary>The error for an address that cannot be used: what is wrong, then every form Swim accepts.</summary>
    internal static SwimInputException Malformed(string text, string problem) =>
        new($"board '{text}': {problem}. A board is {Forms} (e.g. emulator:pcm, tcp:benchbox.lab:5025, serial:/dev/ttyACM0@3000000, spi:0.0@25).");

    internal static bool TryParseCount(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}

/// <summary>Swim's emulated board, in this process, with the named device preset.</summary>
public sealed record EmulatorAddress(string Preset) : BoardAddress
{
    public const string DefaultPreset = "rram";

    internal static EmulatorAddress ParseRest(string text, string rest)
    {
        string preset = rest.Length == 0 ? DefaultPreset : rest;
        return DevicePreset.Names.Contains(preset) ? new EmulatorAddress(preset)
            : throw Malformed(text, $"'{preset}' is not a device preset ({string.Join(", ", DevicePreset.Names)})");
    }

    public override string ToString() => $"emulator:{Preset}";
}

/// <summary>A board (or <c>swim emulator</c>) listening on TCP; <paramref name="Host"/> is a name or an address.</summary>
public sealed record TcpAddress(string Host, int Port) : BoardAddress
{
    internal static TcpAddress ParseRest(string text, string rest)
    {
        (string host, int port) = ParseEndpoint(rest, allowAnyPort: false) ?? throw Malformed(text, "write tcp:HOST:PORT with a port from 1 to 65535");
        return new TcpAddress(host, port);
    }

    /// <summary>HOST:PORT (an IPv6 address in brackets), or null when it is not one; port 0 only with <paramref name="allowAnyPort"/> (listening).</summary>
    public static (string Host, int Port)? ParseEndpoint(string text, bool allowAnyPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !TryParseCount(text[(colon + 1)..], out int port) || port > 65535 || (port == 0 && !allowAnyPort))
        {
            return null;
        }
        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        return Uri.CheckHostName(host) == UriHostNameType.Unknown ? null : (host, port);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"tcp:[{Host}]:{Port}" : $"tcp:{Host}:{Port}";
}

/// <summary>A board on a serial device (a USB CDC port or a UART) at the given baud rate.</summary>
public sealed record SerialAddress(string Device, int BaudRate) : BoardAddress
{
    internal static SerialAddress ParseRest(string text, string rest)
    {
        int at = rest.LastIndexOf('@');
        string device = at < 0 ? rest : rest[..at];
        if (device.Length == 0)
        {
            throw Malformed(text, "name the device, e.g. serial:/dev/ttyACM0@3000000");
        }
        if (at < 0)
        {
            return new SerialAddress(device, SerialTransport.DefaultBaudRate);
        }
        return TryParseCount(rest[(at + 1)..], out int baud) && baud > 0 ? new SerialAddress(device, baud)
            : throw Malformed(text, $"'{rest[(at + 1)..]}' is not a baud rate");
    }

    public override string ToString() => $"serial:{Device}@{BaudRate.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>A board on SPI bus <paramref name="Bus"/>, chip select <paramref name="ChipSelect"/>, raising GPIO <paramref name="ReadyPin"/> when it has an answer.</summary>
public sealed record SpiAddress(int Bus, int ChipSelect, int ReadyPin) : BoardAddress
{
    internal static SpiAddress ParseRest(string text, string rest)
    {
        string[] spi = rest.Split('@', 2);
        string[] busCs = spi[0].Split('.', 2);
        return spi.Length == 2 && busCs.Length == 2 && TryParseCount(busCs[0], out int bus) && TryParseCount(busCs[1], out int cs) && TryParseCount(spi[1], out int ready)
            ? new SpiAddress(bus, cs, ready)
            : throw Malformed(text, "write spi:BUS.CS@READY_GPIO, e.g. spi:0.0@25 for /dev/spidev0.0 with READY on GPIO 25");
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"spi:{Bus}.{ChipSelect}@{ReadyPin}");
}
