using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Controller.Sensitivity;
using Swim.Tests.Support;

namespace Swim.Tests.Sensitivity;

/// <summary>
/// Every supported operator's derivative against central finite differences of the ONNX Runtime loss, and
/// the curvature diagonals against finite differences of gradients where they equal the exact Hessian
/// diagonal. Tolerances are stated in <see cref="DerivativeHarness"/>. First-order checks of networks with
/// many ReLU units run on a Tanh twin of the network: a weight that feeds hundreds of ReLUs moves some of
/// them across zero under any practical step, and the loss's slope jumps there. Second-order checks run on
/// the ReLU network itself, where Gauss-Newton equals the exact Hessian and kinks are detected reliably.
/// </summary>
public sealed class DerivativeGraphTests
{
    private static DerivativeHarness Harness(ModelProto model, long[] sample, int classes, int count = 6) => new(model, sample, count, 7, classes);

    /// <summary>
    /// The net built with Tanh, whose gradients finite differences check cleanly, and with ReLU, whose Gauss-Newton
    /// diagonal is the Hessian's that finite differences of the gradient give (the net piecewise linear in each weight).
    /// </summary>
    private static void AssertGradientsAndReluGgn(Func<string, ModelProto> net, long[] sample, int classes)
    {
        using (DerivativeHarness smooth = Harness(net("Tanh"), sample, classes))
        {
            smooth.AssertGradientsMatchFiniteDifferences();
        }
        using DerivativeHarness h = Harness(net("Relu"), sample, classes);
        h.AssertCurvatureMatchesFiniteDifferences(CurvatureKind.Ggn);
    }

    [Theory]
    [InlineData(false, true, 1f, 1f, false)]
    [InlineData(false, false, 0.7f, 1.3f, true)]
    [InlineData(true, true, 1.5f, 0.5f, false)]
    [InlineData(true, false, 1f, 0f, true)]
    public void Gemm_gradients_and_obd_are_exact(bool transA, bool transB, float alpha, float beta, bool rowBias)
    {
        using DerivativeHarness h = Harness(TestNets.Gemm(1, transA, transB, alpha, beta, rowBias), [6], 4);
        h.AssertGradientsMatchFiniteDifferences();
        // A single Gemm under softmax cross-entropy: OBD's diagonal is the exact second derivative.
        h.AssertCurvatureMatchesFiniteDifferences(CurvatureKind.Obd);
    }

    [Fact]
    public void Conv_with_a_single_output_position_has_exact_obd()
    {
        using DerivativeHarness h = Harness(TestNets.ConvSinglePosition(2), [2, 3, 3], 4);
        h.AssertGradientsMatchFiniteDifferences();
        h.AssertCurvatureMatchesFiniteDifferences(CurvatureKind.Obd);
    }

    /// <summary>32 channels in and out: the im2col weight derivative and, unstrided, the flipped-kernel input derivative.</summary>
    [Theory]
    [InlineData(1, 1, 1, "NOTSET")]
    [InlineData(2, 1, 1, "NOTSET")]
    [InlineData(1, 2, 2, "NOTSET")]
    [InlineData(1, 1, 2, "NOTSET")]
    [InlineData(2, 0, 1, "SAME_UPPER")]
    [InlineData(1, 0, 1, "SAME_LOWER")]
    [InlineData(1, 0, 1, "VALID")]
    public void Wide_conv_gradients_and_ggn_match_finite_differences(int stride, int pad, int dilation, string autoPad)
    {
        AssertGradientsAndReluGgn(act => TestNets.Conv(4, 1, stride, pad, dilation, autoPad, act, inChannels: 32, outChannels: 32, size: 6), [32, 6, 6], 3);
    }

    [Theory]
    [InlineData(1, 1, 1, 1, "NOTSET")]
    [InlineData(2, 2, 1, 1, "NOTSET")]
    [InlineData(1, 1, 2, 2, "NOTSET")]
    [InlineData(4, 2, 0, 1, "NOTSET")]
    [InlineData(1, 2, 0, 1, "SAME_UPPER")]
    [InlineData(2, 2, 0, 1, "SAME_LOWER")]
    [InlineData(1, 1, 0, 1, "VALID")]
    public void Conv_gradients_and_ggn_match_finite_differences(int group, int stride, int pad, int dilation, string autoPad)
    {
        AssertGradientsAndReluGgn(act => TestNets.Conv(3, group, stride, pad, dilation, autoPad, act), [4, 7, 7], 3);
    }

