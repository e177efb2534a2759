using System.Net;
using System.Net.Sockets;
using Swim.Emulator.Faults;
using Swim.Protocol.Board;
using Swim.Protocol.Transports;

namespace Swim.Emulator.Hosting;

/// <summary>
/// Serves an <see cref="EmulatedBoard"/> over the protocol: in-process (a modelled link), TCP, or a virtual
/// serial port. One endpoint, so the response cache and the board's state are shared by every connection,
/// as on a real board. Optional fault injection damages frames both ways; an optional line rate paces the TCP and
/// serial endpoints as a UART of that rate would.
/// </summary>
public sealed class EmulatorHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _serving = [];
    private readonly List<IDisposable> _owned = [];
    private readonly FaultProfile? _faults;
    private readonly Lock _gate = new();
    private int _faultSeed;

    /// <param name="baudRate">Above 0, the TCP and serial endpoints carry bytes no faster than a UART of this rate, both ways.</param>
    public EmulatorHost(EmulatedBoard board, FaultProfile? faults = null, int faultSeed = 0, int baudRate = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(baudRate);
        Board = board ?? throw new ArgumentNullException(nameof(board));
        BaudRate = baudRate;
        Endpoint = new BoardEndpoint(board);
        _faults = faults is null || faults == FaultProfile.None ? null : faults;
        _faultSeed = faultSeed;
    }

    public EmulatedBoard Board { get; }

    public BoardEndpoint Endpoint { get; }

    /// <summary>The line rate the TCP and serial endpoints model; 0 when they are unpaced.</summary>
    public int BaudRate { get; }

    /// <summary>Something the endpoint did, for logs: a connection opened or closed.</summary>
    public event Action<string>? Log;

    /// <summary>A link into the board in this process; <paramref name="baudRate"/> models the line rate (0: unlimited).</summary>
    public ByteTransport ConnectInProcess(int baudRate = 0) => ConnectInProcessWithCompletion(baudRate).Link;

    /// <summary>
    /// A link into the board, and a task that completes once the board has executed every frame sent on it and
    /// the link has closed: what a host that lost a connection waits for before recovering, so that the dead
    /// connection's queued commands cannot run after its checks.
    /// </summary>
    public (ByteTransport Link, Task Drained) ConnectInProcessWithCompletion(int baudRate = 0)
    {
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair(baudRate);
        return (host, Serve(board, "in-process"));
    }

    /// <summary>Listens on <paramref name="address"/>:<paramref name="port"/> (port 0 picks one) and serves each connection.</summary>
    public IPEndPoint ListenTcp(IPAddress address, int port)
    {
        var listener = new TcpListener(address, port);
        listener.Start();
        lock (_gate)
        {
            _owned.Add(listener.Server);
            _serving.Add(Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try
                    {
                        client = await listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                        break;
                    }
                    client.NoDelay = true;
                    // Tracked in _serving and awaited on disposal.
                    _ = Serve(Paced(new StreamTransport(client.GetStream(), shouldDispose: true, $"tcp {client.Client.RemoteEndPoint}", client)), $"tcp {client.Client.RemoteEndPoint}");
                }
                listener.Stop();
            }));
        }
        return (IPEndPoint)listener.LocalEndpoint;
    }

    /// <summary>Opens a pseudo-terminal and serves its master side; returns the device path a host opens.</summary>
    public string OpenSerialPort()
    {
        PseudoTerminal terminal = PseudoTerminal.Open();
        lock (_gate)
        {
            _owned.Add(terminal);
        }
        _ = Serve(Paced(new StreamTransport(terminal.Stream, shouldDispose: false, $"serial {terminal.SlavePath}")), $"serial {terminal.SlavePath}");
        return terminal.SlavePath;
    }

    /// <summary>A brown-out: the response cache and volatile state are lost; conductances stay.</summary>
    public void BrownOut() => Endpoint.PowerCycle();

    private ByteTransport Paced(ByteTransport transport) => BaudRate > 0 ? new PacedTransport(transport, BaudRate) : transport;

    private Task Serve(ByteTransport transport, string name)
    {
        ByteTransport link = _faults is null
            ? transport
            : new FaultInjectingTransport(transport, _faults, Interlocked.Increment(ref _faultSeed), direction: FaultDirection.Both);
        lock (_gate)
        {
            Task serving = Task.Run(async () =>
            {
                Log?.Invoke($"serving {name}");
                try
                {
                    await Endpoint.ServeAsync(link, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    Log?.Invoke($"{name}: {ex.Message}");
                }
                Log?.Invoke($"{name} closed");
                await link.DisposeAsync().ConfigureAwait(false);
            });
            _serving.Add(serving);
            return serving;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] serving;
        lock (_gate)
        {
            foreach (IDisposable owned in _owned)
            {
                owned.Dispose();
            }
            serving = [.. _serving];
        }
        try
        {
            await Task.WhenAll(serving).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // A blocked read on a terminal can outlive its descriptor briefly; nothing is left to save.
        }
        _stop.Dispose();
    }
}
