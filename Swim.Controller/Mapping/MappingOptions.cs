namespace Swim.Controller.Mapping;

/// <summary>How weights become cells: magnitude bits, and how signs are held.</summary>
public sealed record MappingOptions
{
    /// <summary>SWIM's 8-bit weights.</summary>
    public const int DefaultMagnitudeBits = 8;

    public const int MinMagnitudeBits = 1;

    public const int MaxMagnitudeBits = 16;

    /// <summary>N: magnitude bits per weight (step = max|W_layer| / 2^N, as in SWIM).</summary>
    public int MagnitudeBits { get; init; } = DefaultMagnitudeBits;

    /// <summary>Differential pairs (a positive and a negative cell group per weight) or an offset encoding.</summary>
    public SignEncoding Signs { get; init; } = SignEncoding.Differential;

    /// <summary>Refuses a bit count outside what Swim maps, before any cells are known.</summary>
    public static void CheckMagnitudeBits(int bits)
    {
        if (bits is < MinMagnitudeBits or > MaxMagnitudeBits)
        {
            throw new SwimInputException($"--weight-bits must be {MinMagnitudeBits} to {MaxMagnitudeBits} (got {bits}).");
        }
    }

    /// <summary>Cells one weight takes on cells of <paramref name="bitsPerCell"/> bits: its digits, twice for differential pairs.</summary>
    public int CellsPerWeight(int bitsPerCell)
    {
        Validate(bitsPerCell);
        return MagnitudeBits / bitsPerCell * (Signs == SignEncoding.Differential ? 2 : 1);
    }

    public void Validate(int bitsPerCell)
    {
        CheckMagnitudeBits(MagnitudeBits);
        if (MagnitudeBits % bitsPerCell != 0)
        {
            throw new SwimInputException($"{MagnitudeBits} magnitude bits do not split into cells of {bitsPerCell} bits (the board's {1 << bitsPerCell} levels); choose a multiple of {bitsPerCell}.");
        }
    }
}

/// <summary>How a weight's sign is stored.</summary>
public enum SignEncoding
{
    /// <summary>Two cell groups per weight; the magnitude goes to the group of its sign, the other group holds zero.</summary>
    Differential,

    /// <summary>One cell group holding w + 2^N (N + 1 bits in all), so zero sits mid-range.</summary>
    Offset,
}
