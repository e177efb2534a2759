namespace Swim.Devices;

/// <summary>
/// Read noise with a 1/f component, in the form of aihwkit's PCM and CMO-HfOx fits: a read t seconds after the last
/// write deviates by sigma(G) sqrt(ln((t + t_read) / (2 t_read))), where sigma(G) = min(max_relative G,
/// coefficient G_max x^exponent), x = G / G_max. One draw per READ, shared by its averaged samples: averaging
/// removes white noise, not the slow 1/f part.
/// </summary>
public sealed record FlickerNoise
{
    public static FlickerNoise None { get; } = new() { Coefficient = 0, Exponent = 0, ReadTimeSeconds = 1e-6 };

    public required double Coefficient { get; init; }

    public required double Exponent { get; init; }

    public double MaxRelative { get; init; } = 1;

    /// <summary>t_read of the fit: the integration time of one read.</summary>
    public required double ReadTimeSeconds { get; init; }

    public bool IsNone => Coefficient == 0;

    /// <summary>The standard deviation of a read of <paramref name="g"/> taken <paramref name="seconds"/> after the last write.</summary>
    public double Sigma(double g, double conductanceMax, double seconds)
    {
        if (IsNone || g <= 0)
        {
            return 0;
        }
        double log = Math.Log((seconds + ReadTimeSeconds) / (2 * ReadTimeSeconds));
        if (log <= 0)
        {
            return 0;
        }
        double amplitude = Math.Min(MaxRelative * g, Coefficient * conductanceMax * Math.Pow(g / conductanceMax, Exponent));
        return amplitude * Math.Sqrt(log);
    }
}
