namespace Swim.Controller.Reports;

/// <summary>
/// Report files written beside their directory first and moved in together once all exist, so a failure
/// part-way leaves the directory as it was rather than half a report.
/// </summary>
public sealed class StagedDirectory : IDisposable
{
    private readonly string _target;
    private bool _committed;

    public StagedDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        _target = Path.GetFullPath(directory);
        if (File.Exists(_target))
        {
            throw new SwimInputException($"'{directory}' is a file; give a directory for the results.");
        }
        Staging = $"{_target.TrimEnd(Path.DirectorySeparatorChar)}.partial-{Environment.ProcessId}";
        Directory.CreateDirectory(Staging);
    }

    /// <summary>Where to write the files.</summary>
    public string Staging { get; }

    public string PathOf(string fileName) => Path.Combine(Staging, fileName);

    /// <summary>Moves every staged file into the directory, replacing files of the same name.</summary>
    public void Commit()
    {
        Directory.CreateDirectory(_target);
        foreach (string file in Directory.GetFiles(Staging))
        {
            File.Move(file, Path.Combine(_target, Path.GetFileName(file)), overwrite: true);
        }
        _committed = true;
        Directory.Delete(Staging, recursive: true);
    }

    public void Dispose()
    {
        if (!_committed && Directory.Exists(Staging))
        {
            Directory.Delete(Staging, recursive: true);
        }
    }
}
