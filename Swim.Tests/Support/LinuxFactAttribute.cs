namespace Swim.Tests.Support;

/// <summary>A fact that needs Linux (pseudo-terminals); elsewhere it is skipped with the reason, never silently passed.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux: the emulator's virtual serial port is a pseudo-terminal";
        }
    }
}
