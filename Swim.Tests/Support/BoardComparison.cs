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

    /// <summary>
    /// The same for a set of boards against one board of all their tiles: board b's tile t is the one board's tile
    /// t x boards + b (tiles dealt out in turn), so each of its cells is compared with the one board's cell there.
    /// </summary>
    public static List<string> DifferingFromSet(EmulatedBoard reference, IReadOnlyList<EmulatedBoard> set, int most = 5)
    {
        var differing = new List<string>();
        for (int b = 0; b < set.Count && differing.Count < most; b++)
        {
            EmulatedBoard board = set[b];
            int perTile = board.Geometry.Rows * board.Geometry.Columns;
            for (int cell = 0; cell < board.Cells.Count && differing.Count < most; cell++)
            {
                int there = (cell / perTile * set.Count + b) * perTile + cell % perTile;
                if (board.Cells.CountersOf(cell).Pulses != reference.Cells.CountersOf(there).Pulses
                    || board.Cells.TrueConductance(cell) != reference.Cells.TrueConductance(there))
                {
                    differing.Add($"board {b + 1} cell {cell}: {board.Cells.CountersOf(cell).Pulses} pulses at {board.Cells.TrueConductance(cell)} uS, " +
                        $"reference {reference.Cells.CountersOf(there).Pulses} at {reference.Cells.TrueConductance(there)} uS");
                }
            }
        }
        return differing;
    }
}
