using Swim.Protocol.Transports;
using System.Net.Sockets;

namespace Swim.Transports;

/// <summary>TCP, for networked bench boxes and the emulator. Nagle is off: frames are small and latency matters.</summary>
public static class TcpTransport
{
    public static async Task<ByteTransport> ConnectAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            client.Dispose();
            throw new IOException($"cannot connect to board at {host}:{port}: {ex.Message}. Is the board or emulator listening there?", ex);
        }
        return new StreamTransport(client.GetStream(), shouldDispose: true, $"tcp {host}:{port}", client);
    }
}
