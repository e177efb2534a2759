using System.CommandLine;
using System.Net;
using Swim.Controller.Boards;
using Swim.Emulator.Faults;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Devices;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Controller.Cli;

/// <summary><c>swim emulator</c>: a software board on a virtual serial port or TCP, until stopped.</summary>
internal static class EmulatorCommand
{
    public const string DefaultTcp = "127.0.0.1:5025";

    public static Command Create(Func<CommandContext> context)
    {
        var serial = new Option<bool>("--serial") { Description = "Serve on a virtual serial port (a pseudo-terminal); its device path is printed." };
        var tcp = new Option<string?>("--tcp") { Description = $"Serve on TCP HOST:PORT (default {DefaultTcp} when --serial is not given; other addresses only when named)." };
        var device = new Option<string>("--device") { Description = $"Device preset: {string.Join(", ", DevicePreset.Names)}.", DefaultValueFactory = _ => EmulatorAddress.DefaultPreset };
        device.AcceptOnlyFromAmong([.. DevicePreset.Names]);
        var geometry = new Option<string>("--geometry") { Description = "TILESxROWSxCOLUMNS.", DefaultValueFactory = _ => EmulatorSettings.DefaultGeometry };
        var seed = new Option<ulong>("--seed") { Description = "Seeds the device physics; the same seed gives the same board.", DefaultValueFactory = _ => EmulatorSettings.Default.Seed };
        var stuckRate = new Option<double?>("--stuck-rate") { Description = "Overrides the preset's fraction of stuck cells (0 for a board with programming variation only)." };
        var faults = new Option<string?>("--faults") { Description = "Damage frames both ways, e.g. drop=0.01,corrupt=0.01,duplicate=0.005,delay=0.01,maxdelay=50ms,garbage=0.001." };
        var state = new Option<string?>("--state") { Description = "Keep cell state in FILE across runs: loaded at start when present, saved every few seconds and at exit." };
        var noVerify = new Option<bool>("--no-program-verify") { Description = "Leave PROGRAM_VERIFY out of the board's capabilities, as firmware without its own write-verify loop (hosts then drive READ and WRITE_PULSE)." };
        var baud = new Option<int>("--baud") { Description = "Pace the TCP and serial endpoints as a UART of this many baud, both ways (10 bits a byte), so a session takes a bench's link time; 0 (the default) leaves them unpaced.", DefaultValueFactory = _ => 0 };
        var protocol = new Option<int>("--protocol") { Description = "The protocol version the board speaks: 2 (sessions, the default) or 1, to stand in for firmware of version 1.", DefaultValueFactory = _ => Swim.Protocol.Framing.ProtocolConstants.Version };
        protocol.AcceptOnlyFromAmong("1", "2");
        var duration = new Option<double?>("--duration") { Description = "Stop after this many seconds (default: run until Ctrl+C)." };
        var command = new Command("emulator", "Run a software crossbar board that speaks the Swim protocol over a virtual serial port or TCP.");
        foreach (Option option in new Option[] { serial, tcp, device, geometry, seed, stuckRate, faults, state, baud, protocol, duration, noVerify })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellationToken) =>
        {
            CommandContext ctx = context();
            try
            {
                var emulator = new EmulatorSettings(EmulatorSettings.ParseGeometry(result.GetValue(geometry)!, "--geometry"), result.GetValue(seed),
                    EmulatorSettings.CheckStuckRate(result.GetValue(stuckRate), "--stuck-rate"));
                int baudRate = result.GetValue(baud);
                if (baudRate < 0)
                {
                    throw new SwimInputException($"--baud {baudRate}: give a line rate in baud above 0, or 0 for an unpaced link.");
                }
                return await RunAsync(ctx, result.GetValue(serial), result.GetValue(tcp), result.GetValue(device)!, emulator, result.GetValue(faults), result.GetValue(state), baudRate, result.GetValue(duration),
                    new Firmware(result.GetValue(noVerify) ? EmulatedBoard.AllCapabilities & ~BoardCapabilities.ProgramVerify : EmulatedBoard.AllCapabilities, (byte)result.GetValue(protocol)),
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidDataException or SwimInputException)
            {
                ctx.Error.WriteLine($"swim: error: {ex.Message}");
                return ExitCodes.BadInput;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or PlatformNotSupportedException)
            {
                ctx.Error.WriteLine($"swim: failed: {ex.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(CommandContext ctx, bool serial, string? tcp, string presetName, EmulatorSettings emulator, string? faultText, string? statePath, int baudRate, double? seconds, Firmware firmware, CancellationToken cancellationToken)
    {
        BoardCapabilities capabilities = firmware.Capabilities;
        FaultProfile? faults = faultText is null ? null : FaultProfile.Parse(faultText);
        EmulatedBoard board;
        if (statePath is not null && File.Exists(statePath))
        {
            board = BoardStateFile.Load(statePath, capabilities, firmware.Protocol);
            ctx.Output.WriteLine($"emulator: state loaded from {statePath} ({board.Cells.Preset.Name} {board.Geometry}, seed {board.Seed}); --device, --geometry, --seed and stuck cells come from the file");
        }
        else
        {
            board = new EmulatedBoard(emulator.Apply(DevicePreset.ByName(presetName)), emulator.Geometry, emulator.Seed, capabilities, firmware.Protocol);
        }
        await using var host = new EmulatorHost(board, faults, baudRate: baudRate);
        host.Log += message => ctx.Error.WriteLine($"emulator: {message}");
        ctx.Output.WriteLine($"emulator: {board.Cells.Preset.Name} board, {board.Geometry} ({board.Geometry.CellCount:N0} cells), seed {board.Seed}" +
            (faults is null ? "" : $", faults {faultText}") +
            (baudRate > 0 ? $", links paced at {baudRate:N0} baud" : "") +
            ((capabilities & BoardCapabilities.ProgramVerify) == 0 ? ", no PROGRAM_VERIFY" : "") +
            (firmware.Protocol == Swim.Protocol.Framing.ProtocolConstants.Version ? "" : $", protocol version {firmware.Protocol}"));
        if (serial)
        {
            ctx.Output.WriteLine($"emulator: serial port {host.OpenSerialPort()}");
        }
        if (tcp is not null || !serial)
        {
            (IPAddress address, int port) = ParseEndpoint(tcp ?? DefaultTcp);
            IPEndPoint bound = Listen(host, address, port);
            ctx.Output.WriteLine($"emulator: tcp {bound}");
        }
        ctx.Output.Flush();
        using var stopAfter = seconds is { } s ? new CancellationTokenSource(TimeSpan.FromSeconds(s)) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopAfter.Token);
        ulong savedAt = ulong.MaxValue;
        while (!linked.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            ulong activity = board.Cells.TotalPulses + board.Cells.TotalReads;
            if (statePath is not null && activity != savedAt)
            {
                BoardStateFile.Save(board, statePath);
                savedAt = activity;
            }
        }
        if (statePath is not null)
        {
            BoardStateFile.Save(board, statePath);
            ctx.Output.WriteLine($"emulator: state saved to {statePath}");
        }
        ctx.Output.WriteLine($"emulator: stopped after {board.Cells.TotalPulses:N0} pulses, {board.Cells.TotalReads:N0} reads, {board.Cells.BusyNs / 1e9:F3} s of device time");
        return ExitCodes.Success;
    }

    private static IPEndPoint Listen(EmulatorHost host, IPAddress address, int port)
    {
        try
        {
            return host.ListenTcp(address, port);
        }
        catch (System.Net.Sockets.SocketException ex) when (ex.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw new SwimInputException($"--tcp {address}:{port}: the port is in use (another emulator, or another program, listens there); choose another, or port 0 for any free one.");
        }
    }

    /// <summary>Where to listen: HOST:PORT with an IP address (or localhost) and a port, 0 for any free one.</summary>
    public static (IPAddress Address, int Port) ParseEndpoint(string text)
    {
        (string host, int port) = TcpAddress.ParseEndpoint(text, allowAnyPort: true)
            ?? throw new SwimInputException($"--tcp '{text}' is not HOST:PORT with a port from 0 to 65535 (e.g. {DefaultTcp}).");
        IPAddress address = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out IPAddress? parsed) ? parsed
            : throw new SwimInputException($"--tcp '{text}': '{host}' is not an IP address of this machine to listen on; give one, e.g. 127.0.0.1 or 0.0.0.0.");
        return (address, port);
    }

    /// <summary>What the emulated board's firmware offers: its optional commands and the protocol version it speaks.</summary>
    private sealed record Firmware(BoardCapabilities Capabilities, byte Protocol);
}
