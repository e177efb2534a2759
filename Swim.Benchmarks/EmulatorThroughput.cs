using System.Diagnostics;
using Swim.Devices;
using Swim.Protocol.Messages;

namespace Swim.Benchmarks;

/// <summary>
/// Simulated write-verify in process, on one thread: verify iterations per second of wall time (target: at
/// least 2 million per core), and the device time a full write-verify of LeNet-5's weights would take on
/// each preset: 61,470 weights, 8 magnitude bits over four 2-bit cells, two cells per bit pair for the sign
/// (differential), 491,760 cells (one-bit cells for the paper preset: 983,520).
/// </summary>
public static class EmulatorThroughput
{
    private const int LeNetWeights = 61_470;

    public static int Run(TextWriter output)
    {
        output.WriteLine("preset   cells      iterations   wall s   iterations/s   mean iter   device time (full write-verify)");
        foreach (string name in DevicePreset.Names)
        {
            DevicePreset preset = DevicePreset.ByName(name);
            int cellsPerWeight = preset.Levels == 2 ? 16 : 8;
            int cells = LeNetWeights * cellsPerWeight;
            var array = new CellArray(preset, cells, seed: 1);
            var random = new Random(2);
            var targets = new float[cells];
            for (int i = 0; i < cells; i++)
            {
                targets[i] = preset.LevelConductance(random.Next(preset.Levels));
                array.Program(i, targets[i]);
            }
            long programNs = array.ClockNs;
            float tolerance = (float)(0.01 * preset.Window);
            ulong iterationsBefore = array.TotalVerifyIterations;
            var clock = Stopwatch.StartNew();
            int converged = 0;
            for (int i = 0; i < cells; i++)
            {
                if (VerifyLoop.Run(array, i, targets[i], tolerance, 50).Status == StatusCode.Ok)
                {
                    converged++;
                }
            }
            double wall = clock.Elapsed.TotalSeconds;
            ulong iterations = array.TotalVerifyIterations - iterationsBefore;
            double verifySeconds = (array.ClockNs - programNs) / 1e9;
            output.WriteLine($"{name,-8} {cells,9:N0} {iterations,13:N0} {wall,8:F2} {iterations / wall,14:N0} {iterations / (double)cells,11:F2}   " +
                $"{verifySeconds:F2} s verify after {programNs / 1e9:F2} s open-loop ({100.0 * converged / cells:F2} % in tolerance)");
        }
        return 0;
    }
}
