using Swim.Protocol.Messages;

namespace Swim.Devices;

/// <summary>
/// The cells of an emulated crossbar and their physics: open-loop programming with device-to-device and
/// state-dependent cycle-to-cycle variation, white and 1/f read noise, a soft-bounded pulse response with a
/// per-cell threshold and cycle noise, relaxation and power-law drift on a virtual clock, stuck cells and wear-out. Every operation advances the virtual
/// device clock by its documented cost. Deterministic for a seed: see <see cref="CounterRandom"/>.
/// </summary>
public sealed class CellArray
{
    private const byte NotStuck = 0, StuckLow = 1, StuckHigh = 2, WornOut = 3;

    // Draw streams, so each kind of randomness has its own sequence per cell and operation.
    private const ulong StreamProgram = 1, StreamRead = 2, StreamPulse = 3, StreamRelaxation = 4, StreamFlicker = 5;

    // Streams of the properties fixed at manufacture (operation counter uint.MaxValue).
    private const ulong StreamDeviceOffset = 10, StreamDriftExponent = 11, StreamStuck = 12, StreamThreshold = 13;

    private readonly ulong _seed;
    private readonly CellNumbering _numbering;
    // 25 bytes a cell. What the seed fixes (device offset, drift exponent, threshold) is drawn again when needed rather
    // than kept, and a cell's device time follows from its counters, so a board of tens of millions of cells fits.
    private readonly float[] _anchor;
    private readonly long[] _anchoredAtNs;
    private readonly byte[] _stuck;
    // Writes a cell took before its counters were last cleared: with its pulse counter, every write it ever took (what
    // its draws and its wear count). Made at the first clear; until then the pulse counter is the whole count.
    private uint[]? _clearedPulses;
    private readonly uint[] _readOperations;
    private readonly uint[] _pulses;
    private readonly uint[] _reads;

    // Verify iterations a cell took since its counters were cleared: kept only where an iteration costs time of its own.
    private readonly uint[]? _iterations;

    public CellArray(DevicePreset preset, int count, ulong seed) : this(preset, count, seed, CellNumbering.Whole)
    {
    }

    /// <param name="numbering">Which cells of the seed's array these are (one board of a set); the whole array by default.</param>
    public CellArray(DevicePreset preset, int count, ulong seed, CellNumbering numbering)
    {
        Preset = preset ?? throw new ArgumentNullException(nameof(preset));
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Count = count;
        _seed = seed;
        _numbering = numbering;
        _anchor = new float[count];
        _anchoredAtNs = new long[count];
        _stuck = new byte[count];
        _readOperations = new uint[count];
        _pulses = new uint[count];
        _reads = new uint[count];
        _iterations = preset.VerifyOverheadNs > 0 ? new uint[count] : null;
        for (int i = 0; i < count; i++)
        {
            double u = CounterRandom.Uniform(seed, _numbering.Of(i), uint.MaxValue, StreamStuck);
            _stuck[i] = u < preset.StuckRate * preset.StuckHighFraction ? StuckHigh : u < preset.StuckRate ? StuckLow : NotStuck;
            _anchor[i] = _stuck[i] == StuckHigh ? preset.ConductanceMax : preset.ConductanceMin;
        }
    }

    public DevicePreset Preset { get; }

    public int Count { get; }

    /// <summary>The virtual device clock, ns: the sum of the costs of every operation so far plus any waiting.</summary>
    public long ClockNs { get; private set; }

    public ulong TotalPulses { get; private set; }

    public ulong TotalReads { get; private set; }

    public ulong TotalVerifyIterations { get; private set; }

    public bool IsStuck(int cell) => _stuck[cell] != NotStuck;

    /// <summary>Lets virtual time pass with no activity (retention): the clock moves on, the busy time does not.</summary>
    public void Wait(TimeSpan duration)
    {
        ClockNs += duration.Ticks * 100;
        IdleNs += duration.Ticks * 100;
    }

    /// <summary>Virtual time spent waiting rather than operating.</summary>
    public long IdleNs { get; private set; }

    /// <summary>The device time spent operating: the clock less the waiting.</summary>
    public long BusyNs => ClockNs - IdleNs;

    /// <summary>The conductance now, relaxation and drift included, without reading (no noise, no cost).</summary>
    public double TrueConductance(int cell)
    {
        double g = _anchor[cell];
        // A cell never written (or stuck) holds its state: relaxation and drift follow a write.
        if (!Ages(cell))
        {
            return g;
        }
        double seconds = SecondsSinceWrite(cell);
        if (seconds <= 0)
        {
            return g;
        }
        DevicePreset p = Preset;
        if (!p.Relaxation.IsNone && seconds > p.Relaxation.OnsetSeconds)
        {
            // One draw per write: a cell relaxes one way from each programming, further as time goes on.
            double z = CounterRandom.Gaussian(_seed, _numbering.Of(cell), Operations(cell), StreamRelaxation);
            g = p.Relaxation.Apply(g, p.ConductanceMax, seconds, z);
        }
        if (!p.Drift.IsNone)
        {
            double nu = p.Drift.Nu(_anchor[cell] / p.ConductanceMax, CounterRandom.Gaussian(_seed, _numbering.Of(cell), uint.MaxValue, StreamDriftExponent));
            g = p.ConductanceMin + (g - p.ConductanceMin) * p.Drift.Factor(nu, seconds);
        }
        return Math.Clamp(g, p.ConductanceMin, p.ConductanceMax);
    }