    [Fact]
    public void Batched_matmul_with_bias_add_matches_finite_differences()
    {
        AssertGradientsAndReluGgn(act => TestNets.MatMulBatched(4, act), [3, 4], 3);
    }

    [Fact]
    public void Matmul_with_the_weight_on_the_left_matches_finite_differences()
    {
        AssertGradientsAndReluGgn(act => TestNets.MatMulWeightOnLeft(5, act), [4, 3], 3);
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("LeakyRelu")]
    [InlineData("Clip")]
    [InlineData("ClipMin")]
    [InlineData("ClipMinEmptyMax")]
    [InlineData("ClipMax")]
    [InlineData("Tanh")]
    [InlineData("Sigmoid")]
    [InlineData("HardSigmoid")]
    [InlineData("HardSwish")]
    [InlineData("Softplus")]
    [InlineData("Erf")]
    [InlineData("PRelu")]
    [InlineData("Silu")]
    [InlineData("LayerNormDecomposed")]
    [InlineData("LayerNormalization")]
    [InlineData("LayerNormDefaults")]
    public void Activation_gradients_match_finite_differences(string op)
    {
        using DerivativeHarness h = Harness(TestNets.Activation(6, op), [5], 3);
        h.AssertGradientsMatchFiniteDifferences();
        if (op is "Relu" or "LeakyRelu" or "Clip" or "ClipMin" or "ClipMinEmptyMax" or "ClipMax" or "HardSigmoid" or "PRelu")
        {
            // Piecewise linear: the Gauss-Newton diagonal is the exact Hessian diagonal.
            h.AssertCurvatureMatchesFiniteDifferences(CurvatureKind.Ggn);
        }
    }

    [Theory]
    [InlineData("MaxPool")]
    [InlineData("MaxPoolPadded")]
    [InlineData("MaxPoolTiling")]
    [InlineData("MaxPoolCeil")]
    [InlineData("MaxPoolDilated")]
    [InlineData("AveragePool")]
    [InlineData("AveragePoolIncludePad")]
    [InlineData("GlobalAveragePool")]
    [InlineData("ReduceMean")]
    [InlineData("ReduceMeanRows")]
    [InlineData("SqueezeExcite")]
    [InlineData("MaxPoolAndSkip")]
    public void Pooling_gradients_and_ggn_match_finite_differences(string pool)
    {
        if (pool == "SqueezeExcite")
        {
            // Its sigmoid gate is curved whatever the activation, so the Gauss-Newton diagonal is not the Hessian's.
            using DerivativeHarness smooth = Harness(TestNets.Pooling(8, pool, "Tanh"), [2, 7, 7], 3);
            smooth.AssertGradientsMatchFiniteDifferences();
            return;
        }
        AssertGradientsAndReluGgn(act => TestNets.Pooling(8, pool, act), [2, 7, 7], 3);
    }

