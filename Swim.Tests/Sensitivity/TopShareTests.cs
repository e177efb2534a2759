using Swim.Controller.Sensitivity;

namespace Swim.Tests.Sensitivity;

/// <summary>The top-10 % share of a layer's scores (quickselect) against sorting, with ties and signs.</summary>
public sealed class TopShareTests
{
    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(7, 0.1)]
    [InlineData(1000, 0.1)]
    [InlineData(1001, 0.25)]
    [InlineData(5000, 0.5)]
    public void Top_share_equals_the_share_of_the_largest_magnitudes_by_sorting(int length, double fraction)
    {
        var random = new Random(length);
        // Few distinct values, so ties straddle the cut.
        float[] score = [.. Enumerable.Range(0, length).Select(_ => (float)(random.Next(-20, 21) * 0.5))];
        int top = Math.Max(1, (int)Math.Ceiling(length * fraction));
        double total = score.Sum(s => (double)Math.Abs(s));
        double expected = total == 0 ? 0 : score.Select(Math.Abs).OrderDescending().Take(top).Sum(s => (double)s) / total;
        float[] before = (float[])score.Clone();

        Assert.Equal(expected, SensitivityResult.TopShare(score, fraction), 12);
        Assert.Equal(before, score);
    }

    [Fact]
    public void Top_share_of_a_hand_worked_layer()
    {
        // |scores| 4, 3, 2, 1 (sum 10); the top quarter is the 4.
        Assert.Equal(0.4, SensitivityResult.TopShare([1f, -4f, 3f, 2f], 0.25), 12);
        Assert.Equal(0, SensitivityResult.TopShare([0f, 0f], 0.5));
    }
}
