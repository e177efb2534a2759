using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
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
    public static SimulationReport Run(OnnxModel model, DataSet test, SensitivityResult? sensitivity, SimulationOptions options, Action<int>? progress = null) =>
        StudyMerge.Merge([RunSlice(model, test, sensitivity, options, StudySlice.Whole, progress)]);

    /// <summary>
    /// One slice of the study (<see cref="StudySlice"/>): the chips its units need, sampled exactly as the whole study
    /// samples them (chip k's randomness depends on the seed and k alone), and only its units evaluated.
    /// </summary>
    /// <param name="progress">Called with the slice's units done so far.</param>
    public static StudyPart RunSlice(OnnxModel model, DataSet test, SensitivityResult? sensitivity, SimulationOptions options, StudySlice slice, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int methods = options.Methods.Count, ratios = options.Ratios.Count, perChip = methods * ratios;
        long units = (long)options.Trials * perChip;
        slice.CheckFits(units);
        var clock = Stopwatch.StartNew();
        using VariationModel variation = options.NoiseModel == NoiseModelKind.Paper ? new PaperVariation(model, options) : new DeviceVariation(model, options, sensitivity);
        using var evaluator = new TrialEvaluator(model, variation.Layers, test);
        (long first, long end) = slice.Range(units);
        int firstChip = (int)(first / perChip), lastChip = (int)((end - 1) / perChip);

        (Dictionary<SelectionMethod, int[]> fixedRanks, int[,] take) = ChipIndependent(options, variation, sensitivity);
        var chips = new ChipOutcome[lastChip - firstChip + 1];
        var outcomes = new UnitOutcome[end - first];
        int done = 0;
        ulong seed = (ulong)options.Seed;
        Parallel.For(firstChip, lastChip + 1, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism }, trial =>
        {
            TrialInstance chip = variation.Sample(trial, seed);
            int count = checked((int)variation.UnitCount);
            var all = new bool[count];
            Array.Fill(all, true);
            // No selection and full selection are the same for every method: evaluated once per chip.
            int none = evaluator.Correct(chip.Weights(new bool[count]));
            int full = evaluator.Correct(chip.Weights(all));
            chips[trial - firstChip] = new ChipOutcome(trial, none, full, chip.Cost(all, measuredFirst: false), chip.ParallelCost(all, measuredFirst: false), chip.LinkCost(all, measuredFirst: false));
            for (int m = 0; m < methods; m++)
            {
                int[]? order = null;
                for (int r = 0; r < ratios; r++)
                {
                    long unit = (long)trial * perChip + m * ratios + r;
                    if (unit < first || unit >= end)
                    {
                        continue;
                    }
                    SelectionMethod method = options.Methods[m];
                    order ??= fixedRanks.TryGetValue(method, out int[]? rank) ? rank : variation.Rank(method, sensitivity, chip, TrialSeed(seed, trial));
                    int prefix = take[m, r];
                    var verified = new bool[count];
                    foreach (int u in order.AsSpan(0, prefix))
                    {
                        verified[u] = true;
                    }
                    int correct = prefix == 0 ? none : prefix == count ? full : evaluator.Correct(chip.Weights(verified));
                    bool measuredFirst = prefix > 0 && SelectionMethods.NeedsMeasuredCells(method);
                    outcomes[unit - first] = new UnitOutcome(trial, m, r, correct, chip.Cost(verified, measuredFirst), chip.ParallelCost(verified, measuredFirst),
                        chip.LinkCost(verified, measuredFirst));
                    progress?.Invoke(Interlocked.Increment(ref done));
                }
            }
        });

        return Part(slice, model, evaluator, sensitivity, options, variation, take, chips, outcomes, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// What does not depend on the chip: the rankings of methods that neither look at a chip nor draw per chip,
    /// computed once, and how many units each (method, ratio) verifies.
    /// </summary>
    private static (Dictionary<SelectionMethod, int[]> FixedRanks, int[,] Take) ChipIndependent(SimulationOptions options, VariationModel variation, SensitivityResult? sensitivity)
    {
        var fixedRanks = new Dictionary<SelectionMethod, int[]>();
        foreach (SelectionMethod method in options.Methods.Distinct())
        {
            if (method is not (SelectionMethod.Random or SelectionMethod.Posterior))
            {
                fixedRanks[method] = variation.Rank(method, sensitivity, null, options.Seed);
            }
        }
        var take = new int[options.Methods.Count, options.Ratios.Count];
        for (int m = 0; m < options.Methods.Count; m++)
        {
            for (int r = 0; r < options.Ratios.Count; r++)
            {
                take[m, r] = PrefixLength(options.Methods[m], options.Ratios[r], variation, sensitivity);
            }
        }
        return (fixedRanks, take);
    }

    private static StudyPart Part(StudySlice slice, OnnxModel model, TrialEvaluator evaluator, SensitivityResult? sensitivity, SimulationOptions options, VariationModel variation,
        int[,] take, ChipOutcome[] chips, UnitOutcome[] outcomes, double seconds)
    {
        int ratios = options.Ratios.Count, perChip = options.Methods.Count * ratios;
        bool paper = options.NoiseModel == NoiseModelKind.Paper;
        bool hsm = options.Methods.Contains(SelectionMethod.USwimPaper);
        return new StudyPart
        {
            Slice = slice,
            Study = StudyIdentity(model, evaluator, sensitivity, options),
            Model = model.Description,
            NoiseModel = paper ? "paper" : "device",
            Device = paper ? null : DescribeDevice(options.Device),
            WeightBits = options.WeightBits,
            Sigma = paper ? options.Sigma : null,
            SigmaVerified = paper ? options.SigmaVerified : null,
            Trials = options.Trials,
            Seed = options.Seed,
            TestSamples = evaluator.Samples,
            CalibrationSamples = sensitivity?.Samples ?? 0,
            Curvature = sensitivity?.Describe() ?? "none",
            StateSigmaRatio = hsm ? variation.StateSigmaRatio : null,
            FirstOrderTerm = hsm && sensitivity is not null ? UswimPaperScore.IsExact(sensitivity) ? "authors' batches of 128" : "N/128 times the mean gradient" : null,
            Methods = [.. options.Methods.Select(SelectionMethods.Name)],
            Ratios = options.Ratios,
            Verified = [.. Enumerable.Range(0, perChip).Select(i => take[i / ratios, i % ratios])],
            UnitCount = variation.UnitCount,
            CostUnit = variation.CostUnit,
            ReadAfter = paper ? null : SimulationOptions.DescribeReadAfter(options.ReadAfter),
            SelectionCost = paper ? null : SelectionCosts.Name(options.SelectionCost),
            Placement = paper ? null : Mapping.Placements.Name(options.Placement),
            Chips = chips,
            Units = outcomes,
            Seconds = seconds,
        };
    }

    /// <summary>
    /// What makes two runs one study, by name: the model, test samples and derivatives by their hashes, and every
    /// option that changes a number (not the thread count, which does not).
    /// </summary>
    private static Dictionary<string, string> StudyIdentity(OnnxModel model, TrialEvaluator evaluator, SensitivityResult? sensitivity, SimulationOptions options)
    {
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["model_sha256"] = Convert.ToHexStringLower(SHA256.HashData(model.ToBytes())),
            ["test_samples_sha256"] = evaluator.Sha256(),
            ["derivatives_sha256"] = sensitivity is null ? "none" : SensitivityHash(sensitivity),
            ["methods"] = string.Join(",", options.Methods.Select(SelectionMethods.Name)),
            ["ratios"] = string.Join(",", options.Ratios.Select(R)),
            ["noise_model"] = options.NoiseModel.ToString(),
            ["device"] = options.NoiseModel == NoiseModelKind.Device ? System.Text.Json.JsonSerializer.Serialize(options.Device) : "none",
            ["weight_bits"] = options.WeightBits.ToString(CultureInfo.InvariantCulture),
            ["sigma"] = R(options.Sigma),
            ["sigma_wv"] = R(options.SigmaVerified),
            ["tolerance"] = R(options.ToleranceFraction),
            ["max_iterations"] = options.MaxIterations.ToString(CultureInfo.InvariantCulture),
            ["selection_cost"] = SelectionCosts.Name(options.SelectionCost),
            ["placement"] = Mapping.Placements.Name(options.Placement),
            ["read_after"] = options.NoiseModel == NoiseModelKind.Device ? SimulationOptions.DescribeReadAfter(options.ReadAfter) : "none",
            ["signs"] = options.Signs.ToString(),
            ["trials"] = options.Trials.ToString(CultureInfo.InvariantCulture),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The derivatives a ranking reads: each parameter's arrays, the samples and the batches they came from.</summary>
    private static string SensitivityHash(SensitivityResult sensitivity)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes(sensitivity.Samples));
        hash.AppendData(BitConverter.GetBytes(sensitivity.BatchSize));
        foreach (ParameterSensitivity p in sensitivity.Parameters)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(p.Parameter.Name + "\0"));
            foreach (float[]? values in new[] { p.Curvature, p.Gradient, p.BatchMeanGradientSum })
            {
                hash.AppendData(BitConverter.GetBytes(values?.Length ?? -1));
                if (values is not null)
                {
                    hash.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
                }
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The preset's name, with any setting that differs from the named preset's (e.g. "rram, stuck rate 0").</summary>
    private static string DescribeDevice(Swim.Devices.DevicePreset device)
    {
        Swim.Devices.DevicePreset named = Swim.Devices.DevicePreset.ByName(device.Name);
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
}
