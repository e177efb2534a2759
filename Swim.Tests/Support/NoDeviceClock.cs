using Swim.Emulator;
using Swim.Protocol.Board;

namespace Swim.Tests.Support;

/// <summary>The emulated board, except that STATUS reports no device time, as firmware that cannot measure it might.</summary>
public sealed class NoDeviceClock(EmulatedBoard inner) : DelegatingDevice(inner)
{
    public override DeviceCounters Counters => base.Counters with { DeviceTimeNs = 0 };
}
