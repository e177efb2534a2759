using Swim.Controller.Onnx;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>How many sessions a sensitivity pass runs when neither the batch nor the sessions are given.</summary>
public sealed class SessionMemoryTests
{
    private const long MiB = 1L << 20;

    [Fact]
    public void A_session_is_its_sums_its_overhead_and_four_times_its_batchs_forward_values()
    {
        // fc1 6 -> 5 (Gemm), Tanh, fc2 5 -> 4 (Gemm): 5 + 5 + 4 floats a sample; 30 + 5 + 20 + 4 parameters.
        OnnxModel model = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(TestNets.HiddenGemm(1, 1f, 1f)), "hidden", null);
        DerivativeGraph both = DerivativeGraphBuilder.Build(model, [6], 3, CurvatureKind.Obd);
        DerivativeGraph curvatureOnly = DerivativeGraphBuilder.Build(model, [6], 5, CurvatureKind.Obd, gradients: false);

        Assert.Equal(14 * sizeof(float), both.ForwardBytesPerSample);
        Assert.Equal(both.ForwardBytesPerSample, curvatureOnly.ForwardBytesPerSample);
        Assert.Equal(59L * sizeof(float) * 2 + DerivativeGraph.SessionOverheadBytes + 4 * 3 * 56, both.SessionBytes());
        Assert.Equal(59L * sizeof(float) + DerivativeGraph.SessionOverheadBytes + 4 * 5 * 56, curvatureOnly.SessionBytes());
    }

    [Theory]
    // LeNet-5-sized: every core's session fits.
    [InlineData(75L << 20, 4, 4)]
    [InlineData(75L << 20, 2, 2)]
    // Exactly the budget's share.
    [InlineData(SensitivityAnalysis.SessionsBudgetBytes / 3, 4, 3)]
    [InlineData(SensitivityAnalysis.SessionsBudgetBytes / 3 + 1, 4, 2)]
    // One session always runs, however large.
    [InlineData(SensitivityAnalysis.SessionsBudgetBytes * 5, 4, 1)]
    public void Sessions_are_as_many_as_the_cores_allow_and_the_budget_holds(long sessionBytes, int cores, int expected)
    {
        Assert.Equal(expected, SensitivityAnalysis.SessionsWithinBudget(sessionBytes, cores));
        Assert.True(expected == 1 || expected * sessionBytes <= SensitivityAnalysis.SessionsBudgetBytes);
    }

    [Fact]
    public void The_budget_holds_two_sessions_of_the_papers_resnet_at_its_chosen_batch()
    {
        // What the budget was set from: the two sessions of a 2-core machine keep running on the ResNet-18 (11.2 M
        // parameters summed twice, 5.41 MiB of forward values a sample, its chosen batch of 8), and no more run on more cores.
        long resnetSession = 11_173_962L * 4 * 2 + DerivativeGraph.SessionOverheadBytes + DerivativeGraph.RunBytesPerForwardByte * 8 * (long)(5.41 * MiB);
        Assert.Equal(2, SensitivityAnalysis.SessionsWithinBudget(resnetSession, 2));
        Assert.Equal(2, SensitivityAnalysis.SessionsWithinBudget(resnetSession, 4));
        Assert.Equal(1, SensitivityAnalysis.SessionsWithinBudget(resnetSession, 1));
    }
}
