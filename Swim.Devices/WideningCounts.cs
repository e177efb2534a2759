namespace Swim.Devices;

/// <summary>
/// One count a cell, held in a byte while every count is under 256, in 16 bits while under 65,536, in 32 bits
/// beyond: a session takes a few pulses and reads a cell, so a board of tens of millions of cells keeps its counters
/// in one byte each until some cell needs more, and then every count still fits.
/// </summary>
internal sealed class WideningCounts
{
    private byte[]? _narrow;
    private ushort[]? _middle;
    private uint[]? _wide;

    public WideningCounts(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _narrow = new byte[count];
        Count = count;
    }

    public int Count { get; }

    /// <summary>The bytes each count takes now: 1, 2 or 4.</summary>
    public int BytesEach => _wide is not null ? 4 : _middle is not null ? 2 : 1;

    public uint this[int cell]
    {
        get => _narrow is not null ? _narrow[cell] : _middle is not null ? _middle[cell] : _wide![cell];
        set
        {
            WidenFor(value);
            if (_narrow is not null)
            {
                _narrow[cell] = (byte)value;
            }
            else if (_middle is not null)
            {
                _middle[cell] = (ushort)value;
            }
            else
            {
                _wide![cell] = value;
            }
        }
    }

    public void Add(int cell, uint amount) => this[cell] = checked(this[cell] + amount);

    public void Increment(int cell)
    {
        if (_narrow is not null && _narrow[cell] < byte.MaxValue)
        {
            _narrow[cell]++;
        }
        else
        {
            Add(cell, 1);
        }
    }

    /// <summary>Every count to zero; the width stays (a board that needed it once is likely to again).</summary>
    public void Clear()
    {
        if (_narrow is not null) Array.Clear(_narrow);
        if (_middle is not null) Array.Clear(_middle);
        if (_wide is not null) Array.Clear(_wide);
    }

    private void WidenFor(uint value)
    {
        if (_narrow is not null && value > byte.MaxValue)
        {
            _middle = new ushort[Count];
            for (int i = 0; i < Count; i++) _middle[i] = _narrow[i];
            _narrow = null;
        }
        if (_middle is not null && value > ushort.MaxValue)
        {
            _wide = new uint[Count];
            for (int i = 0; i < Count; i++) _wide[i] = _middle[i];
            _middle = null;
        }
    }
}
