namespace Swim.Devices;

/// <summary>
/// Conductance relaxation after programming (RRAM): the cell's conductance wanders from where the last write left
/// it by shift(t) + sigma(G, t) z, z drawn once per write. sigma is given at 1 s and at 1 day as polynomials in
/// x = G / G_max (microsiemens at <see cref="ReferenceMax"/>, as aihwkit states its fits) and interpolated in log time
/// between them (extrapolated past a day). Below 1 s the sources give nothing; the spread then grows in log time from
/// zero at <see cref="OnsetSeconds"/>, so a verify loop's own reads (microseconds apart) see none of it.
/// </summary>
public sealed record RelaxationLaw
{
    public static RelaxationLaw None { get; } = new() { ReferenceMax = 1, SigmaAt1Second = [0], SigmaAt1Day = [0] };

    private static readonly double LnDay = Math.Log(86_400);

    /// <summary>The G_max at which the polynomials' microsiemens apply; they scale with G_max / ReferenceMax.</summary>
    public required double ReferenceMax { get; init; }

    /// <summary>Coefficients c_i of sum c_i x^i: the spread 1 s after the write, microsiemens.</summary>
    public required IReadOnlyList<double> SigmaAt1Second { get; init; }

    /// <summary>The same 1 day after the write.</summary>
    public required IReadOnlyList<double> SigmaAt1Day { get; init; }

    /// <summary>Mean shift per unit of ln(t / 1 s), microsiemens (negative: the conductance decays).</summary>
    public double ShiftPerLnSecond { get; init; }

    public double OnsetSeconds { get; init; } = 1e-3;

    public bool IsNone => SigmaAt1Second.All(c => c == 0) && SigmaAt1Day.All(c => c == 0) && ShiftPerLnSecond == 0;

    /// <summary>The conductance <paramref name="seconds"/> after a write that left <paramref name="g"/>, for the write's draw z.</summary>
    public double Apply(double g, double conductanceMax, double seconds, double z)
    {
        if (IsNone || seconds <= OnsetSeconds)
        {
            return g;
        }
        double x = Math.Max(g, 0) / conductanceMax;
        double scale = conductanceMax / ReferenceMax;
        double at1s = Math.Max(0, Polynomial(SigmaAt1Second, x)) * scale;
        double at1d = Math.Max(0, Polynomial(SigmaAt1Day, x)) * scale;
        double sigma, shift;
        if (seconds < 1)
        {
            double grown = Math.Log(seconds / OnsetSeconds) / Math.Log(1 / OnsetSeconds);
            sigma = at1s * grown;
            shift = 0;
        }
        else
        {
            double lnT = Math.Log(seconds);
            sigma = Math.Max(0, at1s + (at1d - at1s) * lnT / LnDay);
            shift = ShiftPerLnSecond * scale * lnT;
        }
        return g + shift + sigma * z;
    }

    private static double Polynomial(IReadOnlyList<double> c, double x)
    {
        double sum = 0, power = 1;
        foreach (double coefficient in c)
        {
            sum += coefficient * power;
            power *= x;
        }
        return sum;
    }
}
