namespace Swim.Controller;

/// <summary>
/// Output paths checked before any work starts, so that a sensitivity pass, a training run or a board
/// programmed for minutes cannot end in a write that was never possible.
/// </summary>
public static class OutputPaths
{
    /// <summary>A file to be written: refused if a directory has that name.</summary>
    public static string File(string path, string option, string exampleName)
    {
        if (System.IO.Directory.Exists(path))
        {
            throw new SwimInputException($"{option} '{path}' is a directory; give a file name, e.g. '{Path.Combine(path, exampleName)}'.");
        }
        CheckWritable(Path.GetDirectoryName(Path.GetFullPath(path))!, option, path);
        return path;
    }

    /// <summary>
    /// Refuses a place that cannot be written: the nearest folder that exists (the rest is created when the
    /// results are written) must take a file. The probe file is removed at once.
    /// </summary>
    private static void CheckWritable(string folder, string option, string path)
    {
        string existing = folder;
        while (!System.IO.Directory.Exists(existing))
        {
            existing = Path.GetDirectoryName(existing) ?? throw new SwimInputException($"{option} '{path}': no folder of it exists; check the path.");
            if (System.IO.File.Exists(existing))
            {
                throw new SwimInputException($"{option} '{path}': '{existing}' is a file, so no folder can be made under it; check the path.");
            }
        }
        string probe = Path.Combine(existing, $".swim-write-check-{Guid.NewGuid():N}");
        try
        {
            using (System.IO.File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new SwimInputException($"{option} '{path}': '{existing}' cannot be written ({ex.Message.TrimEnd('.')}); choose a folder this user may write to.", ex);
        }
    }

    /// <summary>A directory to be written into: refused if a file has that name.</summary>
    public static string Directory(string path, string option)
    {
        if (System.IO.File.Exists(path))
        {
            throw new SwimInputException($"{option} '{path}' is a file; give a directory for the results.");
        }
        CheckWritable(Path.GetFullPath(path), option, path);
        return path;
    }
}
