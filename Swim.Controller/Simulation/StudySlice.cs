using System.Globalization;

namespace Swim.Controller.Simulation;

/// <summary>
/// Slice <see cref="Index"/> of <see cref="Count"/> of a study's work, for a job array's task (Slurm's
/// SLURM_ARRAY_TASK_ID of --array=0-(N-1)). The work is every (chip, method, fraction) in chip-major order; slice i
/// takes the units from i U / N up to (i + 1) U / N, so slices differ by at most one unit and each touches few chips.
/// </summary>
public readonly record struct StudySlice(int Index, int Count)
{
    /// <summary>The whole study as one slice.</summary>
    public static StudySlice Whole => new(0, 1);

    /// <summary>The first unit of the slice and the one after its last, of <paramref name="units"/>.</summary>
    public (long Start, long End) Range(long units) => (Index * units / Count, (Index + 1) * units / Count);

    /// <summary>Refuses a cut into more slices than the study has units of work (some slices would be empty).</summary>
    public void CheckFits(long units)
    {
        if (Count > units)
        {
            throw new SwimInputException($"--shard {this}: the study has only {units} units of work (trials x methods x ratios); cut it into at most {units} slices.");
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    /// <summary>"I/N" with 0 &lt;= I &lt; N, as a job array numbers its tasks from 0.</summary>
    public static StudySlice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            throw new SwimInputException($"--shard '{text}' is not of the form I/N: slice I (from 0) of N, e.g. --shard $SLURM_ARRAY_TASK_ID/16 with --array=0-15.");
        }
        if (count < 1)
        {
            throw new SwimInputException($"--shard {text}: N must be at least 1.");
        }
        if (index < 0 || index >= count)
        {
            throw new SwimInputException($"--shard {text}: I must be 0 to {count - 1} for {count} slices (a job array of --array=0-{count - 1}).");
        }
        return new StudySlice(index, count);
    }
}
