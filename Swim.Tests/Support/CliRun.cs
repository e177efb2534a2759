using Swim.Controller.Cli;

namespace Swim.Tests.Support;

/// <summary>Runs the <c>swim</c> command line in-process and captures what it prints.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Of(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SwimCommandLine.Run(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }
}
