using Swim.Protocol.Client;
using Swim.Protocol.Transports;

namespace Swim.Controller.Boards;

/// <summary>
/// The line a session's bytes crossed, for its link time: the board address's own rate when it states one (a serial
/// port, a paced emulator), else the protocol's default UART rate, flagged as assumed.
/// </summary>
public sealed record LineRate(int BaudRate, bool Assumed)
{
    /// <summary>The UART rate firmware-spec/protocol.md section 1.1 makes the default.</summary>
    public const int ProtocolDefaultBaud = 3_000_000;

    /// <summary>The protocol's default rate, flagged as assumed: the line of a board whose address states none.</summary>
    public static LineRate ProtocolDefault { get; } = new(ProtocolDefaultBaud, Assumed: true);

    public static LineRate Of(BoardAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.LineBaud is { } baud ? new LineRate(baud, Assumed: false) : ProtocolDefault;
    }

    /// <summary>The line is full duplex: the two directions overlap, so the link is busy for the longer of the two.</summary>
    public double Seconds(LinkStatistics link)
    {
        ArgumentNullException.ThrowIfNull(link);
        return (double)Math.Max(link.BytesSent, link.BytesReceived) * SerialLine.BitsPerByte / BaudRate;
    }
}