    /// <summary>The switching threshold of this cell: the preset's, moved by its device-to-device offset.</summary>
    public double ThresholdOf(int cell) =>
        Preset.ThresholdVolts + Preset.ThresholdSigmaVolts * CounterRandom.Gaussian(_seed, _numbering.Of(cell), uint.MaxValue, StreamThreshold);

    /// <summary>Whether time since the last write acts on the cell: it was written, and is not stuck.</summary>
    private bool Ages(int cell) => _stuck[cell] == NotStuck && Operations(cell) > 0;

    /// <summary>Every write the cell ever took (programming operations and pulses), counters cleared or not.</summary>
    private uint Operations(int cell) => _pulses[cell] + (_clearedPulses is null ? 0 : _clearedPulses[cell]);

    private double SecondsSinceWrite(int cell) => (ClockNs - _anchoredAtNs[cell]) / 1e9;

    /// <summary>A read: the conductance plus read noise, averaged over <paramref name="samples"/> reads.</summary>
    public float Read(int cell, int samples = 1)
    {
        double g = TrueConductance(cell);
        // Reads draw from their own counter, so reading a cell never changes what later writes do to it.
        uint op = _readOperations[cell]++;
        double flicker = Ages(cell) ? Preset.Flicker.Sigma(g, Preset.ConductanceMax, SecondsSinceWrite(cell)) : 0;
        if (flicker > 0)
        {
            g += flicker * CounterRandom.Gaussian(_seed, _numbering.Of(cell), op, StreamFlicker);
        }
        double sum = 0;
        for (int s = 0; s < samples; s++)
        {
            sum += Preset.ReadSigma == 0 ? g : g + Preset.ReadSigma * Preset.Window * CounterRandom.Gaussian(_seed, _numbering.Of(cell), op, StreamRead * 256 + (ulong)s);
        }
        _reads[cell] += (uint)samples;
        TotalReads += (ulong)samples;
        Spend((ulong)Preset.ReadNs * (ulong)samples);
        return (float)(sum / samples);
    }

    /// <summary>An open-loop write to <paramref name="target"/> microsiemens: one programming operation.</summary>
    public void Program(int cell, double target)
    {
        uint op = Operations(cell);
        CountPulse(cell);
        if (_stuck[cell] != NotStuck)
        {
            return;
        }
        double sigma = Preset.ProgramSigma * Preset.SigmaFactorAt(target) * Preset.Window;
        double g = target + DeviceOffset(cell) + sigma * CounterRandom.Gaussian(_seed, _numbering.Of(cell), op, StreamProgram);
        Anchor(cell, g);
    }

    /// <summary>The step a pulse would make on average at conductance <paramref name="g"/> on a cell of the preset's threshold (no noise).</summary>
    public double ExpectedStep(double g, PulsePolarity polarity, float amplitude, uint widthNs) => StepAt(Preset.ThresholdVolts, g, polarity, amplitude, widthNs);

    private double StepAt(double threshold, double g, PulsePolarity polarity, float amplitude, uint widthNs)
    {
        double drive = (amplitude - threshold) / (Preset.AmplitudeMaxVolts - Preset.ThresholdVolts);
        if (drive <= 0)
        {
            return 0;
        }
        double room = polarity == PulsePolarity.Set ? (Preset.ConductanceMax - g) / Preset.Window : (g - Preset.ConductanceMin) / Preset.Window;
        double bound = Preset.SoftBoundExponent == 1 ? Math.Max(room, 0) : Math.Pow(Math.Max(room, 0), Preset.SoftBoundExponent);
        bound = Math.Max(bound, Preset.SoftBoundFloor);
        double step = Preset.PulseGain * Preset.Window * drive * Math.Sqrt(widthNs / (double)Preset.ReferenceWidthNs) * bound;
        return polarity == PulsePolarity.Set ? step : -step;
    }

