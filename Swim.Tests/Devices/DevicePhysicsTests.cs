using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Tests.Devices;

/// <summary>
/// Statistics over 10,000+ cells against the values the configuration implies. "Within sampling error" is
/// four standard errors: a mean of n draws of std s is off by more than 4 s / sqrt(n) with probability 6e-5,
/// a sample std by more than 4 s / sqrt(2n) likewise (normal approximation).
/// </summary>
public sealed class DevicePhysicsTests
{
    private const int Cells = 20_000;

    private static (double Mean, double Std) Moments(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        return (mean, std);
    }

    [Theory]
    [InlineData("paper", 1)]
    [InlineData("rram", 1)]
    [InlineData("rram", 0)]
    [InlineData("fefet", 2)]
    public void Open_loop_programming_error_has_the_configured_mean_and_std(string presetName, int level)
    {
        // Half the presets' open-loop sigma, so the middle levels stay clear of the window's edges (at sigma 0.1 and
        // s = 4 a middle level of a window starting at 0 uS lies 2.2 sigma from the edge and loses 1.4 % of draws to it).
        DevicePreset preset = DevicePreset.ByName(presetName).WithoutTimeEffects() with { StuckRate = 0, ProgramSigma = 0.05 };
        var cells = new CellArray(preset, Cells, seed: 7);
        double target = preset.LevelConductance(level);
        var errors = new List<double>();
        for (int i = 0; i < Cells; i++)
        {
            cells.Program(i, target);
            double g = cells.TrueConductance(i);
            if (g > preset.ConductanceMin && g < preset.ConductanceMax)
            {
                errors.Add(g - target);
            }
        }
        // Clamping at the window's edges truncates the tails; the edge levels lose about half their draws
        // there, so the comparison holds the centre levels to the full model and the edges to their surviving side.
        double expectedStd = preset.Window * Math.Sqrt(Math.Pow(preset.ProgramSigma * preset.LevelSigmaFactors[level], 2) + preset.DeviceSigma * preset.DeviceSigma);
        (double mean, double std) = Moments(errors);
        if (level > 0 && level < preset.Levels - 1)
        {
            Assert.True(errors.Count > Cells * 0.99, $"{Cells - errors.Count} cells clamped");
            Assert.InRange(mean, -4 * expectedStd / Math.Sqrt(errors.Count), 4 * expectedStd / Math.Sqrt(errors.Count));
            Assert.InRange(std, expectedStd * (1 - 4 / Math.Sqrt(2.0 * errors.Count)), expectedStd * (1 + 4 / Math.Sqrt(2.0 * errors.Count)));
        }
        else
        {
            // A half-normal: mean s sqrt(2 / pi), about half the draws survive.
            Assert.InRange(errors.Count, Cells * 0.48, Cells * 0.52);
            double halfMean = expectedStd * Math.Sqrt(2 / Math.PI);
            Assert.InRange(Math.Abs(mean), halfMean * 0.95, halfMean * 1.05);
        }
    }

    [Fact]
    public void A_cell_wears_out_after_its_endurance_and_clearing_the_counters_does_not_renew_it()
    {
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0, Endurance = 100 };
        var cells = new CellArray(preset, 2, seed: 3);
        for (int i = 0; i < 60; i++)
        {
            cells.Pulse(0, PulsePolarity.Set, 1.5f, 100);
            cells.Pulse(1, PulsePolarity.Set, 1.5f, 100);
        }
        cells.ClearCounters();
        for (int i = 0; i < 41; i++)
        {
            cells.Pulse(0, PulsePolarity.Reset, 1.5f, 100);
        }
        for (int i = 0; i < 40; i++)
        {
            cells.Pulse(1, PulsePolarity.Reset, 1.5f, 100);
        }

