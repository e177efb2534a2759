using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project Swim.Benchmarks -- --filter '*'
// One suite: dotnet run -c Release --project Swim.Benchmarks -- --filter '*Sensitivity*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
