using Swim.Controller.Cli;

CommandContext console = CommandContext.ForConsole();
return SwimCommandLine.Run(args, console.Output, console.Error, console.Interactive);
