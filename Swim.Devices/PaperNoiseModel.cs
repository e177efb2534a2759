namespace Swim.Devices;

/// <summary>
/// The SWIM authors' device-variation model (DAC 2022): a weight is sign plus N magnitude bits, step
/// max|W_layer| / 2^N, split over N/m cells of m bits; cell i (1-based) carries significance 2^(-i m) of the
/// layer's full scale and is off by Gaussian noise of std sigma (a fraction of its range). The weight error
/// is then additive and independent of the weight: std = sigma * max|W| * sqrt(sum_i 4^(-i m)).
/// </summary>
public static class PaperNoiseModel
{
    /// <summary>sqrt(sum over the N/m cells of 4^(-i m)): about 0.577 for N = 8, m = 1.</summary>
    public static double SignificanceNorm(int magnitudeBits = 8, int bitsPerCell = 1)
    {
        if (magnitudeBits < 1 || bitsPerCell < 1 || magnitudeBits % bitsPerCell != 0)
        {
            throw new ArgumentException($"{magnitudeBits} magnitude bits cannot be split into cells of {bitsPerCell} bits.");
        }
        double sum = 0;
        for (int i = 1; i <= magnitudeBits / bitsPerCell; i++)
        {
            sum += Math.Pow(4, -i * bitsPerCell);
        }
        return Math.Sqrt(sum);
    }

    /// <summary>The std of one weight's programming error, in weight units.</summary>
    public static double WeightStd(double sigma, double fullScale, int magnitudeBits = 8, int bitsPerCell = 1) =>
        sigma * fullScale * SignificanceNorm(magnitudeBits, bitsPerCell);
}
