using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// The host's write-verify loop against cells whose every response is scripted: each pulse moves a cell by what the test
/// says, reads return exactly the cell's value, so every pulse the loop sends can be worked out by hand from its rules
/// (start at a quarter of the amplitude range and ten times the shortest width; push harder by a tenth of the range when
/// a pulse closed less than half the error; back off and halve the step on an overshoot; at full amplitude, lengthen
/// the pulse fourfold while the cell does not move; stuck after three unmoved pulses at full amplitude and width).
/// </summary>
public sealed class HostVerifyLoopTests
{
    private static readonly BoardInfo s_info = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(1, 8, 8), 1).Info;
    private static readonly SafeOperatingArea s_soa = s_info.SafeOperatingArea;
    private static readonly float s_span = s_soa.AmplitudeMaxVolts - s_soa.AmplitudeMinVolts;
    private static readonly float s_start = s_soa.AmplitudeMinVolts + 0.25f * s_span;
    private static readonly float s_step = 0.1f * s_span;

    /// <summary>Cells at scripted conductances: a SET pulse moves a cell by its <c>Up</c>, a RESET by its <c>Down</c>; reads are exact.</summary>
    private sealed class ScriptedCells(EmulatedBoard board) : DelegatingDevice(board)
    {
        public Dictionary<CellAddress, (double G, double Up, double Down)> Cells { get; } = [];

        public List<Pulse> Pulses { get; } = [];

        public List<byte> ReadSamples { get; } = [];

        public override BoardResponse Execute(BoardRequest request)
        {
            switch (request)
            {
                case ReadRequest read:
                    ReadSamples.Add(read.Samples);
                    return new ReadResponse([.. read.Addresses().Select(c => (float)Cells[c].G)]);
                case WritePulseRequest write:
                    foreach (Pulse pulse in write.Pulses)
                    {
                        Pulses.Add(pulse);
                        (double g, double up, double down) = Cells[pulse.Cell];
                        Cells[pulse.Cell] = (pulse.Polarity == PulsePolarity.Set ? g + up : g - down, up, down);
                    }
                    return new WritePulseResponse((ushort)write.Pulses.Count);
                default:
                    return base.Execute(request);
            }
        }
    }

    private static async Task<(StatusCode[] Status, int[] Iterations, ScriptedCells Cells)> Run(float target, float tolerance, ushort maxIterations,
        params (double G, double Up, double Down)[] cells)
    {
        var scripted = new ScriptedCells(new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(1, 8, 8), 1));
        for (int i = 0; i < cells.Length; i++)
        {
            scripted.Cells[new CellAddress(0, 0, (ushort)i)] = cells[i];
        }
        var endpoint = new BoardEndpoint(scripted);
        (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
        Task served = Task.Run(() => endpoint.ServeAsync(board, CancellationToken.None));
        var iterations = new int[cells.Length];
        StatusCode[] status;
        await using (var client = new BoardClient(host, KillSwitch.ClientOptions()))
        {
            await client.IdentifyAsync();
            status = await HostVerifyLoop.RunAsync(client, s_info, [.. scripted.Cells.Keys.Select(c => (c, target))], tolerance, maxIterations, iterations);
        }
        await served.WaitAsync(TimeSpan.FromSeconds(30));
        return (status, iterations, scripted);
    }

    [Fact]
    public async Task A_cell_that_moves_too_little_gets_harder_pulses_until_it_lands_in_the_band()
    {
        // 40 to 50 uS in steps of 3: errors 10, 7, 4 (each more than half the one before: push harder), then 1, in band.
        (StatusCode[] status, int[] iterations, ScriptedCells cells) = await Run(50, 1, 50, (40, 3, 3));
        Assert.Equal([StatusCode.Ok], status);
        Assert.Equal([3], iterations);
        Assert.Equal([s_start, s_start + s_step, s_start + s_step + s_step], cells.Pulses.Select(p => p.AmplitudeVolts));
        Assert.All(cells.Pulses, p => Assert.Equal(PulsePolarity.Set, p.Polarity));
        uint width = (uint)Math.Clamp(10L * s_soa.WidthMinNs, s_soa.WidthMinNs, s_soa.WidthMaxNs);
        Assert.All(cells.Pulses, p => Assert.Equal(width, p.WidthNs));
        // One read before the loop and one after each pulse, each averaging five samples.
        Assert.Equal(Enumerable.Repeat((byte)HostVerifyLoop.ReadSamples, 4), cells.ReadSamples);
    }

    [Fact]
    public async Task A_cell_that_closes_more_than_half_its_error_keeps_its_amplitude()
    {
        // 40 to 50 in steps of 6: errors 10, then 4 (less than half: the same amplitude), then -2 (an overshoot), then in band.
        (StatusCode[] status, int[] iterations, ScriptedCells cells) = await Run(50, 1.5f, 50, (40, 6, 1.5));
        Assert.Equal([StatusCode.Ok], status);
        Assert.Equal([3], iterations);
        // Overshot after the second pulse: back off by the step (not below the minimum) and RESET.
        Assert.Equal([s_start, s_start, Math.Max(s_soa.AmplitudeMinVolts, s_start - s_step)], cells.Pulses.Select(p => p.AmplitudeVolts));
        Assert.Equal([PulsePolarity.Set, PulsePolarity.Set, PulsePolarity.Reset], cells.Pulses.Select(p => p.Polarity));
    }

    [Fact]
    public async Task An_overshoot_halves_the_step_so_the_next_one_backs_off_by_half_as_much()
    {
        // 40 to 50: SET +12 (error -2), RESET -7 (error 5, the sign flips again), SET +12 (error -7), ...
        (_, _, ScriptedCells cells) = await Run(50, 1, 3, (40, 12, 7));
        float second = Math.Max(s_soa.AmplitudeMinVolts, s_start - s_step);
        float third = Math.Max(s_soa.AmplitudeMinVolts, second - s_step / 2);
        Assert.Equal([s_start, second, third], cells.Pulses.Select(p => p.AmplitudeVolts));
        Assert.Equal([PulsePolarity.Set, PulsePolarity.Reset, PulsePolarity.Set], cells.Pulses.Select(p => p.Polarity));
    }

    [Fact]
    public async Task A_cell_out_of_iterations_did_not_converge_and_took_exactly_that_many_pulses()
    {
        (StatusCode[] status, int[] iterations, ScriptedCells cells) = await Run(50, 1, 4, (10, 1, 1));
        Assert.Equal([StatusCode.DidNotConverge], status);
        Assert.Equal([4], iterations);
        Assert.Equal(4, cells.Pulses.Count);
    }

    [Fact]
    public async Task A_cell_that_never_moves_is_pushed_to_full_amplitude_then_longer_pulses_then_declared_stuck()
    {
        (StatusCode[] status, int[] iterations, ScriptedCells cells) = await Run(50, 1, 200, (10, 0, 0));
        Assert.Equal([StatusCode.CellStuck], status);
        // Harder by a step each pulse until full amplitude: from a quarter of the range in tenths, nine pulses reach it.
        float[] amplitudes = [.. cells.Pulses.Select(p => p.AmplitudeVolts)];
        int toFull = Array.IndexOf(amplitudes, s_soa.AmplitudeMaxVolts);
        Assert.Equal(8, toFull);
        Assert.True(amplitudes.Take(toFull).Zip(amplitudes.Skip(1)).All(p => p.Second > p.First));
        Assert.All(amplitudes.Skip(toFull), a => Assert.Equal(s_soa.AmplitudeMaxVolts, a));
        // Then four times longer each pulse, to the longest allowed; then three unmoved pulses at the longest.
        uint[] widths = [.. cells.Pulses.Skip(toFull).Select(p => p.WidthNs)];
        var expected = new List<uint>();
        for (uint w = (uint)Math.Clamp(10L * s_soa.WidthMinNs, s_soa.WidthMinNs, s_soa.WidthMaxNs); ; w = (uint)Math.Min(4L * w, s_soa.WidthMaxNs))
        {
            expected.Add(w);
            if (w == s_soa.WidthMaxNs)
            {
                break;
            }
        }
        expected.AddRange(Enumerable.Repeat(s_soa.WidthMaxNs, HostVerifyLoop.StuckAfter - 1));
        Assert.Equal(expected, widths);
        Assert.Equal([cells.Pulses.Count], iterations);
    }

    [Fact]
    public async Task Cells_in_band_at_the_first_read_get_no_pulse()
    {
        (StatusCode[] status, int[] iterations, ScriptedCells cells) = await Run(50, 1, 50, (49.5, 3, 3), (44, 3, 3), (50.8, 3, 3));
        Assert.Equal([StatusCode.Ok, StatusCode.Ok, StatusCode.Ok], status);
        Assert.Equal([0, 2, 0], iterations);
        Assert.All(cells.Pulses, p => Assert.Equal(new CellAddress(0, 0, 1), p.Cell));
    }
}
