namespace Swim.Devices;

/// <summary>
/// Counter-based randomness: every draw is a pure function of (seed, cell, the cell's own operation count,
/// draw index), hashed with SplitMix64. A cell's history therefore does not depend on the order in which
/// other cells are touched, so pipelined, batched, interrupted and resumed sessions see the same device.
/// </summary>
public static class CounterRandom
{
    public static ulong Hash(ulong seed, ulong cell, ulong counter, ulong stream)
    {
        ulong z = seed ^ (cell * 0x9E3779B97F4A7C15UL) ^ (counter * 0xC2B2AE3D27D4EB4FUL) ^ (stream * 0x165667B19E3779F9UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1).</summary>
    public static double Uniform(ulong seed, ulong cell, ulong counter, ulong stream) =>
        ((Hash(seed, cell, counter, stream) >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Two independent standard normals from one Box-Muller pair.</summary>
    public static (double First, double Second) GaussianPair(ulong seed, ulong cell, ulong counter, ulong stream)
    {
        double radius = Math.Sqrt(-2.0 * Math.Log(Uniform(seed, cell, counter, stream * 2)));
        (double sin, double cos) = Math.SinCos(2.0 * Math.PI * Uniform(seed, cell, counter, stream * 2 + 1));
        return (radius * cos, radius * sin);
    }

    /// <summary>Standard normal by Box-Muller from two counter draws.</summary>
    public static double Gaussian(ulong seed, ulong cell, ulong counter, ulong stream)
    {
        double u1 = Uniform(seed, cell, counter, stream * 2);
        double u2 = Uniform(seed, cell, counter, stream * 2 + 1);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
