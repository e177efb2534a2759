using Swim.Devices;

namespace Swim.Tests.Devices;

public sealed class ReadAfterParserTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("1s", 1)]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("1h", 3_600)]
    [InlineData("1d", 86_400)]
    [InlineData("30d", 2_592_000)]
    [InlineData("0.5h", 1_800)]
    public void Reads_a_number_and_a_unit(string text, double seconds)
    {
        Assert.True(ReadAfterParser.TryParse(text, out TimeSpan duration));
        Assert.Equal(seconds, duration.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1w")]
    [InlineData("-1s")]
    [InlineData("d")]
    [InlineData("1e30d")]
    public void Refuses_anything_else(string text) => Assert.False(ReadAfterParser.TryParse(text, out _));

    [Theory]
    [InlineData(1, "1s")]
    [InlineData(60, "1m")]
    [InlineData(90, "90s")]
    [InlineData(3_600, "1h")]
    [InlineData(86_400, "1d")]
    [InlineData(2_592_000, "30d")]
    public void Formats_in_the_largest_whole_unit(double seconds, string text) => Assert.Equal(text, ReadAfterParser.Format(TimeSpan.FromSeconds(seconds)));
}
