namespace Swim.Controller.Simulation;

/// <summary>
/// The mean of per-chip differences between two results on the same chips, with a 95 % Student-t interval. Every
/// method of a study sees the same chips, so their differences are paired: chip-to-chip spread, which is often ten
/// times a method's effect, cancels.
/// </summary>
/// <param name="Mean">Mean of a - b over the chips.</param>
/// <param name="Low">Lower end of the 95 % interval (NaN with fewer than two chips).</param>
/// <param name="High">Upper end of the 95 % interval (NaN with fewer than two chips).</param>
public sealed record PairedDifference(double Mean, double Low, double High, int Trials)
{
    /// <summary>Whether the interval excludes zero: the data say which of the two is higher.</summary>
    public bool Decided => Low > 0 || High < 0;

    /// <summary>a - b chip by chip.</summary>
    public static PairedDifference Of(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count || a.Count == 0)
        {
            throw new ArgumentException($"paired results need the same chips on both sides (got {a.Count} and {b.Count}).", nameof(b));
        }
        int n = a.Count;
        double[] d = [.. a.Zip(b, (x, y) => x - y)];
        double mean = d.Average();
        if (n < 2)
        {
            return new PairedDifference(mean, double.NaN, double.NaN, n);
        }
        double sd = Math.Sqrt(d.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double half = StudentTQuantile(0.975, n - 1) * sd / Math.Sqrt(n);
        return new PairedDifference(mean, mean - half, mean + half, n);
    }

    /// <summary>The <paramref name="p"/> quantile of Student's t with <paramref name="degrees"/> degrees of freedom, by bisection on its distribution function.</summary>
    public static double StudentTQuantile(double p, int degrees)
    {
        if (p is <= 0 or >= 1 || degrees < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"need 0 < p < 1 and at least one degree of freedom (got p = {p}, {degrees}).");
        }
        if (p < 0.5)
        {
            return -StudentTQuantile(1 - p, degrees);
        }
        double lo = 0, hi = 1;
        while (StudentTDistribution(hi, degrees) < p)
        {
            hi *= 2;
        }
        for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++)
        {
            double mid = (lo + hi) / 2;
            if (StudentTDistribution(mid, degrees) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }

    /// <summary>P(T &lt;= t) for Student's t: 1 - I_x(v/2, 1/2) / 2 with x = v / (v + t^2), for t &gt;= 0.</summary>
    public static double StudentTDistribution(double t, int degrees)
    {
        double x = degrees / (degrees + t * t);
        double tail = RegularizedIncompleteBeta(x, degrees / 2.0, 0.5) / 2;
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>I_x(a, b) by its continued fraction (modified Lentz), using the symmetry I_x(a, b) = 1 - I_(1-x)(b, a) where that converges faster.</summary>
    private static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0)
        {
            return 0;
        }
        if (x >= 1)
        {
            return 1;
        }
        if (x > (a + 1) / (a + b + 2))
        {
            return 1 - RegularizedIncompleteBeta(1 - x, b, a);
        }
        double logFront = a * Math.Log(x) + b * Math.Log(1 - x) - LogBeta(a, b);
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 500; m++)
        {
            // Even step, then odd step, of the continued fraction's coefficients.
            double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 + even * d;
            c = 1 + even / c;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = Math.Abs(c) < tiny ? tiny : c;
            h *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 + odd * d;
            c = 1 + odd / c;
            d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = Math.Abs(c) < tiny ? tiny : c;
            double step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < 1e-15)
            {
                break;
            }
        }
        return Math.Exp(logFront) * h / a;
    }

    private static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>ln Gamma(x) for x &gt; 0 by the Lanczos approximation (g = 7, nine coefficients; about 15 digits).</summary>
    private static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < g.Length; i++)
        {
            sum += g[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
