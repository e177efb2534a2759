namespace Swim.Devices;

/// <summary>
/// Power-law drift after programming: G(t) = G_min + (G_0 - G_min) ((t + t0) / t0)^(-nu), t counted from the cell's
/// last programming. nu is drawn per cell from N(mean(x), std(x)) with x = G_0 / G_max, where mean and std are
/// clamp(slope ln x + intercept, min, max) (aihwkit's PCM fit has this form; a state-independent law has slope 0).
/// </summary>
public sealed record DriftLaw
{
    public static DriftLaw None { get; } = new() { MeanIntercept = 0, MeanMin = 0, MeanMax = 0, StdIntercept = 0, StdMin = 0, StdMax = 0, T0Seconds = 1 };

    public double MeanSlope { get; init; }

    public required double MeanIntercept { get; init; }

    public required double MeanMin { get; init; }

    public required double MeanMax { get; init; }

    public double StdSlope { get; init; }

    public required double StdIntercept { get; init; }

    public required double StdMin { get; init; }

    public required double StdMax { get; init; }

    /// <summary>t0 of the law: the time after programming from which the conductance starts to fall.</summary>
    public required double T0Seconds { get; init; }

    public bool IsNone => MeanMax <= 0 && StdMax <= 0;

    /// <summary>nu for a cell programmed to <paramref name="x"/> = G / G_max, given its fixed standard-normal draw <paramref name="z"/>.</summary>
    public double Nu(double x, double z)
    {
        if (IsNone)
        {
            return 0;
        }
        double lnX = Math.Log(Math.Max(x, 1e-7));
        double mean = Math.Clamp(MeanSlope * lnX + MeanIntercept, MeanMin, MeanMax);
        double std = Math.Clamp(StdSlope * lnX + StdIntercept, StdMin, StdMax);
        return Math.Max(0, mean + std * z);
    }

    /// <summary>The factor ((t + t0) / t0)^(-nu) after <paramref name="seconds"/>.</summary>
    public double Factor(double nu, double seconds) => nu <= 0 || seconds <= 0 ? 1 : Math.Pow((seconds + T0Seconds) / T0Seconds, -nu);
}
