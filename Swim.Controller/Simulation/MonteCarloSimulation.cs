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
        // How many units each (method, ratio) verifies does not depend on the chip.
        var take = new int[methods, ratios];
        for (int m = 0; m < methods; m++)
        {
            for (int r = 0; r < ratios; r++)
            {
                take[m, r] = PrefixLength(options.Methods[m], options.Ratios[r], variation, sensitivity);
            }
        }
        var correct = new int[methods, ratios, options.Trials];
        var cost = new double[methods, ratios, options.Trials];
        var fullCost = new double[options.Trials];
        var none = new int[options.Trials];
        var full = new int[options.Trials];
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
            none[trial] = evaluator.Correct(chip.Weights(nothing));
            full[trial] = evaluator.Correct(chip.Weights(all));
            Interlocked.Add(ref evaluations, 2);
            for (int m = 0; m < methods; m++)
            {
                SelectionMethod method = options.Methods[m];
                int[] order = fixedRanks.TryGetValue(method, out int[]? rank) ? rank
                    : variation.Rank(method, sensitivity, chip, TrialSeed(seed, trial));
                for (int r = 0; r < ratios; r++)
                {
                    int prefix = take[m, r];
                    var verified = new bool[units];
                    foreach (int u in order.AsSpan(0, prefix))
                    {
                        verified[u] = true;
                    }
                    if (prefix == 0 || prefix == units)
                    {
                        correct[m, r, trial] = prefix == 0 ? none[trial] : full[trial];
                    }
                    else
                    {
                        correct[m, r, trial] = evaluator.Correct(chip.Weights(verified));
                        Interlocked.Increment(ref evaluations);
                    }
                    cost[m, r, trial] = chip.Cost(verified, measuredFirst: prefix > 0 && SelectionMethods.NeedsMeasuredCells(method));
                    int points = Interlocked.Increment(ref done);
                    progress?.Invoke(points);
                }
            }
        });

        int samples = evaluator.Samples;
        var results = new List<SimulationPoint>();
        for (int m = 0; m < methods; m++)
        {
            for (int r = 0; r < ratios; r++)
            {
                int[] right = [.. Enumerable.Range(0, options.Trials).Select(t => correct[m, r, t])];
                double[] costs = [.. Enumerable.Range(0, options.Trials).Select(t => cost[m, r, t])];
                double[] acc = [.. right.Select(c => c / (double)samples)];
                double relative = Enumerable.Range(0, options.Trials).Average(t => costs[t] / fullCost[t]);
                results.Add(new SimulationPoint(SelectionMethods.Name(options.Methods[m]), options.Ratios[r], acc.Average(), StandardDeviation(acc),
                    options.Trials, costs.Average(), variation.CostUnit, relative, 1 / relative, take[m, r] / (double)variation.UnitCount, acc)
                {
                    Correct = right,
                    Costs = costs,
                });
            }
        }
        bool paper = options.NoiseModel == NoiseModelKind.Paper;
        return new SimulationReport(model.Description, paper ? "paper" : "device", paper ? null : DescribeDevice(options.Device), options.WeightBits,
            paper ? options.Sigma : null, paper ? options.SigmaVerified : null, options.Trials, options.Seed, samples, sensitivity?.Samples ?? 0,
            sensitivity?.Describe() ?? "none", full.Average() / samples, none.Average() / samples, evaluations, clock.Elapsed.TotalSeconds, results)
        {
            FullWriteVerifyCorrect = full,
            NoWriteVerifyCorrect = none,
            FullWriteVerifyCosts = fullCost,
            StateSigmaRatio = options.Methods.Contains(SelectionMethod.USwimPaper) ? variation.StateSigmaRatio : null,
            FirstOrderTerm = options.Methods.Contains(SelectionMethod.USwimPaper) && sensitivity is not null
                ? UswimPaperScore.IsExact(sensitivity) ? "authors' batches of 128" : "N/128 times the mean gradient" : null,
        };
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
    private static int PrefixLength(SelectionMethod method, double ratio, VariationModel variation, SensitivityResult? sensitivity) =>
        method == SelectionMethod.CellLevel
            ? CellSelector.CellCount(ratio, variation.UnitCount)
            : CellSelector.WeightCount(method, ratio, variation.Layers, sensitivity, variation.StateSigmaRatio) * variation.UnitsPerWeight;

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
