using Swim.Controller.Boards;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Emulator;
using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Controller.Simulation;

/// <summary>
/// The emulator's device physics, with the programming session's mapping: every cell written open loop, read
/// once (what posterior selection sees), read back; and every cell also write-verified by the board's loop and
/// read back. Cells draw from their own random streams, so a cell verified or not comes out exactly as in a
/// session that verified that selection, and one sampled chip serves every method and ratio.
/// Cost is the emulator's device time, serial, and by the row-parallel time model. Each cell is read right after it
/// is programmed or verified, unless the study reads the chips a while after programming (relaxation and drift).
/// </summary>
internal sealed class DeviceVariation : VariationModel
{
    private readonly CellPlan _plan;
    private readonly Func<int, double> _cellVariance;
    private readonly SimulationOptions _options;
    private readonly RowTimes _time;
    private readonly LinkTimes _link;
    private readonly BenchCost _bench;

    public DeviceVariation(OnnxModel model, SimulationOptions options, SensitivityResult? sensitivity = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        DevicePreset preset = options.Device;
        var mappingOptions = new MappingOptions { MagnitudeBits = options.WeightBits, Signs = options.Signs };
        // A board as big as the model needs: the simulation studies variation, not whether the model fits.
        int cellsPerWeight = mappingOptions.CellsPerWeight(System.Numerics.BitOperations.Log2((uint)preset.Levels));
        IReadOnlyList<MappedWeight> weights = model.RequireMappedWeights();
        long needed = weights.Sum(w => w.Dims.Aggregate(1L, (a, d) => a * d)) * cellsPerWeight;
        ushort tiles = (ushort)Math.Min(ushort.MaxValue, 2 * needed / (256 * 256) + 4 * weights.Count + 4);
        BoardInfo board = EmulatedBoard.Describe(preset, new BoardGeometry(tiles, 256, 256), 0);
        CrossbarMapping mapping = CrossbarMapping.Build(model, board, mappingOptions);
        _plan = CellPlan.Build(options.Placement == Placement.Sensitivity ? mapping.Placed(Placements.Scores(mapping, sensitivity)) : mapping, model);
        _cellVariance = DeviceVariance.From(preset)(_plan);
        Layers = WeightLayers.Of(_plan);
        _time = new RowTimes(ArrayTimeModel.Of(board), _plan);
        _link = new LinkTimes(board, _plan, _plan.Mapping.BandOf(options.ToleranceFraction), options.MaxIterations);
        _bench = BenchCost.Of(board, options.MaxIterations, LineRate.ProtocolDefaultBaud);
    }

    public override WeightLayers Layers { get; }

    public override int UnitsPerWeight => _plan.Mapping.CellsPerWeight;

    public override string CostUnit => "device seconds";

    public override double StateSigmaRatio => _options.Device.StateSigmaRatio;

    public override int[] Rank(SelectionMethod method, SensitivityResult? sensitivity, TrialInstance? instance, int seed) =>
        CellSelector.Rank(method, _plan, sensitivity, _cellVariance, method == SelectionMethod.Posterior ? ((DeviceInstance)instance!).Measured : null, seed, StateSigmaRatio,
            _options.SelectionCost, _bench);

    public override TrialInstance Sample(int trial, ulong seed)
    {
        int count = _plan.CellCount;
        ulong cellSeed = (ulong)(uint)MonteCarloSimulation.TrialSeed(seed, trial) | (ulong)trial << 32;
        var cells = new CellArray(_options.Device, count, cellSeed);
        // Read later, an unverified cell must be the one a session left open loop: a twin chip (same seed, so the same
        // cells) written open loop only keeps it, while the first chip's copy of that cell was verified.
        CellArray? openOnly = _options.ReadAfter is null ? null : new CellArray(_options.Device, count, cellSeed);
        float tolerance = _plan.Mapping.BandOf(_options.ToleranceFraction);
        var measured = new float[count];
        var open = new float[count];
        var verified = new float[count];
        var verifyNs = new double[count];
        var iterations = new ushort[count];
        double programNs = 0, readNs = 0;
        for (int c = 0; c < count; c++)
        {
            double target = _plan.TargetConductance(c);
            ulong t0 = cells.CountersOf(c).DeviceTimeNs;
            cells.Program(c, target);
            openOnly?.Program(c, target);
            ulong t1 = cells.CountersOf(c).DeviceTimeNs;
            measured[c] = cells.Read(c);
            ulong t2 = cells.CountersOf(c).DeviceTimeNs;
            open[c] = cells.Read(c);
            ulong t3 = cells.CountersOf(c).DeviceTimeNs;
            iterations[c] = VerifyLoop.Run(cells, c, (float)target, tolerance, _options.MaxIterations).Iterations;
            ulong t4 = cells.CountersOf(c).DeviceTimeNs;
            verified[c] = cells.Read(c);
            programNs += t1 - t0;
            readNs += t2 - t1;
            verifyNs[c] = t4 - t3;
        }
        if (_options.ReadAfter is { } wait)
        {
            // Both chips' clocks end where the verifying session's would, then wait; every cell is read then.
            openOnly!.Wait(TimeSpan.FromTicks((cells.ClockNs - openOnly.ClockNs) / 100));
            cells.Wait(wait);
            openOnly.Wait(wait);
            for (int c = 0; c < count; c++)
            {
                open[c] = openOnly.Read(c);
                verified[c] = cells.Read(c);
            }
        }
        return new DeviceInstance(_plan, _time, _link, measured, open, verified, verifyNs, iterations, programNs, readNs);
    }

    public override void Dispose() => _link.Dispose();

    private sealed class DeviceInstance(CellPlan plan, RowTimes time, LinkTimes link, float[] measured, float[] open, float[] verifiedReads, double[] verifyNs, ushort[] iterations,
        double programNs, double readNs) : TrialInstance
    {
        public float[] Measured => measured;

        public override float[][] Weights(bool[] verified)
        {
            var cells = new float[open.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                cells[c] = verified[c] ? verifiedReads[c] : open[c];
            }
            return plan.Decode(cells);
        }

        // Every cell written and read back once; selected cells verified; posterior reads every cell once more first.
        public override double Cost(bool[] verified, bool measuredFirst)
        {
            double ns = programNs + readNs + (measuredFirst ? readNs : 0);
            for (int c = 0; c < verified.Length; c++)
            {
                if (verified[c])
                {
                    ns += verifyNs[c];
                }
            }
            return ns / 1e9;
        }

        public override double ParallelCost(bool[] verified, bool measuredFirst) => time.Seconds(verified, iterations, measuredFirst);

        public override double LinkCost(bool[] verified, bool measuredFirst) => link.Seconds(verified, measuredFirst);
    }
}