    [Fact]
    public void Totals_without_gradients_are_refused_by_a_graph_that_computes_them()
    {
        OnnxModel model = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(TestNets.Gemm(1, false, true, 1f, 1f, false)), "gemm", null);
        DerivativeGraph graph = DerivativeGraphBuilder.Build(model, [6], 2, CurvatureKind.Obd);
        using var session = new DerivativeSession(graph);
        var totals = new DerivativeTotals(graph.Parameters, curvature: true, gradients: false);
        Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name));
        var error = Assert.Throws<ArgumentException>(() => session.Accumulate(new float[12], [0, 1], 2, parameters, totals));
        Assert.Contains("gradients", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, totals.Samples);
    }

    [Fact]
    public void Batch_normalization_matches_finite_differences()
    {
        AssertGradientsAndReluGgn(act => TestNets.BatchNorm(9, act), [2, 5, 5], 3);
    }

    [Theory]
    [InlineData(18, false)]
    [InlineData(11, false)]
    [InlineData(18, true)]
    public void Shape_ops_and_shape_subgraphs_match_finite_differences(long opset, bool computedPads)
    {
        AssertGradientsAndReluGgn(act => TestNets.ShapeOps(10, opset, act, computedPads), [1, 4, 4], 3);
    }

    [Fact]
    public void A_weight_reshaped_on_its_way_to_matmul_gets_its_derivatives_in_its_stored_shape()
    {
        AssertGradientsAndReluGgn(act => TestNets.ReshapedWeight(12, activation: act), [6], 4);
    }

    /// <summary>
    /// A Conv weight and a dense weight each read by two branches side by side: the Gauss-Newton diagonal must keep the
    /// cross term between the two reads (squaring each read's per-sample derivative alone gave 0.386 for 0.480 here). With ReLU and
    /// the reads in parallel, no weight multiplies itself, so it equals the Hessian's diagonal that finite differences give.
    /// </summary>
    [Fact]
    public void Ggn_of_a_weight_read_by_two_layers_keeps_the_cross_term()
    {
        AssertGradientsAndReluGgn(act => TestNets.SharedWeights(14, act), [2, 5, 5], 3);
    }

    [Fact]
    public void Concat_residual_and_constant_arithmetic_match_finite_differences()
    {
        AssertGradientsAndReluGgn(act => TestNets.ConcatResidual(11, act), [3, 5, 5], 3);
    }

    /// <summary>c - x, c * x and c + x with the constant first: a rule that treats its right operand as the constant, or forgets c - x's sign, fails here.</summary>
    [Fact]
    public void Constant_first_arithmetic_matches_finite_differences()
    {
        AssertGradientsAndReluGgn(act => TestNets.ConstantFirst(13, act), [6], 3);
    }

    [Fact]
    public void Ggn_monte_carlo_averages_to_the_exact_ggn()
    {
        using DerivativeHarness h = Harness(TestNets.SmallLeNet(12), [1, 8, 8], 3, count: 4);
        DerivativeTotals exact = h.Run(CurvatureKind.Ggn);
        const int Draws = 300;
        var mean = exact.Curvature.ToDictionary(p => p.Key, p => new double[p.Value.Length], StringComparer.Ordinal);
        for (int seed = 0; seed < Draws; seed++)
        {
            DerivativeTotals draw = h.Run(CurvatureKind.GgnMonteCarlo, seed);
            foreach ((string name, double[] values) in draw.Curvature)
            {
                for (int i = 0; i < values.Length; i++)
                {
                    mean[name][i] += values[i] / Draws;
                }
            }
        }
        foreach ((string name, double[] values) in exact.Curvature)
        {
            // Per layer, the mean of 300 one-sample draws is within 10 % of the exact trace (unbiased estimator;
            // its relative standard error here is a few percent).
            double expected = values.Sum();
            Assert.True(Math.Abs(mean[name].Sum() - expected) <= 0.1 * expected + 1e-6, $"{name}: MC mean trace {mean[name].Sum():G6}, exact {expected:G6}");
        }
    }

    [Theory]
    [InlineData("Softmax", 0, false)]
    [InlineData("Softmax", 2, false)] // behind two Identity nodes that only name the output, as tf2onnx writes them
    [InlineData("LogSoftmax", 1, false)]
    [InlineData("Softmax", 1, true)] // behind an Unsqueeze and a Flatten, as convolutional heads reshape [N, C, 1, 1]
    public void Trailing_softmax_is_stripped_so_derivatives_are_of_the_logits_loss(string op, int renames, bool reshaped)
    {
        ModelProto model = new TinyMlp(13).Build(trailingSoftmax: true);
        model.Graph.Node.Single(n => n.OpType == "Softmax").OpType = op;
        if (reshaped)
        {
            string name = model.Graph.Output[0].Name;
            model.Graph.Initializer.Add(TensorData.CreateInt64("unsqueeze_axes", [1], [2]));
            model.Graph.Node.Add(new NodeProto { OpType = "Unsqueeze", Input = { name, "unsqueeze_axes" }, Output = { name + "_3d" } });
            model.Graph.Node.Add(new NodeProto { OpType = "Flatten", Input = { name + "_3d" }, Output = { name + "_flat" } });
            model.Graph.Output[0].Name = name + "_flat";
        }
        for (int i = 0; i < renames; i++)
        {
            string name = model.Graph.Output[0].Name;
            model.Graph.Node.Add(new NodeProto { OpType = "Identity", Input = { name }, Output = { name + "_named" } });
            model.Graph.Output[0].Name = name + "_named";
        }
        using DerivativeHarness withSoftmax = Harness(model, [1, 4, 4], 3);
        using DerivativeHarness without = Harness(new TinyMlp(13).Build(), [1, 4, 4], 3);
        DerivativeTotals a = withSoftmax.Run(CurvatureKind.Obd);
        DerivativeTotals b = without.Run(CurvatureKind.Obd);
        Assert.Equal(b.LossSum, a.LossSum, 6);
        Assert.Equal(b.Curvature["fc1.weight"], a.Curvature["fc1.weight"]);
    }

    [Fact]
    public void A_final_softmax_over_the_batch_axis_is_refused_rather_than_stripped()
    {
        ModelProto proto = new TinyMlp(13).Build(trailingSoftmax: true);
        proto.Graph.Node.Single(n => n.OpType == "Softmax").Attribute.Single(a => a.Name == "axis").I = 0;
        OnnxModel model = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(proto), "'softmax-axis0.onnx'", null);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => DerivativeGraphBuilder.Build(model, [1, 4, 4], 2, CurvatureKind.Obd));
        Assert.Contains("normalizes axis 0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Export the model without the softmax", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_operators_are_named_with_the_supported_list()
    {
        var g = new GraphBuilder();
        string x = g.Input("x", Controller.Onnx.Schema.TensorProto.Types.DataType.Float, -1, 4);
        string y = g.Node("Gemm", [g.Node("Elu", [x]), g.Initializer("w", [3, 4], new float[12])], ("transB", 1));
        string z = g.Node("Gemm", [g.Node("Elu", [y]), g.Initializer("w2", [3, 3], new float[9])], ("transB", 1));
        g.Output(z, Controller.Onnx.Schema.TensorProto.Types.DataType.Float, "N", 3L);
        OnnxModel model = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel()), "'elu.onnx'", null);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => DerivativeGraphBuilder.Build(model, [4], 2, CurvatureKind.Obd));
        Assert.Contains("uses op 'Elu'", ex.Message);
        Assert.Contains("Elu_node", ex.Message);
        Assert.Contains("supported: Conv, Gemm", ex.Message);
    }

    [Fact]
    public void A_mean_over_the_batch_axis_and_a_prelu_slope_computed_from_the_data_are_refused_by_node_and_reason()
    {
        var g = new GraphBuilder();
        string x = g.Input("x", Controller.Onnx.Schema.TensorProto.Types.DataType.Float, -1, 4);
        string h = g.Node("Gemm", [x, g.Initializer("w", [4, 4], new float[16])], ("transB", 1));
        string mean = g.Node("ReduceMean", [h, g.Ints("axes", 0)], ("keepdims", 1));
        string z = g.Node("Gemm", [g.Node("Add", [h, mean]), g.Initializer("w2", [3, 4], new float[12])], ("transB", 1));
        g.Output(z, Controller.Onnx.Schema.TensorProto.Types.DataType.Float, "N", 3L);
        OnnxModel batchMean = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel()), "'batch-mean.onnx'", null);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => DerivativeGraphBuilder.Build(batchMean, [4], 2, CurvatureKind.Obd));
        Assert.Contains("(ReduceMean) cannot be differentiated: it averages over the batch axis", ex.Message, StringComparison.Ordinal);

        var p = new GraphBuilder();
        string px = p.Input("x", Controller.Onnx.Schema.TensorProto.Types.DataType.Float, -1, 4);
        string ph = p.Node("Gemm", [px, p.Initializer("w", [4, 4], new float[16])], ("transB", 1));
        string pz = p.Node("Gemm", [p.Node("PRelu", [ph, ph]), p.Initializer("w2", [3, 4], new float[12])], ("transB", 1));
        p.Output(pz, Controller.Onnx.Schema.TensorProto.Types.DataType.Float, "N", 3L);
        OnnxModel dataSlope = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(p.ToModel()), "'prelu-data.onnx'", null);

        OnnxModelException slope = Assert.Throws<OnnxModelException>(() => DerivativeGraphBuilder.Build(dataSlope, [4], 2, CurvatureKind.Obd));
        Assert.Contains("(PRelu) cannot be differentiated: its input", slope.Message, StringComparison.Ordinal);
    }

    /// <summary>A Gemm, then <paramref name="op"/> on its 3 outputs with constant scale and bias, then a Gemm: x is [2, 4].</summary>
    private static OnnxModel Normalised(string op, params (string Name, object Value)[] attributes)
    {
        const long Batch = 2;
        var g = new GraphBuilder();
        string x = g.Input("x", Controller.Onnx.Schema.TensorProto.Types.DataType.Float, Batch, 4);
        string h = g.Node("Gemm", [x, g.Initializer("w", [3, 4], new float[12])], ("transB", 1));
        // A layer norm's scale and bias cover the normalised axes (here the batch too); a batch norm's are per channel.
        long[] shape = op == "LayerNormalization" ? [Batch, 3] : [3];
        int size = (int)shape.Aggregate(1L, (a, d) => a * d);
        string[] inputs = [h, g.Initializer("scale", shape, Enumerable.Repeat(1f, size).ToArray()), g.Initializer("bias", shape, new float[size])];
        if (op == "BatchNormalization")
        {
            inputs = [.. inputs, g.Initializer("mean", shape, new float[size]), g.Initializer("var", shape, Enumerable.Repeat(1f, size).ToArray())];
        }
        string z = g.Node("Gemm", [g.Node(op, inputs, attributes), g.Initializer("w2", [3, 3], new float[9])], ("transB", 1));
        g.Output(z, Controller.Onnx.Schema.TensorProto.Types.DataType.Float, Batch, 3L);
        return OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel()), $"'{op}.onnx'", null);
    }

    [Fact]
    public void A_layer_norm_over_the_batch_axis_is_refused_by_node_and_reason()
    {
        OnnxModelException batchAxis = Assert.Throws<OnnxModelException>(() =>
            DerivativeGraphBuilder.Build(Normalised("LayerNormalization", ("axis", 0L)), [4], 2, CurvatureKind.Obd));
        Assert.Contains("(LayerNormalization) cannot be differentiated: it normalizes over the batch axis", batchAxis.Message, StringComparison.Ordinal);

        // Over the feature axis (given as 1, not the default -1) it is accepted, as is a batch norm in inference mode.
        Assert.NotNull(DerivativeGraphBuilder.Build(Normalised("BatchNormalization"), [4], 2, CurvatureKind.Obd));
        Assert.NotNull(DerivativeGraphBuilder.Build(Normalised("LayerNormalization", ("axis", 1L)), [4], 2, CurvatureKind.Obd));
    }

    /// <summary>
    /// A model that fixes its batch at 1 (most zoo files do) cannot take a sample once per class in one run; the exact
    /// Gauss-Newton diagonal then runs each sample once per class with the class as an input. Its totals must equal
    /// those of the same model with a dynamic batch, sample for sample.
    /// </summary>
    [Fact]
    public void Ggn_of_a_model_with_a_fixed_batch_of_one_equals_the_dynamic_batch_models()
    {
        var mlp = new TinyMlp(21);
        OnnxModel dynamic = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(mlp.Build()), "'dynamic.onnx'", null);
        OnnxModel fixedOne = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(mlp.Build(batch: 1)), "'batch-1.onnx'", null);
        var random = new Random(22);
        const int Samples = 4;
        float[] x = [.. Enumerable.Range(0, Samples * 16).Select(_ => (float)random.NextDouble())];
        long[] labels = [.. Enumerable.Range(0, Samples).Select(_ => (long)random.Next(3))];

        DerivativeTotals Run(OnnxModel model, int perRun)
        {
            DerivativeGraph graph = DerivativeGraphBuilder.Build(model, [1, 4, 4], perRun, CurvatureKind.Ggn);
            Assert.Equal(perRun, graph.SamplesPerRun);
            using var session = new DerivativeSession(graph);
            var totals = new DerivativeTotals(graph.Parameters, curvature: true);
            Dictionary<string, float[]> parameters = graph.Parameters.ToDictionary(p => p.Name, p => model.ReadWeights(p.Name));
            for (int n = 0; n < Samples; n += perRun)
            {
                session.Accumulate(x.AsSpan(n * 16, perRun * 16), labels.AsSpan(n, perRun), perRun, parameters, totals);
            }
            return totals;
        }
        DerivativeTotals all = Run(dynamic, Samples), oneByOne = Run(fixedOne, 1);

        Assert.Equal(all.Samples, oneByOne.Samples);
        Assert.Equal(all.LossSum, oneByOne.LossSum, 5);
        foreach (string name in new[] { "fc1.weight", "fc2.weight" })
        {
            float[] expected = all.Mean(all.Curvature, name), actual = oneByOne.Mean(oneByOne.Curvature, name);
            float scale = expected.Max(MathF.Abs);
            Assert.True(scale > 0);
            Assert.All(expected.Zip(actual), p => Assert.True(MathF.Abs(p.First - p.Second) <= 1e-5f * scale, $"{name}: {p.First} against {p.Second}"));
            float[] gradient = all.Mean(all.Gradient, name), gradientOneByOne = oneByOne.Mean(oneByOne.Gradient, name);
            Assert.All(gradient.Zip(gradientOneByOne), p => Assert.True(MathF.Abs(p.First - p.Second) <= 1e-5f * gradient.Max(MathF.Abs), $"{name}: {p.First} against {p.Second}"));
        }
    }
}
