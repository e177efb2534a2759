using Swim.Controller.Sessions;

namespace Swim.Tests.Sessions;

/// <summary>
/// The arithmetic a resume after a board restart judges the board by: Pearson's correlation of the targets with the
/// read-back, and the sample of programmed cells it reads, each against values worked by hand.
/// </summary>
public sealed class HeldCellsCheckTests
{
    [Theory]
    // Means 2 and 2: sxy = 1*1 + 0 + 1*0 = 1, sxx = 2, syy = 2: 1 / sqrt(4).
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 3, 2 }, 0.5)]
    // The same shape far from zero (means 10 and 101): only deviations from the means count.
    [InlineData(new double[] { 10, 11, 12 }, new double[] { 100, 102, 101 }, 0.5)]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 2, 4, 6, 8 }, 1.0)]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 8, 6, 4, 2 }, -1.0)]
    // Means 2.5 and 5, deviations (-1.5, -0.5, 0.5, 1.5) and (-2, 1, -1, 2): sxy = 3 - 0.5 - 0.5 + 3 = 5, sxx = 5, syy = 10: 5 / sqrt(50).
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 3, 6, 4, 7 }, 0.70710678118654757)]
    public void Correlation_is_pearsons(double[] targets, double[] read, double expected) =>
        Assert.Equal(expected, HeldCellsCheck.Correlation(targets, read)!.Value, 12);

    [Fact]
    public void Targets_that_do_not_vary_judge_nothing() =>
        Assert.Null(HeldCellsCheck.Correlation([3, 3, 3], [1, 2, 3]));

    [Fact]
    public void Varying_targets_read_back_as_one_value_were_not_kept() =>
        Assert.Equal(0.0, HeldCellsCheck.Correlation([1, 2, 3], [5, 5, 5]));

    [Fact]
    public void A_list_no_longer_than_the_sample_is_read_whole_and_once()
    {
        Assert.Equal([7, 3, 9], HeldCellsCheck.Sample([7, 3, 9], 5));
        Assert.Equal([7, 3, 9], HeldCellsCheck.Sample([7, 3, 9], 3));
    }

    [Fact]
    public void A_longer_list_is_sampled_evenly_from_its_first_cell()
    {
        int[] cells = [.. Enumerable.Range(100, 1000)];
        Assert.Equal([100, 350, 600, 850], HeldCellsCheck.Sample(cells, 4));
        // 10 of 25: positions 0, 2.5, 5, ... rounded down.
        Assert.Equal([0, 2, 5, 7, 10, 12, 15, 17, 20, 22], HeldCellsCheck.Sample([.. Enumerable.Range(0, 25)], 10));
    }
}
