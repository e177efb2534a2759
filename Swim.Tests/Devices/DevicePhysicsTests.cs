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
        DevicePreset preset = DevicePreset.ByName(presetName) with { StuckRate = 0 };
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
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0 };
        var cells = new CellArray(preset, Cells, seed: 11);
        double target = preset.LevelConductance(1);
        float tolerance = (float)(0.01 * preset.Window);
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
                // The loop stops on a read inside the band; read noise (std 0.005 W) separates read and truth.
                if (Math.Abs(cells.TrueConductance(i) - target) <= tolerance + 4 * preset.ReadSigma * preset.Window)
                {
                    withinBand++;
                }
            }
        }
        Assert.True(converged >= Cells * 0.995, $"{converged} of {Cells} converged");
        Assert.Equal(converged, withinBand);
        // No iteration is needed exactly when the first read already lies in the band: the read is the target
        // plus programming error plus read noise, normal with the combined std, so P = erf(tol / (s sqrt 2)).
        double s = preset.Window * Math.Sqrt(Math.Pow(preset.ProgramSigma * preset.LevelSigmaFactors[1], 2) + preset.DeviceSigma * preset.DeviceSigma + preset.ReadSigma * preset.ReadSigma);
        double expectedZero = Erf(tolerance / (s * Math.Sqrt(2)));
        double zero = iterations.Count(n => n == 0) / (double)Cells;
        Assert.InRange(zero, expectedZero - 4 * Math.Sqrt(expectedZero * (1 - expectedZero) / Cells), expectedZero + 4 * Math.Sqrt(expectedZero * (1 - expectedZero) / Cells));
        // Each sized pulse leaves roughly its relative noise (20 %) of the error, so a few iterations suffice.
        double mean = iterations.Average();
        Assert.InRange(mean, 1.5, 5);
        Assert.True(iterations.Order().ElementAt((int)(Cells * 0.99)) <= 12, "99 % of cells converge within 12 iterations");
    }

    [Fact]
    public void Drift_follows_the_power_law_with_the_configured_exponent()
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
            double ratio = (cells.TrueConductance(i) - preset.ConductanceMin) / (programmed[i] - preset.ConductanceMin);
            exponents.Add(-Math.Log(ratio));
        }
        // With t >> t0 every cell's elapsed time is 1000 s to within the programming phase (~0.03 s), so
        // -ln(ratio) / ln(1 + 1000 s / 1 s) is the cell's nu.
        double logTime = Math.Log(1 + 1000.0);
        (double mean, double std) = Moments(exponents.Select(e => e / logTime).ToList());
        Assert.Equal(preset.DriftNuMean, mean, 4 * preset.DriftNuStd / Math.Sqrt(Cells) + 2e-4);
        Assert.InRange(std, preset.DriftNuStd * 0.9, preset.DriftNuStd * 1.05);
    }

    [Fact]
    public void Stuck_cells_occur_at_the_configured_rate_and_do_not_move()
    {
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0.05 };
        var cells = new CellArray(preset, Cells, seed: 13);
        int stuck = 0;
        for (int i = 0; i < Cells; i++)
        {
            if (!cells.IsStuck(i))
            {
                continue;
            }
            stuck++;
            double before = cells.TrueConductance(i);
            Assert.True(before == preset.ConductanceMin || before == preset.ConductanceMax);
            cells.Program(i, preset.LevelConductance(2));
            cells.Pulse(i, PulsePolarity.Set, preset.AmplitudeMaxVolts, preset.ReferenceWidthNs);
            Assert.Equal(before, cells.TrueConductance(i));
            Assert.Equal(StatusCode.CellStuck, VerifyLoop.Run(cells, i, preset.LevelConductance(1), 0.5f, 50).Status);
        }
        double p = preset.StuckRate;
        Assert.InRange(stuck, Cells * p - 4 * Math.Sqrt(Cells * p * (1 - p)), Cells * p + 4 * Math.Sqrt(Cells * p * (1 - p)));
    }

    [Fact]
    public void Pulses_follow_polarity_and_soft_bounds()
    {
        // Without noise and drift, so a step is the model's expected step and nothing moves between pulses.
        DevicePreset preset = DevicePreset.Rram with { StuckRate = 0, PulseRelativeSigma = 0, PulseAdditiveSigma = 0, DriftNuMean = 0, DriftNuStd = 0 };
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
        DevicePreset preset = DevicePreset.Rram with { DriftNuMean = 0, DriftNuStd = 0 };
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
