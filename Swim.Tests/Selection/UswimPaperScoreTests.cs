using Swim.Controller;
using Swim.Controller.Data;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Devices;
using Swim.Tests.Support;

namespace Swim.Tests.Selection;

/// <summary>
/// uswim-paper against the authors' HSM method (CIM_Second, branch hete: modules.py mask_indicator "HSM",
/// fine_S_grad, calc_sail_th, set_mask_sail "th"), worked by hand and reimplemented from that code's steps.
/// </summary>
public sealed class UswimPaperScoreTests
{
    private static readonly TrainableParameter s_weight = new("w", [7], IsMappedWeight: true, LayerWeight: "w");

    /// <summary>One layer of seven weights, max|W| = 1, over 256 samples in two batches of 128 (the exact first-order path).</summary>
    private static (WeightLayers Layers, SensitivityResult Sensitivity) HandWorked()
    {
        float[] targets = [0.2f, -0.5f, 1.0f, 0.74f, -0.25f, 0.75f, 0.3f];
        float[] curvature = [1e-3f, 1e-3f, 2e-4f, 5e-4f, 1e-3f, 1e-3f, 1e-3f];
        float[] batchMeans = [0f, 0f, 0.1f, -0.2f, 0f, 0f, -0.128f];
        var p = new ParameterSensitivity(s_weight, new float[7], curvature, null, 1f) { BatchMeanGradientSum = batchMeans };
        return (new WeightLayers(["w"], [targets]), new SensitivityResult([p], CurvatureKind.Obd, 256, 0, 0) { BatchSize = 128 });
    }

