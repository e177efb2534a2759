using System.Diagnostics;

namespace Swim.Tests.Support;

/// <summary>The swim command built next to the tests (swim.dll), run as its own OS process, so a test can SIGKILL it.</summary>
public static class ControllerProcess
{
    public static Process Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "swim.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["CI"] = "1";
        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start the swim process");
        // Drain the pipes so the child never blocks on a full one.
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    /// <summary>
    /// SIGKILLs <paramref name="controller"/> once <paramref name="due"/> holds (or after <paramref name="limit"/>), watched from a
    /// dedicated thread so a busy thread pool cannot make the kill late; returns false when the process exited first.
    /// </summary>
    public static bool KillWhen(Process controller, Func<bool> due, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(controller);
        ArgumentNullException.ThrowIfNull(due);
        bool exitedFirst = false;
        var watcher = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            while (!due() && clock.Elapsed < limit)
            {
                if (controller.HasExited)
                {
                    exitedFirst = true;
                    return;
                }
                Thread.Sleep(1);
            }
            controller.Kill(entireProcessTree: true);
        });
        watcher.Start();
        watcher.Join();
        return !exitedFirst;
    }
}
