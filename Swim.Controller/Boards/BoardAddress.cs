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
    public const string Forms = "emulator[:rram|hfox|pcm|fefet|paper][@BAUD], tcp:HOST:PORT[@BAUD], serial:PATH[@BAUD] or spi:BUS.CS@READY_GPIO";

    /// <summary>The UART rate of the line to the board when the address states one, for its link time; null when it does not.</summary>
    public virtual int? LineBaud => null;

    /// <summary>Parses a board address, refusing a malformed one with the accepted forms.</summary>
    public static BoardAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // The kind ends at the first ':' (its details follow) or '@' ("emulator@3000000": a line rate and no details).
        int end = text.IndexOfAny([':', '@']);
        string kind = end < 0 ? text : text[..end];
        string rest = end < 0 ? "" : text[end] == ':' ? text[(end + 1)..] : text[end..];
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

    /// <summary>Splits an optional <c>@BAUD</c> off the end of <paramref name="rest"/>; 0 when there is none.</summary>
    internal static (string Address, int Baud) SplitBaud(string text, string rest)
    {
        int at = rest.LastIndexOf('@');
        if (at < 0)
        {
            return (rest, 0);
        }
        return TryParseCount(rest[(at + 1)..], out int baud) && baud > 0 ? (rest[..at], baud)
            : throw Malformed(text, $"'{rest[(at + 1)..]}' is not a baud rate (a whole number of bits per second, e.g. @3000000)");
    }

    internal static string BaudSuffix(int baud) => baud > 0 ? "@" + baud.ToString(CultureInfo.InvariantCulture) : "";
}

/// <summary>
/// Swim's emulated board, in this process, with the named device preset; <paramref name="BaudRate"/> above 0 models a
/// UART of that rate between host and board, so a laptop session takes a bench's link time.
/// </summary>
public sealed record EmulatorAddress(string Preset, int BaudRate = 0) : BoardAddress
{
    public const string DefaultPreset = "rram";

    public override int? LineBaud => BaudRate > 0 ? BaudRate : null;

    internal static EmulatorAddress ParseRest(string text, string rest)
    {
        (rest, int baud) = SplitBaud(text, rest);
        string preset = rest.Length == 0 ? DefaultPreset : rest;
        return DevicePreset.Names.Contains(preset) ? new EmulatorAddress(preset, baud)
            : throw Malformed(text, $"'{preset}' is not a device preset ({string.Join(", ", DevicePreset.Names)})");
    }

    public override string ToString() => $"emulator:{Preset}{BaudSuffix(BaudRate)}";
}

/// <summary>
/// A board (or <c>swim emulator</c>) listening on TCP; <paramref name="Host"/> is a name or an address. A
/// <paramref name="BaudRate"/> above 0 says the bytes cross a UART of that rate behind the socket (a serial bridge, or
/// <c>swim emulator --baud</c>): TCP does not pace them, the report's link time counts at that rate.
/// </summary>
public sealed record TcpAddress(string Host, int Port, int BaudRate = 0) : BoardAddress
{
    public override int? LineBaud => BaudRate > 0 ? BaudRate : null;

    internal static TcpAddress ParseRest(string text, string rest)
    {
        (rest, int baud) = SplitBaud(text, rest);
        (string host, int port) = ParseEndpoint(rest, allowAnyPort: false) ?? throw Malformed(text, "write tcp:HOST:PORT with a port from 1 to 65535");
        return new TcpAddress(host, port, baud);
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

    public override string ToString() => (Host.Contains(':', StringComparison.Ordinal) ? $"tcp:[{Host}]:{Port}" : $"tcp:{Host}:{Port}") + BaudSuffix(BaudRate);
}

/// <summary>A board on a serial device (a USB CDC port or a UART) at the given baud rate.</summary>
public sealed record SerialAddress(string Device, int BaudRate) : BoardAddress
{
    public override int? LineBaud => BaudRate;

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
