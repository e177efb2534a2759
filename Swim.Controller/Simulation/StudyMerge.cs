using System.Globalization;

namespace Swim.Controller.Simulation;

/// <summary>
/// Puts a study back together from its slices, after checking that they are one study's and cover it exactly once.
/// An unsharded run is one slice through the same assembly, so merged and unsharded results agree number for number.
/// </summary>
public static class StudyMerge
{
    public static SimulationReport Merge(IReadOnlyList<StudyPart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new SwimInputException("no slices to merge: give the directories the sharded runs wrote their shard-I-of-N.json files to.");
        }
        StudyPart first = parts[0];
        CheckOneStudy(parts);
        CheckCoverage(parts);

        int methods = first.Methods.Count, ratios = first.Ratios.Count, trials = first.Trials;
        var chips = new ChipOutcome?[trials];
        foreach (StudyPart part in parts)
        {
            foreach (ChipOutcome chip in part.Chips)
            {
                if (chip.Trial < 0 || chip.Trial >= trials)
                {
                    throw new SwimInputException($"{Name(part)} reports chip {chip.Trial} of a study of {trials}; the file is damaged.");
                }
                if (chips[chip.Trial] is { } seen && seen != chip)
                {
                    throw new SwimInputException($"{Name(part)} and another slice sampled chip {chip.Trial} differently ({seen.FullCorrect} and {chip.FullCorrect} right under full write-verify): "
                        + "the slices were run by builds of Swim that disagree; run every slice with the same build.");
                }
                chips[chip.Trial] = chip;
            }
        }
        var correct = new int[methods, ratios, trials];
        var cost = new double[methods, ratios, trials];
        var parallel = new double[methods, ratios, trials];
        var link = new double[methods, ratios, trials];
        var filled = new bool[methods, ratios, trials];
        foreach (StudyPart part in parts)
        {
            foreach (UnitOutcome unit in part.Units)
            {
                if (unit.Trial < 0 || unit.Trial >= trials || unit.Method < 0 || unit.Method >= methods || unit.Ratio < 0 || unit.Ratio >= ratios || filled[unit.Method, unit.Ratio, unit.Trial])
                {
                    throw new SwimInputException($"{Name(part)} holds a unit outside its slice or one another slice holds too (chip {unit.Trial}, method {unit.Method}, ratio {unit.Ratio}); the file is damaged.");
                }
                filled[unit.Method, unit.Ratio, unit.Trial] = true;
                correct[unit.Method, unit.Ratio, unit.Trial] = unit.Correct;
                cost[unit.Method, unit.Ratio, unit.Trial] = unit.Cost;
                parallel[unit.Method, unit.Ratio, unit.Trial] = unit.ParallelCost;
                link[unit.Method, unit.Ratio, unit.Trial] = unit.LinkSeconds;
            }
        }
        if (chips.Any(c => c is null) || filled.Cast<bool>().Any(f => !f))
        {
            throw new SwimInputException("the slices leave part of the study undone although every slice number is there; a file is damaged. Run the missing slices again.");
        }
        return Assemble(first, [.. chips.Select(c => c!)], correct, cost, parallel, link, parts.Sum(p => p.Seconds));
    }

    private static SimulationReport Assemble(StudyPart study, ChipOutcome[] chips, int[,,] correct, double[,,] cost, double[,,] parallel, double[,,] link, double seconds)
    {
        int samples = study.TestSamples, trials = study.Trials;
        int[] full = [.. chips.Select(c => c.FullCorrect)];
        int[] none = [.. chips.Select(c => c.NoneCorrect)];
        double[] fullCost = [.. chips.Select(c => c.FullCost)];
        // Every chip's none and full, and every point verifying some but not all: what an unsharded run evaluates.
        int evaluations = 2 * trials;
        var results = new List<SimulationPoint>();
        for (int m = 0; m < study.Methods.Count; m++)
        {
            for (int r = 0; r < study.Ratios.Count; r++)
            {
                int verified = study.Verified[m * study.Ratios.Count + r];
                if (verified > 0 && verified < study.UnitCount)
                {
                    evaluations += trials;
                }
                int[] right = [.. Enumerable.Range(0, trials).Select(t => correct[m, r, t])];
                double[] costs = [.. Enumerable.Range(0, trials).Select(t => cost[m, r, t])];
                double[] accuracy = [.. right.Select(c => c / (double)samples)];
                double relative = Enumerable.Range(0, trials).Average(t => costs[t] / fullCost[t]);
                double[] parallelCosts = [.. Enumerable.Range(0, trials).Select(t => parallel[m, r, t])];
                double parallelRelative = chips.All(c => c.FullParallelCost > 0) ? Enumerable.Range(0, trials).Average(t => parallelCosts[t] / chips[t].FullParallelCost) : 0;
                double[] linkSeconds = [.. Enumerable.Range(0, trials).Select(t => link[m, r, t])];
                // Bench time: the row-parallel device time and the link's, which a session spends one after the other.
                double benchRelative = chips.All(c => c.FullLinkSeconds > 0)
                    ? Enumerable.Range(0, trials).Average(t => (parallelCosts[t] + linkSeconds[t]) / (chips[t].FullParallelCost + chips[t].FullLinkSeconds)) : 0;
                results.Add(new SimulationPoint(study.Methods[m], study.Ratios[r], accuracy.Average(), StandardDeviation(accuracy), trials,
                    costs.Average(), study.CostUnit, relative, 1 / relative, verified / (double)study.UnitCount, accuracy)
                {
                    Correct = right,
                    Costs = costs,
                    ParallelCost = parallelCosts.Average(),
                    ParallelSpeedup = parallelRelative > 0 ? 1 / parallelRelative : 0,
                    LinkSeconds = linkSeconds.Average(),
                    BenchSpeedup = benchRelative > 0 ? 1 / benchRelative : 0,
                });
            }
        }
        return new SimulationReport(study.Model, study.NoiseModel, study.Device, study.WeightBits, study.Sigma, study.SigmaVerified, trials, study.Seed,
            samples, study.CalibrationSamples, study.Curvature, full.Average() / samples, none.Average() / samples, evaluations, seconds, results)
        {
            FullWriteVerifyCorrect = full,
            NoWriteVerifyCorrect = none,
            FullWriteVerifyCosts = fullCost,
            StateSigmaRatio = study.StateSigmaRatio,
            FirstOrderTerm = study.FirstOrderTerm,
            ReadAfter = study.ReadAfter,
            SelectionCost = study.SelectionCost,
            Placement = study.Placement,
        };
    }

    private static void CheckOneStudy(IReadOnlyList<StudyPart> parts)
    {
        StudyPart first = parts[0];
        foreach (StudyPart part in parts.Skip(1))
        {
            foreach (string key in first.Study.Keys.Union(part.Study.Keys))
            {
                string mine = first.Study.GetValueOrDefault(key, "(none)"), theirs = part.Study.GetValueOrDefault(key, "(none)");
                if (mine != theirs)
                {
                    throw new SwimInputException($"{Name(part)} belongs to another study than {Name(first)}: its {key.Replace('_', ' ')} is {Short(theirs)}, not {Short(mine)}. "
                        + "Merge only the slices of one study (same model, data, derivatives and options).");
                }
            }
        }
    }

    private static void CheckCoverage(IReadOnlyList<StudyPart> parts)
    {
        int[] counts = [.. parts.Select(p => p.Slice.Count).Distinct().Order()];
        if (counts.Length > 1)
        {
            throw new SwimInputException($"the slices were cut into {string.Join(" and into ", counts)}: "
                + $"{string.Join("; ", counts.Select(c => $"{parts.Count(p => p.Slice.Count == c)} of {c}, e.g. {Name(parts.First(p => p.Slice.Count == c))}"))}. Keep the slices of one cut only.");
        }
        int count = counts[0];
        var seen = new Dictionary<int, StudyPart>();
        foreach (StudyPart part in parts)
        {
            if (part.Slice.Index < 0 || part.Slice.Index >= count)
            {
                throw new SwimInputException($"{Name(part)} says it is slice {part.Slice}; the file is damaged.");
            }
            if (!seen.TryAdd(part.Slice.Index, part))
            {
                throw new SwimInputException($"slice {part.Slice.Index} of {count} appears twice: {Name(seen[part.Slice.Index])} and {Name(part)}. Give each slice once.");
            }
        }
        int[] missing = [.. Enumerable.Range(0, count).Where(i => !seen.ContainsKey(i))];
        if (missing.Length > 0)
        {
            throw new SwimInputException(missing.Length == 1
                ? $"slice {missing[0]} of {count} is missing (no shard-{missing[0]}-of-{count}.json among the slices given); run it (--shard {missing[0]}/{count}) and merge again."
                : $"slices {string.Join(", ", missing)} of {count} are missing; run them (--shard I/{count}) and merge again.");
        }
    }

    private static string Name(StudyPart part) => part.Source is { } path ? $"'{path}'" : string.Create(CultureInfo.InvariantCulture, $"slice {part.Slice}");

    private static string Short(string value) => value.Length > 80 ? value[..77] + "..." : value;

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