    [Fact]
    public void Scores_follow_the_authors_formula_on_a_hand_worked_layer()
    {
        (WeightLayers layers, SensitivityResult sensitivity) = HandWorked();

        double[] scores = UswimPaperScore.Scores(layers, sensitivity, stateSigmaRatio: 4);

        // S = N h + 2 G (max|W| = 1); |S| times s = 4 strictly inside (0.25, 0.75), times 1e6, plus |u|.
        double[] expected =
        [
            0.256 * 1e6 + 0.2,           // outer state
            0.256 * 4 * 1e6 + 0.5,       // middle state: times s
            (0.0512 + 0.2) * 1e6 + 1.0,  // first-order term added before the absolute value
            0.272 * 4 * 1e6 + 0.74,      // 0.128 - 0.4: negative S counts by its size
            0.256 * 1e6 + 0.25,          // 0.25 is not inside the middle band
            0.256 * 1e6 + 0.75,          // 0.75 is not inside either; |u| breaks the tie with the first weight
            0.3,                         // S = 0.256 - 0.256: only |u| is left
        ];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], scores[i], expected[i] * 1e-6);
        }
        Assert.Equal([3, 1, 5, 4, 0, 2, 6], CellSelector.RankWeights(SelectionMethod.USwimPaper, layers, sensitivity, stateSigmaRatio: 4));
    }

    [Fact]
    public void Without_the_batch_sums_the_first_order_term_is_the_mean_gradient_over_128_sample_batches()
    {
        (WeightLayers layers, SensitivityResult exact) = HandWorked();
        // The same derivatives as if the pass had run in other batches: G = (256 / 128) x mean gradient.
        ParameterSensitivity p = exact.Parameters[0];
        float[] mean = [.. p.BatchMeanGradientSum!.Select(g => g / 2)];
        var approximate = new SensitivityResult([p with { Gradient = mean, BatchMeanGradientSum = null }], CurvatureKind.Obd, 256, 0, 0) { BatchSize = 250 };

        Assert.False(UswimPaperScore.IsExact(approximate));
        Assert.Equal(UswimPaperScore.Scores(layers, exact, 4), UswimPaperScore.Scores(layers, approximate, 4));
    }

    [Theory]
    [InlineData(0.21, 2)] // the 0.79 quantile falls between the 5th and 6th of 7: two lie above it (round(0.21 x 7) would take 1)
    [InlineData(0.5, 3)]  // the median is the 4th score itself: three lie strictly above (round(3.5) would take 4)
    [InlineData(0.1, 1)]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 7)]
    public void The_verified_count_is_what_lies_strictly_above_the_interpolated_quantile(double fraction, int expected)
    {
        (WeightLayers layers, SensitivityResult sensitivity) = HandWorked();
        double[] scores = UswimPaperScore.Scores(layers, sensitivity, 4);

        Assert.Equal(expected, UswimPaperScore.SelectedCount(scores, fraction));
        Assert.Equal(expected, CellSelector.WeightCount(SelectionMethod.USwimPaper, fraction, layers, sensitivity, 4));
    }

    [Fact]
    public void Scores_tied_at_the_threshold_are_all_left_unverified()
    {
        // The 0.5 quantile of [1, 2, 2, 2, 3] is 2 itself: only the 3 lies strictly above it.
        Assert.Equal(1, UswimPaperScore.SelectedCount([2, 1, 2, 3, 2], 0.5));
        Assert.Equal(0, UswimPaperScore.SelectedCount([], 0.5));
    }

    [Fact]
    public void A_layer_of_zeros_scores_zero_not_nan_and_s_must_be_positive()
    {
        var p = new ParameterSensitivity(new TrainableParameter("z", [2], IsMappedWeight: true, LayerWeight: "z"), [0f, 0f], [1f, 1f], null, 0f)
        {
            BatchMeanGradientSum = [0f, 0f],
        };
        var sensitivity = new SensitivityResult([p], CurvatureKind.Obd, 128, 0, 0) { BatchSize = 128 };

        Assert.Equal([0.0, 0.0], UswimPaperScore.Scores(new WeightLayers(["z"], [[0f, 0f]]), sensitivity, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => UswimPaperScore.Scores(new WeightLayers(["z"], [[0f, 0f]]), sensitivity, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => UswimPaperScore.Scores(new WeightLayers(["z"], [[0f, 0f]]), sensitivity, double.PositiveInfinity));
    }

    [Theory]
    [InlineData("rram", 4.0)]
    [InlineData("fefet", 3.0)]
    [InlineData("pcm", 2.0)]
    [InlineData("paper", 1.0)]
    public void A_presets_s_is_its_middle_states_std_over_its_outer_states(string preset, double s)
    {
        Assert.Equal(s, DevicePreset.ByName(preset).StateSigmaRatio, 12);
    }

    [Fact]
    public void A_file_without_its_sample_count_is_refused_with_the_fix()
    {
        (WeightLayers layers, SensitivityResult sensitivity) = HandWorked();
        var ex = Assert.Throws<SwimInputException>(() => UswimPaperScore.Scores(layers, sensitivity with { Samples = 0 }, 4));
        Assert.Contains("swim sensitivity", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The authors' steps, written here from their code rather than from <see cref="UswimPaperScore"/>: the data in
    /// their loader's batches of 128 (the last one short), each batch's own derivative pass, the curvature summed over
    /// samples (their loss's second-order backward is not divided by the batch) and the batch-mean gradients summed,
    /// both in units of u = w / max|W|; |S + 2G| times s inside the middle band, times 1e6, plus |u|; the threshold
    /// torch.quantile's linear interpolation; verified what lies strictly above it. Swim's pass over the same digits
    /// in one go must select the identical set at 10 %.
    /// </summary>
    [Fact]
    public void Uswim_paper_selects_the_same_weights_as_the_authors_steps_on_LeNet5()
    {
        const int Samples = 1000, Batch = 128;
        const double S = 4, Fraction = 0.1;
        OnnxModel model = BundledLeNet.Model;
        DataSet train = DataSet.Open(BundledAssets.Require(BundledAssets.MnistData), DataSplit.Train).Take(Samples);
        IReadOnlyList<string> names = [.. model.RequireMappedWeights().Select(w => w.Name)];
        float[][] weights = [.. names.Select(model.ReadWeights)];

        SensitivityResult swim = SensitivityAnalysis.Run(model, train, Batch, CurvatureKind.Obd);
        var layers = new WeightLayers(names, weights);
        int[] order = CellSelector.RankWeights(SelectionMethod.USwimPaper, layers, swim, stateSigmaRatio: S);
        int count = CellSelector.WeightCount(SelectionMethod.USwimPaper, Fraction, layers, swim, S);
        var selected = order.Take(count).ToHashSet();

        // Their accumulation, batch by batch.
        var secondSum = names.Select(n => new double[model.ReadWeights(n).Length]).ToArray();
        var gradientSum = names.Select(n => new double[model.ReadWeights(n).Length]).ToArray();
        using var dir = new TempDirectory();
        foreach (DataBatch batch in train.ReadBatches(Batch))
        {
            string path = dir.File($"batch{batch.FirstIndex}.npz");
            File.WriteAllBytes(path, FormatWriters.LabelledSamples(batch.Features[..(batch.Count * 784)], [1, 28, 28], batch.Labels[..batch.Count]));
            SensitivityResult one = SensitivityAnalysis.Run(model, DataSet.Open(path), Batch, CurvatureKind.Obd);
            for (int l = 0; l < names.Count; l++)
            {
                ParameterSensitivity p = one.Parameters.Single(x => x.Parameter.Name == names[l]);
                double scale = weights[l].Max(MathF.Abs);
                for (int e = 0; e < weights[l].Length; e++)
                {
                    secondSum[l][e] += batch.Count * p.Curvature[e] * scale * scale; // d2L/du2 = scale^2 d2L/dw2, summed over samples
                    gradientSum[l][e] += p.Gradient![e] * scale;                       // dL/du of the batch's mean loss
                }
            }
        }
        var saliency = new List<double>();
        for (int l = 0; l < names.Count; l++)
        {
            double scale = weights[l].Max(MathF.Abs);
            for (int e = 0; e < weights[l].Length; e++)
            {
                double u = Math.Abs(weights[l][e]) / scale;
                double second = Math.Abs(secondSum[l][e] + 2 * gradientSum[l][e]);
                double mask = 0.25 < u && u < 0.75 ? 1 : 0;
                saliency.Add((second * mask * S + second * (1 - mask) * 1) * 1.0 * 1e6 + u);
            }
        }
        double[] sorted = [.. saliency.Order()];
        double position = (1 - Fraction) * (sorted.Length - 1);
        int below = (int)position;
        double threshold = sorted[below] + (position - below) * (sorted[below + 1] - sorted[below]);
        var theirs = Enumerable.Range(0, saliency.Count).Where(i => saliency[i] > threshold).ToHashSet();

        Assert.True(UswimPaperScore.IsExact(swim));
        Assert.Equal(sorted.Length - 1 - below, theirs.Count); // no ties at the threshold: the count torch's rule gives
        Assert.True(theirs.SetEquals(selected), $"{theirs.Except(selected).Count()} of the authors' weights not selected, {selected.Except(theirs).Count()} selected that they do not");
    }
}
