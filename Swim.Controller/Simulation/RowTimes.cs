using Swim.Controller.Mapping;
using Swim.Devices;

namespace Swim.Controller.Simulation;

/// <summary>
/// A plan's cells by crossbar row, for the row-parallel time of programming a chip: every cell open loop (a pulse per
/// level per row), read back once (a read per row), and the verified cells in one lock-step pass per row. What does
/// not depend on the selection is worked out once.
/// </summary>
internal sealed class RowTimes
{
    private readonly ArrayTimeModel _model;
    private readonly int[] _rowOf;
    private readonly int _rows;
    private readonly double _programAndReadBack;
    private readonly double _readAll;

    public RowTimes(ArrayTimeModel model, CellPlan plan)
    {
        _model = model;
        var dense = new Dictionary<long, int>();
        _rowOf = new int[plan.CellCount];
        for (int c = 0; c < plan.CellCount; c++)
        {
            long key = plan.RowOf(c);
            if (!dense.TryGetValue(key, out int row))
            {
                dense[key] = row = dense.Count;
            }
            _rowOf[c] = row;
        }
        _rows = dense.Count;
        _readAll = model.Read(_rowOf.Select(r => (long)r), samples: 1).ParallelSeconds;
        _programAndReadBack = model.Program(Enumerable.Range(0, plan.CellCount).Select(c => ((long)_rowOf[c], (int)plan.Levels[c]))).ParallelSeconds + _readAll;
    }

    /// <summary>Row-parallel seconds of programming every cell, verifying <paramref name="verified"/> (taking <paramref name="iterations"/> each) and reading back.</summary>
    public double Seconds(bool[] verified, ushort[] iterations, bool measuredFirst)
    {
        int most = 0;
        for (int c = 0; c < verified.Length; c++)
        {
            most = verified[c] ? Math.Max(most, iterations[c]) : most;
        }
        int width = most + 1;
        var histogram = new int[_rows * width];
        bool any = false;
        for (int c = 0; c < verified.Length; c++)
        {
            if (verified[c])
            {
                histogram[_rowOf[c] * width + iterations[c]]++;
                any = true;
            }
        }
        double ns = 0;
        for (int r = 0; any && r < _rows; r++)
        {
            ns += _model.RowPassNs(histogram.AsSpan(r * width, width));
        }
        return _programAndReadBack + (measuredFirst ? _readAll : 0) + ns / 1e9;
    }
}