    /// <summary>One pulse: the soft-bounded step for its polarity, amplitude and width, with cycle noise.</summary>
    public void Pulse(int cell, PulsePolarity polarity, float amplitude, uint widthNs)
    {
        uint op = Operations(cell);
        CountPulse(cell);
        if (_stuck[cell] != NotStuck)
        {
            return;
        }
        double g = TrueConductance(cell);
        double step = Preset.ThresholdSigmaVolts == 0 ? ExpectedStep(g, polarity, amplitude, widthNs) : StepAt(ThresholdOf(cell), g, polarity, amplitude, widthNs);
        if (step == 0)
        {
            return;
        }
        (double relative, double additive) = CounterRandom.GaussianPair(_seed, _numbering.Of(cell), op, StreamPulse);
        step = step * (1 + Preset.PulseRelativeSigma * relative) + Preset.PulseAdditiveSigma * Preset.Window * additive;
        Anchor(cell, g + step);
    }

    /// <summary>The cell's fixed offset from its targets (device-to-device variation), drawn from the seed.</summary>
    private float DeviceOffset(int cell) =>
        Preset.DeviceSigma == 0 ? 0f : (float)(Preset.DeviceSigma * Preset.Window * CounterRandom.Gaussian(_seed, _numbering.Of(cell), uint.MaxValue, StreamDeviceOffset));

    public CellCounters CountersOf(int cell) => new(_pulses[cell], _reads[cell], TimeNsOf(cell));

    /// <summary>The device time spent on the cell since its counters were cleared: its pulses, read samples and verify iterations at their costs.</summary>
    public ulong TimeNsOf(int cell) =>
        _pulses[cell] * (ulong)Preset.PulseNs + _reads[cell] * (ulong)Preset.ReadNs + (_iterations is null ? 0 : _iterations[cell] * (ulong)Preset.VerifyOverheadNs);

    /// <summary>Restores a cell's device time as saved: what of it its pulses and reads do not explain was its verify iterations'.</summary>
    internal void RestoreTimeNs(int cell, ulong timeNs)
    {
        if (_iterations is not null)
        {
            ulong counted = _pulses[cell] * (ulong)Preset.PulseNs + _reads[cell] * (ulong)Preset.ReadNs;
            _iterations[cell] = (uint)((timeNs - Math.Min(timeNs, counted)) / (ulong)Preset.VerifyOverheadNs);
        }
    }

    public void ClearCounters()
    {
        // The writes counted so far stay counted: clearing counters must not rejuvenate a cell or replay its draws.
        _clearedPulses ??= new uint[Count];
        for (int i = 0; i < Count; i++)
        {
            _clearedPulses[i] += _pulses[i];
        }
        Array.Clear(_pulses);
        Array.Clear(_reads);
        if (_iterations is not null)
        {
            Array.Clear(_iterations);
        }
        TotalPulses = 0;
        TotalReads = 0;
        TotalVerifyIterations = 0;
    }

    internal void CountVerifyIteration(int cell)
    {
        TotalVerifyIterations++;
        if (_iterations is not null)
        {
            _iterations[cell]++;
        }
        Spend(Preset.VerifyOverheadNs);
    }

    private void CountPulse(int cell)
    {
        _pulses[cell]++;
        TotalPulses++;
        Spend(Preset.PulseNs);
        // Wear counts every write the cell ever took (the operation counter), not the pulse counter that RESET and
        // power cycles clear: clearing counters must not rejuvenate a cell.
        if (Preset.Endurance > 0 && Operations(cell) > Preset.Endurance && _stuck[cell] == NotStuck)
        {
            // Worn out: the cell keeps whatever it holds now and no longer responds.
            _anchor[cell] = (float)TrueConductance(cell);
            _stuck[cell] = WornOut;
        }
    }

    private void Spend(ulong ns) => ClockNs += (long)ns;

    private void Anchor(int cell, double g)
    {
        _anchor[cell] = (float)Math.Clamp(g, Preset.ConductanceMin, Preset.ConductanceMax);
        _anchoredAtNs[cell] = ClockNs;
    }

    /// <summary>The persistent state, for saving a board between runs.</summary>
    internal (float[] Anchor, long[] AnchoredAt, byte[] Stuck, uint[] ReadOperations, uint[] Pulses, uint[] Reads) State =>
        (_anchor, _anchoredAtNs, _stuck, _readOperations, _pulses, _reads);

    /// <summary>A cell's writes ever, for saving.</summary>
    internal uint OperationsOf(int cell) => Operations(cell);

    /// <summary>Restores the writes each cell ever took, once its pulse counter is restored.</summary>
    internal void RestoreOperations(uint[] operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        for (int i = 0; i < Count; i++)
        {
            if (operations[i] != _pulses[i])
            {
                _clearedPulses ??= new uint[Count];
                _clearedPulses[i] = operations[i] - _pulses[i];
            }
        }
    }

    internal void Restore(long clockNs, ulong pulses, ulong reads, ulong iterations)
    {
        ClockNs = clockNs;
        TotalPulses = pulses;
        TotalReads = reads;
        TotalVerifyIterations = iterations;
    }
}
