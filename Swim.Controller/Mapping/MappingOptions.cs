namespace Swim.Controller.Mapping;

/// <summary>How weights become cells: magnitude bits, and how signs are held.</summary>
public sealed record MappingOptions
{
    /// <summary>N: magnitude bits per weight (step = max|W_layer| / 2^N, as in SWIM).</summary>
    public int MagnitudeBits { get; init; } = 8;

    /// <summary>Differential pairs (a positive and a negative cell group per weight) or an offset encoding.</summary>
    public SignEncoding Signs { get; init; } = SignEncoding.Differential;

    public void Validate(int bitsPerCell)
    {
        if (MagnitudeBits is < 1 or > 16)
        {
            throw new SwimInputException($"--weight-bits must be 1 to 16 (got {MagnitudeBits}).");
        }
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
