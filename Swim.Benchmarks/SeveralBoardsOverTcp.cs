using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Swim.Emulator;
using Swim.Emulator.Hosting;

namespace Swim.Benchmarks;

/// <summary>
/// Several boards on the network, as a lab runs them: <c>swim program</c> over N <c>swim emulator</c> processes on
/// TCP whose links drop, damage, repeat and delay frames, SIGKILLed once while programming and once while verifying,
/// then resumed; against the same session run whole over N fresh processes on clean links. The emulators save their
/// cells when stopped, and every cell of every board is compared: as often pulsed (so none twice) and holding the same
/// conductance. The fefet preset has no time effects, so each board's own clock (which the kills move) changes nothing.
/// </summary>
public static partial class SeveralBoardsOverTcp
{
    private const string Faults = "drop=0.005,corrupt=0.005,duplicate=0.005,delay=0.005,maxdelay=20ms,garbage=0.0005";

    public static async Task<int> RunAsync(TextWriter output, string[] args)
    {
        if (args.Length < 3)
        {
            output.WriteLine("usage: several-boards-tcp MODEL DATA GEOMETRY [BOARDS] [SAMPLES] [RATIO]");
            return 2;
        }
        (string model, string data, string geometry) = (args[0], args[1], args[2]);
        int boards = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4;
        string samples = args.Length > 4 ? args[4] : "64";
        string ratio = args.Length > 5 ? args[5] : "0.1";
        DirectoryInfo dir = Directory.CreateTempSubdirectory("swim-several-boards-");
        output.WriteLine($"{boards} swim emulator processes of {geometry} (fefet), {model}, SWIM {ratio}, {samples} calibration samples; files in {dir.FullName}");
        string[] Session(IEnumerable<int> ports, string name) =>
            ["program", model, .. ports.SelectMany(p => new[] { "--board", $"tcp:127.0.0.1:{p}" }), "--calib", data, "--samples", samples,
             "--method", "swim", "--ratio", ratio, "--seed", "4", "--journal", Path.Combine(dir.FullName, name + ".db"),
             "--out", Path.Combine(dir.FullName, name + ".onnx"), "--link-timeout", "200", "--link-retries", "40"];

        var clock = Stopwatch.StartNew();
        EmulatorProcess[] clean = await EmulatorProcess.StartAllAsync(boards, geometry, dir.FullName, "reference", faults: null);
        (int exit, _) = await RunControllerAsync(Session(clean.Select(e => e.Port), "reference"), kill: null);
        TimeSpan referenceWall = clock.Elapsed;
        EmulatedBoard[] reference = await EmulatorProcess.StopAllAsync(clean);
        if (exit != 0)
        {
            output.WriteLine($"the reference session failed (exit {exit})");
            return 1;
        }
        output.WriteLine($"reference, whole on clean links: {referenceWall.TotalSeconds:F1} s wall");

        clock.Restart();
        EmulatorProcess[] faulty = await EmulatorProcess.StartAllAsync(boards, geometry, dir.FullName, "faulty", Faults);
        string[] args2 = Session(faulty.Select(e => e.Port), "faulty");
        var kills = new (string Stage, int Percent)[] { ("program", 20), ("verify", 0) };
        var lastLines = new List<string>();
        foreach ((string stage, int percent) in kills)
        {
            string[] run = File.Exists(Path.Combine(dir.FullName, "faulty.db")) ? [.. args2, "--resume"] : args2;
            (int killedExit, string seen) = await RunControllerAsync(run, (stage, percent));
            output.WriteLine($"SIGKILLed at '{seen}' (exit {killedExit}), {clock.Elapsed.TotalSeconds:F1} s in");
            if (File.Exists(Path.Combine(dir.FullName, "faulty.onnx")))
            {
                output.WriteLine("a killed session left a programmed model");
                return 1;
            }
        }
        (int resumedExit, string summary) = await RunControllerAsync([.. args2, "--resume"], kill: null);
        TimeSpan faultyWall = clock.Elapsed;
        EmulatedBoard[] resumed = await EmulatorProcess.StopAllAsync(faulty);
        output.WriteLine($"faulty links, killed twice, resumed: exit {resumedExit}, {faultyWall.TotalSeconds:F1} s wall in all");
        output.WriteLine(summary);
        return Compare(output, reference, resumed, dir.FullName) && resumedExit == 0 ? 0 : 1;
    }

    private static bool Compare(TextWriter output, EmulatedBoard[] reference, EmulatedBoard[] resumed, string dir)
    {
        long cells = 0, differing = 0, programmed = 0;
        ulong pulses = 0;
        for (int b = 0; b < reference.Length; b++)
        {
            for (int i = 0; i < reference[b].Cells.Count; i++)
            {
                uint expected = reference[b].Cells.CountersOf(i).Pulses, actual = resumed[b].Cells.CountersOf(i).Pulses;
                cells++;
                programmed += actual > 0 ? 1 : 0;
                pulses += actual;
                if (expected != actual || reference[b].Cells.TrueConductance(i) != resumed[b].Cells.TrueConductance(i))
                {
                    if (differing++ < 5)
                    {
                        output.WriteLine($"board {b + 1} cell {i}: {actual} pulses at {resumed[b].Cells.TrueConductance(i)} uS, reference {expected} at {reference[b].Cells.TrueConductance(i)} uS");
                    }
                }
            }
        }
        bool sameModel = File.ReadAllBytes(Path.Combine(dir, "reference.onnx")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, "faulty.onnx")));
        output.WriteLine($"cells {cells:N0} on {reference.Length} boards, {programmed:N0} pulsed, {pulses:N0} pulses; differing from the uninterrupted session: {differing:N0}; read-back model {(sameModel ? "byte for byte the same" : "DIFFERENT")}");
        return differing == 0 && sameModel;
    }

    /// <summary>Runs the controller as its own process; with <paramref name="kill"/>, SIGKILLs it at the first progress line of that stage at or past that percentage.</summary>
    private static async Task<(int Exit, string Seen)> RunControllerAsync(string[] args, (string Stage, int Percent)? kill)
    {
        using Process controller = SwimProcess.Start(args);
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var summary = new System.Text.StringBuilder();
        controller.OutputDataReceived += (_, e) => { if (e.Data is { } line) lock (summary) summary.AppendLine(line); };
        controller.ErrorDataReceived += (_, e) =>
        {
            if (kill is { } k && e.Data is { } line && Progress().Match(line) is { Success: true } m
                && m.Groups["stage"].Value == k.Stage && int.Parse(m.Groups["percent"].Value, CultureInfo.InvariantCulture) >= k.Percent)
            {
                controller.Kill(entireProcessTree: true);
                seen.TrySetResult(line);
            }
        };
        controller.BeginOutputReadLine();
        controller.BeginErrorReadLine();
        await controller.WaitForExitAsync();
        return (controller.ExitCode, kill is null ? summary.ToString().TrimEnd() : seen.Task.IsCompleted ? seen.Task.Result : "the session ended first");
    }

    [GeneratedRegex(@"\[(?<stage>[a-z ]+)\]: (?<percent>\d+) %")]
    private static partial Regex Progress();
}
