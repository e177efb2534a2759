using Swim.Protocol.Transports;
using System.IO.Ports;

namespace Swim.Transports;

/// <summary>UART over USB-CDC: 8 data bits, no parity, 1 stop bit, no flow control (firmware-spec, "Physical layers").</summary>
public static class SerialTransport
{
    public const int DefaultBaudRate = 3_000_000;

    public static ByteTransport Open(string portName, int baudRate = DefaultBaudRate)
    {
        var port = new SerialPort(portName, baudRate, Parity.None, 8, StopBits.One)
        {
            Handshake = Handshake.None,
            ReadTimeout = SerialPort.InfiniteTimeout,
            WriteTimeout = 5000,
        };
        try
        {
            port.Open();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            port.Dispose();
            throw new IOException($"cannot open serial port '{portName}' at {baudRate} baud: {ex.Message.TrimEnd('.')}. Check the device path and that no other program holds it.", ex);
        }
        return new StreamTransport(port.BaseStream, shouldDispose: true, $"serial {portName} @ {baudRate}", port);
    }
}
