namespace Swim.Devices;

/// <summary>Standard normal draws from a seeded <see cref="Random"/> (Box-Muller), for initialisation and injected noise.</summary>
public static class NormalRandom
{
    public static double Next(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }
}
