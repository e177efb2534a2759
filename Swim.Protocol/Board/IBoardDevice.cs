using Swim.Protocol.Messages;

namespace Swim.Protocol.Board;

/// <summary>
/// The device behind a <see cref="BoardEndpoint"/>: the crossbar and its programming logic. The endpoint
/// owns framing, the response cache and BATCH; the device executes single commands.
/// </summary>
public interface IBoardDevice
{
    BoardInfo Info { get; }

    /// <summary>
    /// Executes IDENTIFY, READ, WRITE_PULSE, PROGRAM, PROGRAM_VERIFY or COUNTERS. Refuses by throwing
    /// <see cref="BoardStatusException"/>; a refused command must have changed nothing.
    /// </summary>
    BoardResponse Execute(BoardRequest request);

    /// <summary>RESET: drop volatile state (and counters when asked); conductances stay.</summary>
    void Reset(bool clearCounters);

    /// <summary>Power lost and restored: volatile state and every counter are gone, uptime starts again; conductances stay.</summary>
    void PowerCycle() => Reset(clearCounters: true);

    DeviceCounters Counters { get; }
}

/// <summary>The device's part of STATUS.</summary>
public readonly record struct DeviceCounters(byte State, ulong UptimeMicroseconds, ulong DeviceTimeNs, ulong Pulses, ulong Reads, ulong VerifyIterations);

/// <summary>Thrown by a device to answer a command with a status other than OK.</summary>
public sealed class BoardStatusException(StatusCode status, string message) : Exception(message)
{
    public StatusCode Status { get; } = status;
}
