using System.Diagnostics;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;

namespace Swim.Controller.Simulation;

/// <summary>
/// SWIM's evaluation protocol: for each sampled chip, each selection method and each verified fraction, the
/// test accuracy of the weights that chip would hold and the cost of programming them. Every method sees the
/// same chips (common random numbers), so differences between methods are not sampling noise between chips.
/// </summary>
public static class MonteCarloSimulation
{
    /// <param name="progress">Called with the evaluations done so far (of trials x methods x ratios).</param>
    /// <param name="sensitivity">The sensitivity pass; null when no method needs it (magnitude, random).</param>
    public static SimulationReport Run(OnnxModel model, DataSet test, SensitivityResult? sensitivity, SimulationOptions options, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        VariationModel variation = options.NoiseModel == NoiseModelKind.Paper ? new PaperVariation(model, options) : new DeviceVariation(model, options);
        using var evaluator = new TrialEvaluator(model, variation.Layers, test);

        // Rankings that do not depend on the chip are computed once.
        var fixedRanks = new Dictionary<SelectionMethod, int[]>();
        foreach (SelectionMethod method in options.Methods.Distinct())
        {
            if (method is not (SelectionMethod.Random or SelectionMethod.Posterior))
            {
                fixedRanks[method] = variation.Rank(method, sensitivity, null, options.Seed);
            }
        }

        int methods = options.Methods.Count, ratios = options.Ratios.Count;
        var accuracy = new double[methods, ratios, options.Trials];
        var cost = new double[methods, ratios, options.Trials];
        var fullCost = new double[options.Trials];
        var verifiedUnits = new long[methods, ratios];
        var none = new double[options.Trials];
        var full = new double[options.Trials];
        int done = 0, evaluations = 0;
        ulong seed = (ulong)options.Seed;
        Parallel.For(0, options.Trials, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism }, trial =>
        {
            TrialInstance chip = variation.Sample(trial, seed);
            int units = checked((int)variation.UnitCount);
            var all = new bool[units];
            Array.Fill(all, true);
            var nothing = new bool[units];
            fullCost[trial] = chip.Cost(all, measuredFirst: false);
            // No selection and full selection are the same for every method: evaluated once per chip.
            none[trial] = evaluator.Accuracy(chip.Weights(nothing));
            full[trial] = evaluator.Accuracy(chip.Weights(all));
            Interlocked.Add(ref evaluations, 2);
            for (int m = 0; m < methods; m++)
            {
                SelectionMethod method = options.Methods[m];
                int[] order = fixedRanks.TryGetValue(method, out int[]? rank) ? rank
                    : variation.Rank(method, sensitivity, chip, TrialSeed(seed, trial));
                for (int r = 0; r < ratios; r++)
                {
                    int take = PrefixLength(method, options.Ratios[r], variation);
                    var verified = new bool[units];
                    foreach (int u in order.AsSpan(0, take))
                    {
                        verified[u] = true;
                    }
                    if (take == 0 || take == units)
                    {
                        accuracy[m, r, trial] = take == 0 ? none[trial] : full[trial];
                    }
                    else
                    {
                        accuracy[m, r, trial] = evaluator.Accuracy(chip.Weights(verified));
                        Interlocked.Increment(ref evaluations);
                    }
                    cost[m, r, trial] = chip.Cost(verified, measuredFirst: take > 0 && SelectionMethods.NeedsMeasuredCells(method));
                    verifiedUnits[m, r] = take;
                    int points = Interlocked.Increment(ref done);
                    progress?.Invoke(points);
                }
            }
        });

        var points = new List<SimulationPoint>();
        for (int m = 0; m < methods; m++)
        {
            for (int r = 0; r < ratios; r++)
            {
                double[] acc = Enumerable.Range(0, options.Trials).Select(t => accuracy[m, r, t]).ToArray();
                double meanCost = Enumerable.Range(0, options.Trials).Average(t => cost[m, r, t]);
                double relative = Enumerable.Range(0, options.Trials).Average(t => cost[m, r, t] / fullCost[t]);
                points.Add(new SimulationPoint(SelectionMethods.Name(options.Methods[m]), options.Ratios[r], acc.Average(), StandardDeviation(acc),
                    options.Trials, meanCost, variation.CostUnit, relative, 1 / relative, verifiedUnits[m, r] / (double)variation.UnitCount, acc));
            }
        }
        bool paper = options.NoiseModel == NoiseModelKind.Paper;
        return new SimulationReport(model.Description, paper ? "paper" : "device", paper ? null : DescribeDevice(options.Device), options.WeightBits,
            paper ? options.Sigma : null, paper ? options.SigmaVerified : null, options.Trials, options.Seed, evaluator.Samples, sensitivity?.Samples ?? 0,
            sensitivity?.Describe() ?? "none", full.Average(), none.Average(), evaluations, clock.Elapsed.TotalSeconds, points);
    }

    /// <summary>The preset's name, with any setting that differs from the named preset's (e.g. "rram, stuck rate 0").</summary>
    private static string DescribeDevice(Swim.Emulator.Physics.DevicePreset device)
    {
        Swim.Emulator.Physics.DevicePreset named = Swim.Emulator.Physics.DevicePreset.ByName(device.Name);
        var changes = new List<string>();
        if (device.StuckRate != named.StuckRate)
        {
            changes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"stuck rate {device.StuckRate:G3}"));
        }
        if (device.ProgramSigma != named.ProgramSigma)
        {
            changes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"programming sigma {device.ProgramSigma:G3}"));
        }
        return string.Join(", ", [device.Name, .. changes]);
    }

    /// <summary>How many leading units of a ranking a verified fraction buys: whole weights, or single cells for cell-level.</summary>
    private static int PrefixLength(SelectionMethod method, double ratio, VariationModel variation) =>
        method == SelectionMethod.CellLevel
            ? (int)Math.Round(ratio * variation.UnitCount)
            : (int)Math.Round(ratio * variation.Layers.WeightCount) * variation.UnitsPerWeight;

    /// <summary>A deterministic seed for trial <paramref name="trial"/> of a study seeded <paramref name="seed"/>.</summary>
    internal static int TrialSeed(ulong seed, int trial)
    {
        ulong x = (seed + 1) * 0x9E3779B97F4A7C15UL ^ (ulong)(trial + 1) * 0xBF58476D1CE4E5B9UL;
        x ^= x >> 31;
        return (int)(x & int.MaxValue);
    }

    private static double StandardDeviation(double[] values)
    {
        if (values.Length < 2)
        {
            return 0;
        }
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}
