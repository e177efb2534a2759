using Swim.Emulator;

namespace Swim.Tests.Support;

/// <summary>An interrupted session's board against an uninterrupted one's, cell by cell: pulses and conductance.</summary>
public static class BoardComparison
{
    /// <summary>The first few cells whose pulse count or true conductance differ, described; empty when none do.</summary>
    public static List<string> Differing(EmulatedBoard reference, EmulatedBoard actual, int most = 5) =>
        [.. Enumerable.Range(0, actual.Cells.Count)
            .Where(cell => reference.Cells.CountersOf(cell).Pulses != actual.Cells.CountersOf(cell).Pulses
                || reference.Cells.TrueConductance(cell) != actual.Cells.TrueConductance(cell))
            .Take(most)
            .Select(cell => $"cell {cell}: reference {reference.Cells.CountersOf(cell)} at {reference.Cells.TrueConductance(cell)} uS, " +
                $"this one {actual.Cells.CountersOf(cell)} at {actual.Cells.TrueConductance(cell)} uS")];
}
