using Swim.Controller.Cli;

CommandContext console = CommandContext.ForConsole();
return await SwimCommandLine.RunAsync(args, console.Output, console.Error, console.Interactive, CancellationToken.None);
