using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Controller.Simulation;
using Swim.Devices;
using Swim.Emulator;
using Swim.Emulator.Hosting;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Tests.Support;

namespace Swim.Tests.Simulation;

/// <summary>A study's link time against the link time of real sessions on the emulator: the same plan, the same cells verified.</summary>
public sealed class LinkTimesTests
{
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(1.0)]
    [Trait("Speed", "Slow")]
    public async Task Counts_what_a_session_puts_on_the_wire(double fraction)
    {
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0 };
        var board = new EmulatedBoard(preset, new BoardGeometry(16, 256, 256), seed: 5);
        await using var host = new EmulatorHost(board);
        await using var client = new BoardClient(host.ConnectInProcess());
        BoardInfo info = await client.IdentifyAsync();
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(s_lenet, info, new MappingOptions()), s_lenet);
        var options = new ProgrammingOptions { Method = SelectionMethod.Magnitude, Fraction = fraction };
        ProgrammingResult session = await ProgrammingSession.RunAsync(client, s_lenet, plan, null, options, null);

        bool[] verified = CellSelector.Select(SelectionMethod.Magnitude, fraction, plan, null, null, null, options.Seed, options.StateSigmaRatio);
        using var link = new LinkTimes(info, plan, plan.Mapping.BandOf(options.ToleranceFraction), options.MaxIterations);
        double measured = LineRate.ProtocolDefault.Seconds(session.Link);

        // The session also asks the board's STATUS around its phases; the study counts the programming commands alone.
        Assert.Equal(measured, link.Seconds(verified, measuredFirst: false), measured * 0.01);
    }
}
