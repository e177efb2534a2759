using System.Text.Json;
using System.Text.RegularExpressions;
using Swim.Controller.Simulation;

namespace Swim.Controller.Reports;

/// <summary>
/// A slice's file, shard-I-of-N.json: every task of a job array may write into one shared directory, and a
/// merge reads every such file of the directories it is given.
/// </summary>
public static partial class StudyPartFiles
{
    public static string FileName(StudySlice slice) => $"shard-{slice.Index}-of-{slice.Count}.json";

    /// <summary>Writes the part into <paramref name="directory"/> (made if need be) under its slice's name, whole or not at all.</summary>
    public static string Write(StudyPart part, string directory)
    {
        ArgumentNullException.ThrowIfNull(part);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName(part.Slice));
        string temporary = path + $".{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temporary, JsonOutput.Serialize(part));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return path;
    }

    /// <summary>Every shard-I-of-N.json of the directories, in name order.</summary>
    public static IReadOnlyList<StudyPart> ReadAll(IEnumerable<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var parts = new List<StudyPart>();
        var looked = new List<string>();
        foreach (string directory in directories)
        {
            if (!Directory.Exists(directory))
            {
                throw new SwimInputException($"'{directory}' is not a directory; give the directories the sharded runs wrote to (their --out).");
            }
            looked.Add(directory);
            foreach (string path in Directory.GetFiles(directory, "shard-*-of-*.json").Where(p => ShardName().IsMatch(Path.GetFileName(p))).Order(StringComparer.Ordinal))
            {
                parts.Add(Read(path));
            }
        }
        return parts.Count > 0 ? parts
            : throw new SwimInputException($"no slices (shard-I-of-N.json files) in {string.Join(", ", looked.Select(d => $"'{d}'"))}; run 'swim simulate ... --shard I/N --out DIR' for each slice first.");
    }

    private static StudyPart Read(string path)
    {
        try
        {
            StudyPart part = JsonSerializer.Deserialize<StudyPart>(File.ReadAllText(path), JsonOutput.Options)
                ?? throw new SwimInputException($"'{path}' is empty; run its slice again.");
            return part with { Source = path };
        }
        catch (JsonException ex)
        {
            throw new SwimInputException($"'{path}' is not a slice written by 'swim simulate --shard' ({ex.Message}); run its slice again.", ex);
        }
    }

    [GeneratedRegex(@"^shard-\d+-of-\d+\.json$")]
    private static partial Regex ShardName();
}
