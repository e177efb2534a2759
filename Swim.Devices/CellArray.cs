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
    // Draw streams, so each kind of randomness has its own sequence per cell and operation.
    private const ulong StreamProgram = 1, StreamRead = 2, StreamPulse = 3, StreamRelaxation = 4, StreamFlicker = 5;

    // Streams of the properties fixed at manufacture (operation counter uint.MaxValue).
    private const ulong StreamDeviceOffset = 10, StreamDriftExponent = 11, StreamStuck = 12, StreamThreshold = 13;

    // Cells sharing one time base: a write far from its block's base moves the base and the block's other offsets.
    private const int TimeBlockShift = 6;
    // Below 2^24 ns (16.8 ms) a float offset is exact to the nanosecond, so a cell's recent writes age exactly.
    private const long ExactOffsetNs = 1L << 24;
    private const double Levels = ushort.MaxValue;

    private readonly ulong _seed;
    private readonly CellNumbering _numbering;
    // About 9 bytes a cell. What the seed fixes (device offset, drift exponent, threshold, stuck cells) is drawn again
    // when needed rather than kept, a cell's device time follows from its counters, its conductance is kept to 1/65,535
    // of the window (far below any read noise) and its last write's time as a float offset from its block's base, so a
    // board of tens of millions of cells fits.
    private readonly ushort[] _level;
    private readonly long[] _blockBaseNs;
    private readonly float[] _sinceBaseNs;
    // Stuck at manufacture or worn out: such a cell keeps what it holds and no longer responds.
    private readonly ulong[] _stuck;
    // Writes a cell took before its counters were last cleared: with its pulse counter, every write it ever took (what
    // its draws and its wear count). Made at the first clear; until then the pulse counter is the whole count.
    private WideningCounts? _clearedPulses;
    private readonly WideningCounts _readOperations;
    private readonly WideningCounts _pulses;
    private readonly WideningCounts _reads;

    // Verify iterations a cell took since its counters were cleared: kept only where an iteration costs time of its own.
    private readonly WideningCounts? _iterations;
    private readonly double _levelStep;

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
        _level = new ushort[count];
        _blockBaseNs = new long[(count >> TimeBlockShift) + 1];
        _sinceBaseNs = new float[count];
        _stuck = new ulong[(count + 63) / 64];
        _readOperations = new WideningCounts(count);
        _pulses = new WideningCounts(count);
        _reads = new WideningCounts(count);
        _iterations = preset.VerifyOverheadNs > 0 ? new WideningCounts(count) : null;
        _levelStep = (preset.ConductanceMax - preset.ConductanceMin) / Levels;
        for (int i = 0; i < count; i++)
        {
            double u = CounterRandom.Uniform(seed, _numbering.Of(i), uint.MaxValue, StreamStuck);
            if (u < preset.StuckRate)
            {
                MarkStuck(i);
                _level[i] = u < preset.StuckRate * preset.StuckHighFraction ? ushort.MaxValue : (ushort)0;
            }
        }
    }

    public DevicePreset Preset { get; }

    public int Count { get; }

    /// <summary>The virtual device clock, ns: the sum of the costs of every operation so far plus any waiting.</summary>
    public long ClockNs { get; private set; }

    public ulong TotalPulses { get; private set; }

    public ulong TotalReads { get; private set; }

    public ulong TotalVerifyIterations { get; private set; }

    public bool IsStuck(int cell) => (_stuck[cell >> 6] & (1UL << cell)) != 0;

    private void MarkStuck(int cell) => _stuck[cell >> 6] |= 1UL << cell;

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
        double g = Anchored(cell);
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
            double nu = p.Drift.Nu(Anchored(cell) / p.ConductanceMax, CounterRandom.Gaussian(_seed, _numbering.Of(cell), uint.MaxValue, StreamDriftExponent));
            g = p.ConductanceMin + (g - p.ConductanceMin) * p.Drift.Factor(nu, seconds);
        }
        return Math.Clamp(g, p.ConductanceMin, p.ConductanceMax);
    }

    /// <summary>The switching threshold of this cell: the preset's, moved by its device-to-device offset.</summary>
    public double ThresholdOf(int cell) =>
        Preset.ThresholdVolts + Preset.ThresholdSigmaVolts * CounterRandom.Gaussian(_seed, _numbering.Of(cell), uint.MaxValue, StreamThreshold);

    /// <summary>Whether time since the last write acts on the cell: it was written, and is not stuck.</summary>
    private bool Ages(int cell) => !IsStuck(cell) && Operations(cell) > 0;

    /// <summary>Every write the cell ever took (programming operations and pulses), counters cleared or not.</summary>
    private uint Operations(int cell) => _pulses[cell] + (_clearedPulses is null ? 0 : _clearedPulses[cell]);

    private double SecondsSinceWrite(int cell) => (ClockNs - AnchoredAtNs(cell)) / 1e9;

    /// <summary>The conductance the cell's last write left, microsiemens.</summary>
    private double Anchored(int cell) => Preset.ConductanceMin + _level[cell] * _levelStep;

    /// <summary>When the cell's last write was, on the device clock (exact to the ns within 16.8 ms of its block's base).</summary>
    private long AnchoredAtNs(int cell) => _blockBaseNs[cell >> TimeBlockShift] + (long)_sinceBaseNs[cell];

    /// <summary>A read: the conductance plus read noise, averaged over <paramref name="samples"/> reads.</summary>
    public float Read(int cell, int samples = 1)
    {
        double g = TrueConductance(cell);
        // Reads draw from their own counter, so reading a cell never changes what later writes do to it.
        uint op = _readOperations[cell];
        _readOperations.Increment(cell);
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
        _reads.Add(cell, (uint)samples);
        TotalReads += (ulong)samples;
        Spend((ulong)Preset.ReadNs * (ulong)samples);
        return (float)(sum / samples);
    }

    /// <summary>An open-loop write to <paramref name="target"/> microsiemens: one programming operation.</summary>
    public void Program(int cell, double target)
    {
        uint op = Operations(cell);
        CountPulse(cell);
        if (IsStuck(cell))
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
        if (IsStuck(cell))
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

    public void ClearCounters()
    {
        // The writes counted so far stay counted: clearing counters must not rejuvenate a cell or replay its draws.
        _clearedPulses ??= new WideningCounts(Count);
        for (int i = 0; i < Count; i++)
        {
            _clearedPulses.Add(i, _pulses[i]);
        }
        _pulses.Clear();
        _reads.Clear();
        _iterations?.Clear();
        TotalPulses = 0;
        TotalReads = 0;
        TotalVerifyIterations = 0;
    }

    internal void CountVerifyIteration(int cell)
    {
        TotalVerifyIterations++;
        if (_iterations is not null)
        {
            _iterations.Increment(cell);
        }
        Spend(Preset.VerifyOverheadNs);
    }

    private void CountPulse(int cell)
    {
        _pulses.Increment(cell);
        TotalPulses++;
        Spend(Preset.PulseNs);
        // Wear counts every write the cell ever took (the operation counter), not the pulse counter that RESET and
        // power cycles clear: clearing counters must not rejuvenate a cell.
        if (Preset.Endurance > 0 && Operations(cell) > Preset.Endurance && !IsStuck(cell))
        {
            // Worn out: the cell keeps whatever it holds now and no longer responds.
            _level[cell] = LevelOf(TrueConductance(cell));
            MarkStuck(cell);
        }
    }

    private void Spend(ulong ns) => ClockNs += (long)ns;

    private void Anchor(int cell, double g)
    {
        _level[cell] = LevelOf(g);
        int block = cell >> TimeBlockShift;
        long since = ClockNs - _blockBaseNs[block];
        if (since >= ExactOffsetNs)
        {
            // The block's base moves to now; its other cells keep their write times, rounded to a float's
            // precision (under a part in ten million of how long ago they were written).
            int first = block << TimeBlockShift, end = Math.Min(Count, first + (1 << TimeBlockShift));
            for (int i = first; i < end; i++)
            {
                _sinceBaseNs[i] = AnchoredAtNs(i) - ClockNs;
            }
            _blockBaseNs[block] = ClockNs;
            since = 0;
        }
        _sinceBaseNs[cell] = since;
    }

    private ushort LevelOf(double g) =>
        (ushort)Math.Round((Math.Clamp(g, Preset.ConductanceMin, Preset.ConductanceMax) - Preset.ConductanceMin) / _levelStep);

    /// <summary>The resident bytes the cells take now (their counters widen when a count passes 255 or 65,535).</summary>
    public long ResidentBytes =>
        (long)Count * (sizeof(ushort) + sizeof(float)) + _blockBaseNs.Length * sizeof(long) + _stuck.Length * sizeof(ulong)
        + (long)Count * (_readOperations.BytesEach + _pulses.BytesEach + _reads.BytesEach
            + (_clearedPulses?.BytesEach ?? 0) + (_iterations?.BytesEach ?? 0));

    /// <summary>Saves every cell's state exactly as held, so a board restored from it goes on as if never stopped.</summary>
    internal void WriteTo(BinaryWriter writer)
    {
        writer.Write(ClockNs);
        writer.Write(IdleNs);
        writer.Write(TotalPulses);
        writer.Write(TotalReads);
        writer.Write(TotalVerifyIterations);
        foreach (ushort v in _level) writer.Write(v);
        foreach (long v in _blockBaseNs) writer.Write(v);
        foreach (float v in _sinceBaseNs) writer.Write(v);
        foreach (ulong v in _stuck) writer.Write(v);
        for (int i = 0; i < Count; i++)
        {
            writer.Write(Operations(i));
            writer.Write(_readOperations[i]);
            writer.Write(_pulses[i]);
            writer.Write(_reads[i]);
            writer.Write(_iterations is null ? 0u : _iterations[i]);
        }
    }

    /// <summary>Restores what <see cref="WriteTo"/> saved, on cells of the same preset, count and seed.</summary>
    internal void ReadFrom(BinaryReader reader)
    {
        ClockNs = reader.ReadInt64();
        IdleNs = reader.ReadInt64();
        TotalPulses = reader.ReadUInt64();
        TotalReads = reader.ReadUInt64();
        TotalVerifyIterations = reader.ReadUInt64();
        for (int i = 0; i < _level.Length; i++) _level[i] = reader.ReadUInt16();
        for (int i = 0; i < _blockBaseNs.Length; i++) _blockBaseNs[i] = reader.ReadInt64();
        for (int i = 0; i < _sinceBaseNs.Length; i++) _sinceBaseNs[i] = reader.ReadSingle();
        for (int i = 0; i < _stuck.Length; i++) _stuck[i] = reader.ReadUInt64();
        for (int i = 0; i < Count; i++)
        {
            uint operations = reader.ReadUInt32();
            _readOperations[i] = reader.ReadUInt32();
            _pulses[i] = reader.ReadUInt32();
            _reads[i] = reader.ReadUInt32();
            uint iterations = reader.ReadUInt32();
            if (operations != _pulses[i])
            {
                _clearedPulses ??= new WideningCounts(Count);
                _clearedPulses[i] = operations - _pulses[i];
            }
            if (_iterations is not null)
            {
                _iterations[i] = iterations;
            }
        }
    }
}
