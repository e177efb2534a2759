using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Onnx;
using Swim.Controller.Onnx.Schema;
using Swim.Tests.Support;
using DataType = Swim.Controller.Onnx.Schema.TensorProto.Types.DataType;

namespace Swim.Tests.Onnx;

public sealed class OnnxModelTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static float[] Inputs(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count * TinyMlp.Features).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private string SaveProto(ModelProto proto, string name)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    [Fact]
    public void Finds_weights_of_gemm_and_of_matmul_through_transpose_but_not_biases()
    {
        OnnxModel model = OnnxModel.Load(SaveProto(new TinyMlp(1).Build(), "m.onnx"));

        IReadOnlyList<MappedWeight> weights = model.FindMappedWeights();

        Assert.Equal(["fc1.weight", "fc2.weight"], weights.Select(w => w.Name));
        Assert.Equal("Gemm", weights[0].OpType);
        Assert.Equal([8L, 16L], weights[0].Dims);
        Assert.Equal("MatMul", weights[1].OpType);
        Assert.Equal(["Transpose"], weights[1].Path);
        Assert.Equal(24, weights[1].ElementCount);
    }

    [Theory]
    [InlineData(8L)]
    [InlineData(3L)] // before IR 4 an initializer must also be a graph input
    public void Weights_stored_as_constant_nodes_are_found_read_and_replaced_like_initializers(long irVersion)
    {
        ModelProto original = new TinyMlp(3).Build();
        ModelProto constants = original.Clone();
        constants.IrVersion = irVersion;
        for (int i = constants.Graph.Initializer.Count - 1; i >= 0; i--)
        {
            TensorProto tensor = constants.Graph.Initializer[i];
            constants.Graph.Initializer.RemoveAt(i);
            constants.Graph.Node.Insert(0, new NodeProto
            {
                OpType = "Constant", Output = { tensor.Name },
                Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor } },
            });
        }

        OnnxModel model = OnnxModel.Load(SaveProto(constants, "constants.onnx"));

        Assert.Equal(["fc1.weight", "fc2.weight"], model.FindMappedWeights().Select(w => w.Name));
        OnnxModel reference = OnnxModel.Load(SaveProto(original, "initializers.onnx"));
        Assert.Equal(reference.ReadWeights("fc1.weight"), model.ReadWeights("fc1.weight"));
        float[] x = Inputs(5, 4);
        Assert.Equal(OrtRunner.Run(original.ToByteArray(), x, [5, 1, 4, 4]), OrtRunner.Run(model.ToBytes(), x, [5, 1, 4, 4]));
        float[] doubled = [.. model.ReadWeights("fc2.weight").Select(w => 2 * w)];
        model.ReplaceWeights("fc2.weight", doubled);
        Assert.Equal(doubled, OnnxModel.FromBytes(model.ToBytes(), "saved", null).ReadWeights("fc2.weight"));
    }

    [Fact]
    public void Saved_model_runs_with_bit_identical_outputs_and_keeps_fields_swim_does_not_know()
    {
        byte[] original = new TinyMlp(2).Build().ToByteArray();
        // Append a field no schema declares: protobuf keeps unknown fields, and Swim must write it back.
        byte[] unknownField = [0x9A, 0x06, 3, 0xAA, 0xBB, 0xCC]; // field 99, wire type 2: tag 794 as a two-byte varint, length 3
        string path = _dir.File("in.onnx");
        File.WriteAllBytes(path, [.. original, .. unknownField]);

        OnnxModel model = OnnxModel.Load(path);
        string saved = _dir.File("out.onnx");
        model.Save(saved);
        byte[] savedBytes = File.ReadAllBytes(saved);

        Assert.Equal([.. original, .. unknownField], savedBytes);
        float[] x = Inputs(5, 3);
        Assert.Equal(OrtRunner.Run(original, x, [5, 1, 4, 4]), OrtRunner.Run(savedBytes, x, [5, 1, 4, 4]));
    }

    [Fact]
    public void Replaced_weights_change_outputs_exactly_as_an_independent_forward_pass_predicts()
    {
        var mlp = new TinyMlp(4);
        OnnxModel model = OnnxModel.Load(SaveProto(mlp.Build(), "m.onnx"));
        var random = new Random(5);
        float[] w1 = mlp.W1.Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] w2 = mlp.W2.Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

        model.ReplaceWeights("fc1.weight", w1);
        model.ReplaceWeights("fc2.weight", w2);
        string saved = _dir.File("replaced.onnx");
        model.Save(saved);
        OnnxModel reloaded = OnnxModel.Load(saved);

        Assert.Equal(w1, reloaded.ReadWeights("fc1.weight"));
        mlp.W1 = w1;
        mlp.W2 = w2;
        float[] x = Inputs(6, 6);
        float[] actual = OrtRunner.Run(File.ReadAllBytes(saved), x, [6, 1, 4, 4]);
        for (int n = 0; n < 6; n++)
        {
            double[] expected = mlp.Forward(x.AsSpan(n * TinyMlp.Features, TinyMlp.Features));
            for (int c = 0; c < TinyMlp.Classes; c++)
            {
                // float32 accumulation over 16 + 8 terms of magnitude <= 1: 1e-5 is far above its rounding.
                Assert.Equal(expected[c], actual[n * TinyMlp.Classes + c], 1e-5);
            }
        }
        // The rest of the model is untouched: same nodes, same biases, same interface.
        Assert.Equal(model.Nodes.Select(n => n.OpType), reloaded.Nodes.Select(n => n.OpType));
        Assert.Equal(mlp.B1, reloaded.ReadWeights("fc1.bias"));
    }

    [Fact]
    public void Replacing_with_the_wrong_number_of_values_is_a_caller_error()
    {
        OnnxModel model = OnnxModel.Load(SaveProto(new TinyMlp(1).Build(), "m.onnx"));

        Assert.Throws<ArgumentException>(() => model.ReplaceWeights("fc1.weight", new float[3]));
    }

    [Fact]
    public void Weights_in_external_data_files_are_read()
    {
        var mlp = new TinyMlp(7);
        ModelProto proto = mlp.Build();
        TensorProto w1 = proto.Graph.Initializer.Single(t => t.Name == "fc1.weight");
        byte[] payload = w1.RawData.ToByteArray();
        byte[] file = [.. new byte[13], .. payload];
        File.WriteAllBytes(_dir.File("weights.bin"), file);
        w1.ClearRawData();
        w1.DataLocation = TensorProto.Types.DataLocation.External;
        w1.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        w1.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "13" });
        w1.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = payload.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        OnnxModel model = OnnxModel.Load(SaveProto(proto, "external.onnx"));

        Assert.Equal(mlp.W1, model.ReadWeights("fc1.weight"));
        float[] x = Inputs(2, 8);
        Assert.Equal(OrtRunner.Run(mlp.Build().ToByteArray(), x, [2, 1, 4, 4]), OrtRunner.Run(model.ToBytes(), x, [2, 1, 4, 4]));
    }

    [Fact]
    public void A_missing_external_data_file_is_named()
    {
        ModelProto proto = new TinyMlp(7).Build();
        TensorProto w1 = proto.Graph.Initializer.Single(t => t.Name == "fc1.weight");
        w1.ClearRawData();
        w1.DataLocation = TensorProto.Types.DataLocation.External;
        w1.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "gone.bin" });

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => OnnxModel.Load(SaveProto(proto, "m.onnx")));
        Assert.Contains("gone.bin", ex.Message);
        Assert.Contains("fc1.weight", ex.Message);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_refused()
    {
        string path = _dir.File("notes.onnx");
        File.WriteAllText(path, "these are my lab notes, not a model\n");

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => OnnxModel.Load(path));
        Assert.Contains("not an ONNX file", ex.Message);
    }

    [Fact]
    public void A_truncated_file_is_refused_as_truncated()
    {
        byte[] bytes = new TinyMlp(1).Build().ToByteArray();
        string path = _dir.File("cut.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => OnnxModel.Load(path));
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void A_model_without_mappable_weights_is_refused_by_name()
    {
        var g = new GraphBuilder();
        string x = g.Input("x", DataType.Float, -1, 4);
        g.Output(g.Node("Relu", [x]), DataType.Float, "N", 4L);
        OnnxModel model = OnnxModel.Load(SaveProto(g.ToModel(), "relu.onnx"));

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => model.RequireMappedWeights());
        Assert.Contains("no weights a crossbar can hold", ex.Message);
        Assert.Contains("Relu", ex.Message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void A_mapped_weight_that_is_not_finite_is_refused_by_name_and_index(float bad, string shown)
    {
        OnnxModel model = OnnxModel.Load(BundledAssets.Require(BundledAssets.LeNetModel));
        float[] w = model.ReadWeights("fc2.weight");
        w[37] = bad;
        model.ReplaceWeights("fc2.weight", w);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => model.RequireMappedWeights());

        Assert.Contains($"weight 'fc2.weight' holds {shown} at flat index 37", ex.Message);
        // Every command that maps, scores or simulates goes through this check: the CLI exits 2 before any work.
        string path = _dir.File("nan.onnx");
        model.Save(path);
        CliRun run = CliRun.Of("sensitivity", path, "--data", BundledAssets.Require(BundledAssets.MnistData), "--samples", "8", "--out", _dir.File("s.npz"));
        Assert.Equal(Swim.Controller.Cli.ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("fc2.weight", run.Error);
        Assert.False(File.Exists(_dir.File("s.npz")));
    }

    /// <summary>
    /// x [N, 3] through a batch norm to a MatMul. Training mode is either the attribute (opset 14 on) or the running
    /// statistics asked for as outputs (how opsets 7 to 13 spell it, and what a training export writes).
    /// </summary>
    private string BatchNormModel(long trainingMode, int outputs, long opset)
    {
        var g = new GraphBuilder();
        string x = g.Input("x", DataType.Float, -1, 3);
        string[] inputs = [x, .. new[] { "gamma", "beta", "mean", "var" }.Select(n => g.Initializer(n, [3], [1f, 1f, 1f]))];
        string y = trainingMode < 0 ? g.Node("BatchNormalization", inputs) : g.Node("BatchNormalization", inputs, ("training_mode", trainingMode));
        NodeProto norm = g.Graph.Node.Single(n => n.OpType == "BatchNormalization");
        norm.Name = "layer1.bn";
        for (int i = 1; i < outputs; i++)
        {
            norm.Output.Add($"statistic{i}");
        }
        g.Output(g.Node("MatMul", [y, g.Initializer("w", [3, 2], new float[6])]), DataType.Float, "N", 2L);
        return SaveProto(g.ToModel(opset), $"bn-{trainingMode}-{outputs}-{opset}.onnx");
    }

    [Theory]
    [InlineData(1L, 1, 15L, "training_mode = 1")]
    [InlineData(1L, 3, 15L, "training_mode = 1")]
    [InlineData(-1L, 5, 9L, "5 outputs")]
    [InlineData(0L, 3, 15L, "3 outputs")]
    public void A_batch_norm_exported_in_training_mode_is_refused_at_load_by_node_with_the_export_fix(long trainingMode, int outputs, long opset, string why)
    {
        string path = BatchNormModel(trainingMode, outputs, opset);

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => OnnxModel.Load(path));

        Assert.Contains("node 'layer1.bn' (BatchNormalization) is exported in training mode", ex.Message, StringComparison.Ordinal);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains("model.eval()", ex.Message, StringComparison.Ordinal);
        // The CLI gives the same refusal as bad input, before any work.
        CliRun run = CliRun.Of("info", path);
        Assert.Equal(Swim.Controller.Cli.ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("layer1.bn", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1L, 15L)]
    [InlineData(0L, 15L)]
    [InlineData(-1L, 9L)]
    public void A_batch_norm_in_inference_mode_loads_and_runs(long trainingMode, long opset)
    {
        OnnxModel model = OnnxModel.Load(BatchNormModel(trainingMode, 1, opset));

        Assert.Equal(["w"], model.FindMappedWeights().Select(w => w.Name));
        using var classifier = new Swim.Controller.Evaluation.Classifier(model);
        Assert.Equal(2, classifier.Predict(new float[6], 2, [3]).Length);
    }

    [Fact]
    public void A_model_with_two_data_inputs_is_refused_with_their_names()
    {
        var g = new GraphBuilder();
        string a = g.Input("a", DataType.Float, -1, 4);
        string b = g.Input("b", DataType.Float, -1, 4);
        string w = g.Initializer("w", [4, 2], new float[8]);
        g.Output(g.Node("MatMul", [g.Node("Add", [a, b]), w]), DataType.Float, "N", 2L);
        OnnxModel model = OnnxModel.Load(SaveProto(g.ToModel(), "two.onnx"));

        OnnxModelException ex = Assert.Throws<OnnxModelException>(() => model.SingleDataInput());
        Assert.Contains("'a', 'b'", ex.Message);
    }

    [Fact]
    public void Initializers_listed_as_graph_inputs_are_not_data_inputs()
    {
        ModelProto proto = new TinyMlp(1).Build();
        proto.IrVersion = 3;
        proto.Graph.Input.Add(GraphBuilder.ValueInfo("fc1.weight", DataType.Float, [8L, 16L]));

        OnnxModel model = OnnxModel.Load(SaveProto(proto, "ir3.onnx"));

        Assert.Equal("input", model.SingleDataInput().Name);
    }

    [Fact]
    public void A_dense_weight_reshaped_on_its_way_is_mapped_as_the_matrix_its_elements_form_and_one_read_out_of_order_is_listed()
    {
        OnnxModel reshaped = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(TestNets.ReshapedWeight(3)), "reshaped", null);

        Assert.Equal(["fc1.weight", "fc2.packed"], reshaped.FindMappedWeights().Select(w => w.Name));
        MappedWeight packed = reshaped.FindMappedWeights()[1];
        Assert.Equal([2L, 12L], packed.Dims);
        Assert.Equal([6L, 4L], packed.MatrixDims);
        Assert.Empty(reshaped.UnmappedWeightTensors());
        Controller.Mapping.WeightMapping layer = Controller.Mapping.CrossbarMapping.Build(reshaped, Swim.Emulator.EmulatedBoard.Describe(Swim.Devices.DevicePreset.Rram, new Swim.Emulator.BoardGeometry(4, 256, 256), 1), new Controller.Mapping.MappingOptions()).Weights[1];
        Assert.Equal((6, 4, false), (layer.FanIn, layer.FanOut, layer.OutputsFirst));

        // Transposed before the reshape, the matrix's rows are no run of the stored elements: not mapped, and named.
        OnnxModel scrambled = OnnxModel.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(TestNets.ReshapedWeight(3, transposedFirst: true)), "scrambled", null);
        Assert.Equal(["fc1.weight"], scrambled.FindMappedWeights().Select(w => w.Name));
        Assert.Equal([("fc2.packed", "Transpose")], scrambled.UnmappedWeightTensors());
        Assert.Empty(BundledLeNet.Model.UnmappedWeightTensors());
    }
}
