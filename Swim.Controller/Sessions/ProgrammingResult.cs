using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Devices;
using Swim.Protocol.Client;

namespace Swim.Controller.Sessions;

/// <summary>
/// A programmed model and what it cost, by the board's counters over the whole session (a resumed one included).
/// <see cref="Notes"/> says when the counters cannot give that: the board restarted them, or reports no device time.
/// </summary>
public sealed record ProgrammingResult(
    OnnxModel Programmed,
    CrossbarMapping Mapping,
    int CellsProgrammed,
    int CellsVerified,
    int VerifyConverged,
    int VerifyDidNotConverge,
    int VerifyStuck,
    ulong DeviceTimeNs,
    ulong Pulses,
    ulong Reads,
    ulong VerifyIterations,
    LinkStatistics Link,
    IReadOnlyList<LayerError> Layers,
    double WallSeconds,
    bool DeviceTimeEstimated,
    IReadOnlyList<string> Notes)
{
    /// <summary>
    /// The session's device time by the array's time model (IDENTIFY's times and parallelism): one cell per operation,
    /// and with row-parallel reads, masked row pulses and lock-step row passes. Null when the session did not run here.
    /// </summary>
    public DeviceTime? Modelled { get; init; }

    /// <summary>
    /// Each board's part, for a session over several boards (one entry for one board). The session's device time is its
    /// slowest board's (they run side by side); its pulses and reads are every board's.
    /// </summary>
    public IReadOnlyList<BoardWork> Boards { get; init; } = [];

    /// <summary>The device time had the boards been programmed one after another: every board's, summed.</summary>
    public ulong SerialDeviceTimeNs => Boards.Count == 0 ? DeviceTimeNs : (ulong)Boards.Sum(b => (decimal)b.DeviceTimeNs);
}

/// <summary>How far a layer's read-back weights are from their quantized targets, in units of the layer's full scale.</summary>
public sealed record LayerError(string Weight, long Elements, double RmsError, double MaxError);
