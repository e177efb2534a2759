using System.Reflection;
using System.Runtime.InteropServices;

namespace Swim.Controller;

/// <summary>
/// Where a result came from, for every report and JSON summary Swim writes: the Swim that made it (version, and the
/// commit it was built from when the build could ask git), the command line, the machine, and when.
/// </summary>
public sealed record Provenance(string SwimVersion, string? Commit, IReadOnlyList<string>? Command, string Runtime, string Os, DateTimeOffset At)
{
    public static Provenance Now(IReadOnlyList<string>? command = null)
    {
        Assembly swim = typeof(Provenance).Assembly;
        string version = swim.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? swim.GetName().Version?.ToString() ?? "unknown";
        string? commit = swim.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "SourceCommit")?.Value;
        return new Provenance(version.Split('+')[0], string.IsNullOrEmpty(commit) ? null : commit, command,
            RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription, DateTimeOffset.UtcNow);
    }
}
