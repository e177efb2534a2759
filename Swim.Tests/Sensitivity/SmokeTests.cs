using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

public sealed class TinyMlpDerivativeTests
{
    [Fact]
    public void Gradients_match_finite_differences()
    {
        using var h = new DerivativeHarness(new TinyMlp(3).Build(), [1, 4, 4], 8, 1, TinyMlp.Classes);
        h.AssertGradientsMatchFiniteDifferences();
    }

    [Fact]
    public void Ggn_matches_finite_differences_of_gradients()
    {
        using var h = new DerivativeHarness(new TinyMlp(3).Build(), [1, 4, 4], 8, 1, TinyMlp.Classes);
        h.AssertCurvatureMatchesFiniteDifferences(CurvatureKind.Ggn);
    }
}
