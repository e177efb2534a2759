using BenchmarkDotNet.Running;
using Swim.Benchmarks;

// Microbenchmarks (BenchmarkDotNet):   dotnet run -c Release --project Swim.Benchmarks -- --filter '*'
// Link utilisation experiment:        dotnet run -c Release --project Swim.Benchmarks -- link
// Decoder fuzz run (1,000,000 frames): dotnet run -c Release --project Swim.Benchmarks -- fuzz [FRAMES] [SEED]
// Board fuzz run (requests of every opcode, damaged): dotnet run -c Release --project Swim.Benchmarks -- board-fuzz [FRAMES] [SEED] [PROTOCOL 1|2]
// Exactly-once under link faults:    dotnet run -c Release --project Swim.Benchmarks -- exactly-once [REQUESTS] [SEED]
// Emulator verify throughput:         dotnet run -c Release --project Swim.Benchmarks -- emulator
// Device physics against its sources:  dotnet run -c Release --project Swim.Benchmarks -- device-physics [CELLS]
// Monte-Carlo simulation throughput:   dotnet run -c Release --project Swim.Benchmarks -- simulate
// Sensitivity/inference, paired:       dotnet run -c Release --project Swim.Benchmarks -- sensitivity-ratio [ROUNDS]
// CIFAR ResNet-18 and random images:  dotnet run -c Release --project Swim.Benchmarks -- resnet18 OUT.onnx DATA.npz [SAMPLES] [SEED]
// Derivative graph's time by operator: dotnet run -c Release --project Swim.Benchmarks -- sensitivity-profile MODEL DATA [BATCH] [no-gradients] [unsplit]
// Sensitivity beside PyTorch:        dotnet run -c Release --project Swim.Benchmarks -- sensitivity-peer [ROUNDS]
// Several swim emulator processes over faulty TCP, killed and resumed: dotnet run -c Release --project Swim.Benchmarks -- several-boards-tcp MODEL DATA GEOMETRY [BOARDS] [SAMPLES] [RATIO]
// Bench-time fronts of device studies: dotnet run -c Release --project Swim.Benchmarks -- bench-fronts OUT.png DIR=LABEL[:METHODS] ...
return args.FirstOrDefault() switch
{
    "link" => await LinkUtilisation.RunAsync(Console.Out),
    "emulator" => EmulatorThroughput.Run(Console.Out),
    "exactly-once" => await ExactlyOnce.RunAsync(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1),
    "simulate" => SimulationThroughput.Run(Console.Out),
    "resnet18" => CifarResNet18.Write(Console.Out, args[1..]),
    "sensitivity-profile" => SensitivityProfile.Run(Console.Out, args[1..]),
    "sensitivity-peer" => SensitivityPeer.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5),
    "sensitivity-pass" => SensitivityPeer.RunPass(args[1..]),
    "several-boards-tcp" => await SeveralBoardsOverTcp.RunAsync(Console.Out, args[1..]),
    "bench-fronts" => BenchFronts.Run(Console.Out, args[1..]),
    "device-physics" => DevicePhysicsCalibration.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000),
    "sensitivity-ratio" => SensitivityRatio.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15),
    "fuzz" => DecoderFuzz.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1),
    "board-fuzz" => BoardFuzz.Run(Console.Out, args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1,
        args.Length > 3 ? byte.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : (byte)2),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(SensitivityBenchmarks).Assembly).Run(args);
    return 0;
}
