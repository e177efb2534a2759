using Swim.Devices;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;

namespace Swim.Controller.Selection;

/// <summary>
/// What write-verify costs at the bench, for selection by bench time (<see cref="SelectionCost.Bench"/>): a pass over a
/// crossbar row, which lasts as long as its slowest cell whatever number of its cells it verifies, and each verified
/// cell's bytes on the link (its outcome answered, the larger direction of a verify command).
/// </summary>
public sealed record BenchCost(double RowPassSeconds, double CellLinkSeconds)
{
    /// <param name="maxIterations">
    /// The verify loop's iteration cap: the length of a row pass, since a row of hundreds of cells nearly always holds a
    /// stuck or slow cell that runs to the cap, and the pass lasts as long as that cell.
    /// </param>
    /// <param name="lineBaud">The link's rate (UART bits a second, ten to a byte).</param>
    public static BenchCost Of(BoardInfo board, int maxIterations, int lineBaud)
    {
        ArgumentNullException.ThrowIfNull(board);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lineBaud, 1);
        var histogram = new int[maxIterations + 1];
        histogram[maxIterations] = board.Columns;
        double pass = ArrayTimeModel.Of(board).RowPassNs(histogram) / 1e9;
        return new BenchCost(pass, (double)VerifyLevelsOutcome.WireLength * SerialLine.BitsPerByte / lineBaud);
    }
}