        Assert.True(cells.IsStuck(0), "101 writes in all, 41 since the counters were cleared");
        Assert.False(cells.IsStuck(1), "100 writes in all");
        Assert.Equal(41u, cells.CountersOf(0).Pulses);
    }

    [Fact]
    public void Middle_levels_are_noisier_by_the_state_dependent_factor()
    {
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0, DeviceSigma = 0 };
        var cells = new CellArray(preset, Cells, seed: 3);
        double Std(int level)
        {
            double target = preset.LevelConductance(level);
            var errors = new List<double>();
            for (int i = 0; i < Cells / 2; i++)
            {
                int cell = level == 1 ? i : Cells / 2 + i;
                cells.Program(cell, target);
                errors.Add(cells.TrueConductance(cell) - target);
            }
            return Moments(errors).Std;
        }
        double middle = Std(1);
        double outerPlusOne = Std(2);
        Assert.Equal(preset.ProgramSigma * preset.LevelSigmaFactors[1] * preset.Window, middle, middle * 0.06);
        Assert.Equal(1.0, outerPlusOne / middle, 0.06);
        Assert.Equal(4.0, preset.LevelSigmaFactors[1] / preset.LevelSigmaFactors[0], 1e-9);
    }

    [Fact]
    public void Write_verify_reaches_the_tolerance_with_the_expected_iteration_distribution()
    {
        DevicePreset preset = DevicePreset.Rram.WithoutTimeEffects() with { StuckRate = 0 };
        var cells = new CellArray(preset, Cells, seed: 11);
        double target = preset.LevelConductance(1);
        float tolerance = (float)(0.01 * preset.Window);
        double readSigma = preset.ReadSigma * preset.Window / Math.Sqrt(preset.Verify.ReadSamples);
        var iterations = new int[Cells];
        int converged = 0, withinBand = 0;
        for (int i = 0; i < Cells; i++)
        {
            cells.Program(i, target);
            VerifyOutcome outcome = VerifyLoop.Run(cells, i, (float)target, tolerance, 50);
            iterations[i] = outcome.Iterations;
            if (outcome.Status == StatusCode.Ok)
            {
                converged++;
                // The loop stops on an averaged read inside the band; read noise separates read and truth.
                if (Math.Abs(cells.TrueConductance(i) - target) <= tolerance + 4 * readSigma)
                {
                    withinBand++;
                }
            }
        }
        Assert.True(converged >= Cells * 0.99, $"{converged} of {Cells} converged");
        Assert.Equal(converged, withinBand);
        // No iteration is needed exactly when the first read already lies in the band: the read is the target
        // plus programming error plus averaged read noise, normal with the combined std, so P = erf(tol / (s sqrt 2)).
        double s = Math.Sqrt(Math.Pow(preset.ProgramSigma * preset.LevelSigmaFactors[1] * preset.Window, 2) + readSigma * readSigma);
        double expectedZero = Erf(tolerance / (s * Math.Sqrt(2)));
        double zero = iterations.Count(n => n == 0) / (double)Cells;
        Assert.InRange(zero, expectedZero - 4 * Math.Sqrt(expectedZero * (1 - expectedZero) / Cells), expectedZero + 4 * Math.Sqrt(expectedZero * (1 - expectedZero) / Cells));
        // Incremental steps from a small start take several pulses, as published loops do (5 to 20), never one.
        double mean = iterations.Where(n => n > 0).Average();
        Assert.InRange(mean, 4, 12);
        Assert.True(iterations.Order().ElementAt((int)(Cells * 0.95)) <= 20, "95 % of cells converge within 20 iterations");
    }

    [Fact]
    public void Write_verify_steps_its_amplitude_up_from_the_start_voltage_as_worked_by_hand()
    {
        // A noiseless cell of the preset's threshold 1.1 V, window 0-40 uS, gain 0.15, soft bound off (exponent 0 and
        // floor 1: every step is the full one). Pulse k of a run in one direction is 1.2 + 0.1 (k - 1) V, so its drive is
        // 0.1 k / 2.2 and its step 0.15 * 40 * 0.1 k / 2.2 = 0.2727 k uS: 0.273, 0.545, 0.818, 1.091, ... cumulative
        // 0.273, 0.818, 1.636, 2.727, 4.091, 5.727. From 10 uS to a target of 15 +- 0.4 uS: after pulse 5 the cell is
        // at 14.091 (below 14.6), after pulse 6 at 15.727 (above 15.4): it reverses, and the RESET run starts again at
        // 1.2 V: 15.727 - 0.273 = 15.455, still above; the second RESET pulse (0.545) leaves 14.909, inside. 8 pulses.
        DevicePreset preset = DevicePreset.Rram.WithoutTimeEffects() with
        {
            StuckRate = 0, ProgramSigma = 0, ReadSigma = 0, PulseRelativeSigma = 0, PulseAdditiveSigma = 0, ThresholdSigmaVolts = 0,
            SoftBoundExponent = 0, SoftBoundFloor = 1,
        };
        var cells = new CellArray(preset, 1, seed: 1);
        cells.Program(0, 10);
        VerifyOutcome outcome = VerifyLoop.Run(cells, 0, 15, 0.4f, 50);
        Assert.Equal(StatusCode.Ok, outcome.Status);
        Assert.Equal(8, outcome.Iterations);
        Assert.Equal(14.909, cells.TrueConductance(0), 0.002);
    }

    [Fact]
    public void Drift_follows_the_power_law_with_the_exponents_of_the_ibm_pcm_fit()
    {
        DevicePreset preset = DevicePreset.Pcm with { StuckRate = 0 };
        var cells = new CellArray(preset, Cells, seed: 5);
        var programmed = new double[Cells];
        for (int i = 0; i < Cells; i++)
        {
            cells.Program(i, preset.LevelConductance(2));
            programmed[i] = cells.TrueConductance(i);
        }
        cells.Wait(TimeSpan.FromSeconds(1000));
        var exponents = new List<double>();
        for (int i = 0; i < Cells; i++)
        {
            exponents.Add(-Math.Log(cells.TrueConductance(i) / programmed[i]));
        }
        // aihwkit's fit at x = G / G_max = 2/3: mean -0.0155 ln x + 0.0244 = 0.0307, clamped up to 0.049; std
        // -0.0125 ln x - 0.0059 < 0, clamped up to 0.008. With t0 = 20 s and t >> the programming phase (~0.02 s),
        // -ln(ratio) / ln((1000 s + 20 s) / 20 s) is the cell's nu.
        double logTime = Math.Log(1020.0 / 20);
        (double mean, double std) = Moments(exponents.Select(e => e / logTime).ToList());
        Assert.Equal(0.049, mean, 4 * 0.008 / Math.Sqrt(Cells) + 2e-4);
        Assert.InRange(std, 0.008 * 0.9, 0.008 * 1.1);
    }

    /// <summary>
    /// A drift law with no spread (every cell the same nu) is still drift: a cell at 10 uS above G_min, nu = 0.05 and
    /// t0 = 10 s, falls to 10 (1010 / 10)^-0.05 = 7.9393 uS above it after 1000 s (the 20 ms programming phase moves that
    /// by under 1e-5). A law that took "no spread" for "no drift" would leave it where it was written.
    /// </summary>
    [Fact]
    public void Drift_without_spread_moves_every_cell_by_the_same_power_law()
    {
        DevicePreset preset = DevicePreset.Pcm.WithoutTimeEffects() with
        {
            StuckRate = 0, ProgramSigma = 0,
            Drift = new DriftLaw { MeanIntercept = 0.05, MeanMin = 0.05, MeanMax = 0.05, StdIntercept = 0, StdMin = 0, StdMax = 0, T0Seconds = 10 },
        };
        var cells = new CellArray(preset, 100, seed: 8);
        double written = preset.ConductanceMin + 10;
        for (int i = 0; i < 100; i++)
        {
            cells.Program(i, written);
        }
        cells.Wait(TimeSpan.FromSeconds(1000));
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal(7.9393, cells.TrueConductance(i) - preset.ConductanceMin, 3e-4));
    }

    /// <summary>
    /// Relaxation with a mean shift and no spread moves every cell by shift ln(t), whatever its draw: -0.1 uS per unit
    /// of ln t at the reference G_max gives 10 - 0.1 ln 100 = 9.53948 uS after 100 s, and twice the shift at twice G_max.
    /// </summary>
    [Fact]
    public void Relaxation_without_spread_shifts_by_the_law_alone()
    {
        var law = new RelaxationLaw { ReferenceMax = 40, SigmaAt1Second = [0], SigmaAt1Day = [0], ShiftPerLnSecond = -0.1 };

        Assert.False(law.IsNone);
        Assert.Equal(9.53948, law.Apply(10, 40, 100, z: 3), 5);
        Assert.Equal(9.53948, law.Apply(10, 40, 100, z: -2), 5);
        Assert.Equal(10 - 0.2 * Math.Log(100), law.Apply(10, 80, 100, z: 0), 12);
    }

    [Fact]
    public void Relaxation_spreads_as_the_neurram_fit_says_at_one_second_and_one_day()
    {
        // aihwkit's polynomials for Wan et al. 2022 at x = 1/3 (13.33 uS of 40): 1 s: 0.348 + 16.030/3 - 43.853/9
        // + 45.393/27 - 16.815/81 = 2.2923 uS; 1 day: 0.701 + 22.086/3 - 50.773/9 + 47.095/27 - 16.458/81 = 3.9627 uS.
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0, ProgramSigma = 0 };
        var cells = new CellArray(preset, Cells, seed: 3);
        for (int i = 0; i < Cells; i++)
        {
            cells.Program(i, preset.LevelConductance(1));
        }
        // The programming phase takes 20 ms of device time: small beside 1 s in log time (a 1 % change of ln t at most).
        cells.Wait(TimeSpan.FromSeconds(1));
        (double mean1s, double std1s) = Moments([.. Enumerable.Range(0, Cells).Select(i => cells.TrueConductance(i) - preset.LevelConductance(1))]);
        cells.Wait(TimeSpan.FromDays(1) - TimeSpan.FromSeconds(1));
        (_, double std1d) = Moments([.. Enumerable.Range(0, Cells).Select(i => cells.TrueConductance(i) - preset.LevelConductance(1))]);
        Assert.InRange(mean1s, -4 * 2.29 / Math.Sqrt(Cells), 4 * 2.29 / Math.Sqrt(Cells));
        Assert.Equal(2.2923, std1s, 2.2923 * 0.04);
        Assert.Equal(3.9627, std1d, 3.9627 * 0.04);
    }

    [Fact]
    public void Hfox_cells_decay_by_the_cmo_fit_and_pcm_reads_carry_one_over_f_noise_that_averaging_does_not_remove()
    {
        // CMO/HfOx (aihwkit): mean shift -0.08900 ln(t): -1.0116 uS after a day.
        DevicePreset hfox = DevicePreset.HfOx with { StuckRate = 0, ProgramSigma = 0 };
        var h = new CellArray(hfox, Cells, seed: 4);
        for (int i = 0; i < Cells; i++)
        {
            h.Program(i, 50);
        }
        h.Wait(TimeSpan.FromDays(1));
        Assert.Equal(-1.0116, Enumerable.Range(0, Cells).Average(i => h.TrueConductance(i) - 50), 0.03);

        // PCM read 1 s after the write at G = 50/3 uS (x = 2/3): Q = 0.0088 / (2/3)^0.65 = 0.011454, std
        // G Q sqrt(ln((1 s + 250 ns) / 500 ns)) = 16.667 * 0.011454 * 3.8091 = 0.7272 uS, the same for 1 sample or 5.
        DevicePreset pcm = DevicePreset.Pcm.WithoutTimeEffects() with { StuckRate = 0, ProgramSigma = 0 };
        var p = new CellArray(pcm, Cells, seed: 6);
        double g = pcm.LevelConductance(2);
        for (int i = 0; i < Cells; i++)
        {
            p.Program(i, g);
        }
        p.Wait(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(p.ClockNs / 100));
        (_, double single) = Moments([.. Enumerable.Range(0, Cells / 2).Select(i => (double)p.Read(i, 1) - g)]);
        (_, double averaged) = Moments([.. Enumerable.Range(Cells / 2, Cells / 2).Select(i => (double)p.Read(i, 5) - g)]);
        Assert.Equal(0.7272, single, 0.7272 * 0.05);
        Assert.Equal(0.7272, averaged, 0.7272 * 0.05);
    }

    [Fact]
    public void Stuck_cells_occur_at_the_configured_rate_and_do_not_move()
    {
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0.05 };
        var cells = new CellArray(preset, Cells, seed: 13);
        int stuck = 0, high = 0;
        for (int i = 0; i < Cells; i++)
        {
            if (!cells.IsStuck(i))
            {
                continue;
            }
            stuck++;
            double before = cells.TrueConductance(i);
            high += before == preset.ConductanceMax ? 1 : 0;
            Assert.True(before == preset.ConductanceMin || before == preset.ConductanceMax);
            cells.Program(i, preset.LevelConductance(2));
            cells.Pulse(i, PulsePolarity.Set, preset.AmplitudeMaxVolts, preset.ReferenceWidthNs);
            Assert.Equal(before, cells.TrueConductance(i));
            Assert.Equal(StatusCode.CellStuck, VerifyLoop.Run(cells, i, preset.LevelConductance(1), 0.5f, 50).Status);
        }
        double p = preset.StuckRate;
        Assert.InRange(stuck, Cells * p - 4 * Math.Sqrt(Cells * p * (1 - p)), Cells * p + 4 * Math.Sqrt(Cells * p * (1 - p)));
        // Published arrays are mostly stuck high; the preset says which share.
        double q = preset.StuckHighFraction;
        Assert.InRange(high, stuck * q - 4 * Math.Sqrt(stuck * q * (1 - q)), stuck * q + 4 * Math.Sqrt(stuck * q * (1 - q)));
    }

    [Fact]
    public void Pulses_follow_polarity_and_soft_bounds()
    {
        // Without noise and drift, so a step is the model's expected step and nothing moves between pulses.
        DevicePreset preset = DevicePreset.Rram.WithoutTimeEffects() with { StuckRate = 0, PulseRelativeSigma = 0, PulseAdditiveSigma = 0, ThresholdSigmaVolts = 0 };
        var cells = new CellArray(preset, 2, seed: 1);
        cells.Program(0, preset.LevelConductance(0) + 5);
        cells.Program(1, preset.ConductanceMax - 5);
        double low = cells.TrueConductance(0), high = cells.TrueConductance(1);

        cells.Pulse(0, PulsePolarity.Set, 2.0f, 100);
        cells.Pulse(1, PulsePolarity.Set, 2.0f, 100);
        double stepLow = cells.TrueConductance(0) - low, stepHigh = cells.TrueConductance(1) - high;

        Assert.True(stepLow > 0 && stepHigh > 0);
        Assert.True(stepLow > 5 * stepHigh, "a SET step shrinks near G_max (soft bound)");
        cells.Pulse(0, PulsePolarity.Reset, 2.0f, 100);
        Assert.True(cells.TrueConductance(0) < low + stepLow);
        double before = cells.TrueConductance(0);
        cells.Pulse(0, PulsePolarity.Set, preset.ThresholdVolts - 0.1f, 100);
        Assert.Equal(before, cells.TrueConductance(0));
    }

    [Fact]
    public void The_same_seed_and_commands_give_the_same_board()
    {
        static CellArray Run(ulong seed)
        {
            var cells = new CellArray(DevicePreset.Pcm, 500, seed);
            for (int i = 0; i < 500; i++)
            {
                cells.Program(i, 12);
                VerifyLoop.Run(cells, i, 12, 0.2f, 20);
            }
            cells.Wait(TimeSpan.FromSeconds(60));
            return cells;
        }
        CellArray a = Run(99), b = Run(99), other = Run(98);
        Assert.All(Enumerable.Range(0, 500), i => Assert.Equal(a.TrueConductance(i), b.TrueConductance(i)));
        Assert.Contains(Enumerable.Range(0, 500), i => a.TrueConductance(i) != other.TrueConductance(i));
    }

    [Fact]
    public void Without_drift_a_cell_does_not_depend_on_the_order_cells_are_touched_in()
    {
        // Randomness is per cell and per operation; only drift reads the shared board clock.
        DevicePreset preset = DevicePreset.Rram with { Drift = DriftLaw.None, Relaxation = RelaxationLaw.None };
        var forward = new CellArray(preset, 500, seed: 99);
        var backward = new CellArray(preset, 500, seed: 99);
        for (int i = 0; i < 500; i++)
        {
            forward.Program(i, 40);
            VerifyLoop.Run(forward, i, 40, 0.5f, 20);
        }
        for (int i = 499; i >= 0; i--)
        {
            backward.Program(i, 40);
            VerifyLoop.Run(backward, i, 40, 0.5f, 20);
        }
        Assert.All(Enumerable.Range(0, 500), i => Assert.Equal(forward.TrueConductance(i), backward.TrueConductance(i)));
    }

    private static double Erf(double x)
    {
        // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7.
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }
}
