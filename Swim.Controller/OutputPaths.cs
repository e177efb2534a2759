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
        return path;
    }

    /// <summary>A directory to be written into: refused if a file has that name.</summary>
    public static string Directory(string path, string option)
    {
        if (System.IO.File.Exists(path))
        {
            throw new SwimInputException($"{option} '{path}' is a file; give a directory for the results.");
        }
        return path;
    }
}
