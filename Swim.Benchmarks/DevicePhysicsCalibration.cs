using System.Globalization;
using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Programs and write-verifies many cells of each preset (100,000 by default) to random levels with the board's loop
/// at a band of 1 % of the window, and prints what a device researcher would measure beside what the preset's sources
/// report: open-loop spread, verify iterations a cell (mean, 95th percentile), the verified spread right after the
/// loop, 1 s and 1 day later (read back, so read noise is in it), and full write-verify's serial device time over
/// open-loop programming's. Spreads are standard deviations of read minus target, in % of the window; stuck cells
/// are left out of spreads and iterations.
/// </summary>
public static class DevicePhysicsCalibration
{
    public static int Run(TextWriter output, int cells)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cells:N0} cells a preset, band 1 % of the window, verify limit 50 iterations"));
        output.WriteLine("preset  open-loop  iter mean  iter p95  verified t=0  1 s     1 day   1-day shift  WV/open-loop (serial)");
        foreach (string name in DevicePreset.Names)
        {
            Measurement m = Measure(DevicePreset.ByName(name), cells);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-7} {m.OpenLoop,8:P2} {m.IterationMean,10:F2} {m.IterationP95,9:F0} {m.VerifiedNow,12:P2} {m.Verified1s,7:P2} {m.Verified1d,7:P2} {m.Shift1d,11:P2}  {m.CostRatio,8:F1}x"));
            output.WriteLine($"        sources: {SourceFigures(name)}");
        }
        return 0;
    }

    private sealed record Measurement(double OpenLoop, double IterationMean, double IterationP95, double VerifiedNow, double Verified1s, double Verified1d, double Shift1d, double CostRatio);

    private static Measurement Measure(DevicePreset preset, int count)
    {
        var array = new CellArray(preset, count, seed: 7);
        var random = new Random(11);
        var targets = new float[count];
        var openError = new List<double>(count);
        var nowError = new List<double>(count);
        var iterations = new List<int>(count);
        long openNs = 0, verifyNs = 0;
        float tolerance = (float)(0.01 * preset.Window);
        for (int i = 0; i < count; i++)
        {
            targets[i] = preset.LevelConductance(random.Next(preset.Levels));
            long t0 = array.ClockNs;
            array.Program(i, targets[i]);
            long t1 = array.ClockNs;
            double open = array.TrueConductance(i) - targets[i];
            VerifyOutcome outcome = VerifyLoop.Run(array, i, targets[i], tolerance, 50);
            openNs += t1 - t0;
            verifyNs += array.ClockNs - t1;
            if (!array.IsStuck(i))
            {
                openError.Add(open);
                nowError.Add(array.TrueConductance(i) - targets[i]);
                iterations.Add(outcome.Iterations);
            }
        }
        array.Wait(TimeSpan.FromSeconds(1));
        List<double> at1s = ReadErrors(array, targets);
        array.Wait(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        List<double> at1d = ReadErrors(array, targets);
        iterations.Sort();
        double w = preset.Window;
        return new Measurement(Std(openError) / w, iterations.Average(), iterations[(int)(0.95 * (iterations.Count - 1))], Std(nowError) / w,
            Std(at1s) / w, Std(at1d) / w, at1d.Average() / w, (openNs + verifyNs) / (double)openNs);
    }

    private static List<double> ReadErrors(CellArray array, float[] targets)
    {
        var errors = new List<double>(targets.Length);
        for (int i = 0; i < targets.Length; i++)
        {
            if (!array.IsStuck(i))
            {
                errors.Add(array.Read(i, array.Preset.Verify.ReadSamples) - targets[i]);
            }
        }
        return errors;
    }

    private static double Std(List<double> values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>What the sources report, computed from their published fits at the preset's four levels where they give one.</summary>
    private static string SourceFigures(string preset) => preset switch
    {
        "rram" => string.Create(CultureInfo.InvariantCulture,
            $"open-loop 10 % (SWIM/U-SWIM sigma); NeuRRAM loop limits 20 iterations, 30 pulses a direction; spread after verify (aihwkit's fit of Wan et al. 2022) {LevelRms(DevicePreset.Rram.Relaxation.SigmaAt1Second, 40):P2} at 1 s, {LevelRms(DevicePreset.Rram.Relaxation.SigmaAt1Day, 40):P2} at 1 day"),
        "hfox" => string.Create(CultureInfo.InvariantCulture,
            $"open-loop 10 % (U-SWIM); aihwkit CMO/HfOx: verified (2 % acceptance) {LevelRms([0.0112185391, 0.01129027418], 88.19, 9, inG: 1):P2}, relaxation spread 0.41 uS (0.52 %) at 1 s, 0.89 uS (1.12 %) at 1 day, decay -1.01 uS (-1.28 %) at 1 day"),
        "pcm" => string.Create(CultureInfo.InvariantCulture,
            $"open-loop 10 % (U-SWIM); aihwkit PCM: spread after iterative programming {LevelRms([0.26348, 1.9650, -1.1731], 25):P2}; drift nu 0.049-0.1 (t0 20 s): G x 0.43-0.66 after 1 day"),
        "fefet" => "open-loop 10 % (U-SWIM); De et al. 2022 give no verified spread or drift figures",
        _ => "the SWIM paper: open-loop sigma 10 % of the range, write-verify about 10x a write",
    };

    /// <summary>The RMS over the four levels of a polynomial spread in x = G / G_max (or in G itself when <paramref name="inG"/> is 1), as a fraction of the window.</summary>
    private static double LevelRms(IReadOnlyList<double> coefficients, double gMax, double gMin = 0, double? inG = null)
    {
        double sum = 0;
        for (int level = 0; level < 4; level++)
        {
            double g = gMin + level * (gMax - gMin) / 3;
            double x = inG is null ? g / gMax : g;
            double sigma = coefficients.Select((c, i) => c * Math.Pow(x, i)).Sum();
            sum += sigma * sigma;
        }
        return Math.Sqrt(sum / 4) / (gMax - gMin);
    }
}
