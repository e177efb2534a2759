using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Messages;

namespace Swim.Tests.Support;

/// <summary>An emulated board behind a test's interception: everything passes through unless a test overrides it.</summary>
public class DelegatingDevice(EmulatedBoard inner) : IBoardDevice
{
    protected EmulatedBoard Inner { get; } = inner;

    public virtual BoardInfo Info => Inner.Info;

    public virtual DeviceCounters Counters => Inner.Counters;

    public virtual BoardResponse Execute(BoardRequest request) => Inner.Execute(request);

    public virtual void Reset(bool clearCounters) => Inner.Reset(clearCounters);

    public virtual void PowerCycle() => Inner.PowerCycle();
}
