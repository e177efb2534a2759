using Swim.Devices;

namespace Swim.Tests.Devices;

/// <summary>
/// The device's draws are pinned, not just plausible: a chip's cells depend on these exact numbers, so a changed mixer
/// would silently change every study and every journalled session's device. Checked against SplitMix64's published
/// sequence and against a second implementation in Python, whose values are written here.
/// </summary>
public sealed class CounterRandomTests
{
    // SplitMix64 from state 0 outputs these three first (its reference implementation's well-known sequence); a cell's
    // hash with seed, counter and stream 0 is SplitMix64's output at state cell x the golden gamma.
    [Theory]
    [InlineData(1UL, 16294208416658607535UL)]
    [InlineData(2UL, 7960286522194355700UL)]
    [InlineData(3UL, 487617019471545679UL)]
    public void A_cells_hash_is_splitmix64s_output_at_that_step(ulong cell, ulong expected)
    {
        Assert.Equal(expected, CounterRandom.Hash(0, cell, 0, 0));
    }

    // Worked in Python: mix64(seed ^ cell*0x9E3779B97F4A7C15 ^ counter*0xC2B2AE3D27D4EB4F ^ stream*0x165667B19E3779F9) mod 2^64.
    [Theory]
    [InlineData(0UL, 0UL, 1UL, 0UL, 0x68850AC74E2E5A26UL)]
    [InlineData(0UL, 0UL, 0UL, 1UL, 0xB39362CB946013E3UL)]
    [InlineData(7UL, 3UL, 5UL, 2UL, 0x874F1E61417CBAE2UL)]
    public void Counter_and_stream_enter_the_hash_by_their_own_constants(ulong seed, ulong cell, ulong counter, ulong stream, ulong expected)
    {
        Assert.Equal(expected, CounterRandom.Hash(seed, cell, counter, stream));
    }

    [Fact]
    public void Uniform_and_gaussian_draws_are_the_hash_by_53_bits_and_box_muller()
    {
        // ((hash >> 11) + 0.5) / 2^53, exact in double.
        Assert.Equal(0.5285510051194136, CounterRandom.Uniform(7, 3, 5, 2));
        // sqrt(-2 ln u1) cos(2 pi u2) with u1, u2 the uniforms of streams 2s and 2s + 1 (Python's math; an ulp apart at most).
        Assert.Equal(-0.6926856538504949, CounterRandom.Gaussian(7, 3, 5, 2), 1e-13);
        Assert.Equal(0.19784905589389576, CounterRandom.Gaussian(11, 1000, 0, 4), 1e-13);
    }
}
