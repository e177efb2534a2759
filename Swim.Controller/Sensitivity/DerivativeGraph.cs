using Swim.Controller.Onnx.Schema;

namespace Swim.Controller.Sensitivity;

/// <summary>
/// An ONNX model, of standard operators only, that takes a batch of samples with labels and per-sample
/// weights and returns the weighted sum of the softmax cross-entropy loss, the number of weighted correct
/// predictions, and per trainable parameter the weighted sum of its gradient (unless built without) and of its
/// second-derivative diagonal. Sums, not means: callers accumulate batches in double and divide by the total weight.
/// </summary>
public sealed record DerivativeGraph(
    ModelProto Model,
    int BatchSize,
    int SamplesPerRun,
    int Classes,
    long[] SampleShape,
    CurvatureKind Curvature,
    IReadOnlyList<TrainableParameter> Parameters)
{
    public const string LabelsInput = "swim_labels";
    public const string WeightsInput = "swim_sample_weights";
    public const string UniformInput = "swim_uniform";
    public const string GgnClassInput = "swim_ggn_class";
    public const string LossOutput = "swim_loss_sum";
    public const string CorrectOutput = "swim_correct_sum";

    /// <summary>The name of the data input (the classifier's own).</summary>
    public required string DataInput { get; init; }

    /// <summary>Whether the graph returns the gradients (outputs <see cref="GradientOutput"/>); it always returns the curvature it was built for.</summary>
    public bool HasGradients { get; init; } = true;

    public static string GradientOutput(string parameter) => "grad/" + parameter;

    public static string CurvatureOutput(string parameter) => "hess/" + parameter;

    /// <summary>
    /// For <see cref="CurvatureKind.Ggn"/> every sample runs once per class (the square-root factor's
    /// columns folded into the batch), so a run holds <see cref="SamplesPerRun"/> = BatchSize / Classes samples.
    /// </summary>
    public int Replicas => BatchSize / SamplesPerRun;

    /// <summary>
    /// Runs per batch: 1, or for <see cref="CurvatureKind.Ggn"/> on a model that fixes its batch size, one per class
    /// (the class fed as <see cref="GgnClassInput"/>, a one-hot row per sample), each sample weighted 1 / Classes a run.
    /// </summary>
    public int ClassRuns { get; init; } = 1;

    /// <summary>
    /// The work that reads the parameters alone, split off by <see cref="ParameterWork.Split"/> to run once a pass;
    /// null while it is part of <see cref="Model"/>.
    /// </summary>
    public ModelProto? Preparation { get; init; }

    /// <summary>What <see cref="Preparation"/> makes and every run reads: the values <see cref="ParameterWork.Prepare"/> adds to the parameters.</summary>
    public IReadOnlyList<PreparedInput> PreparedInputs { get; init; } = [];

    /// <summary>The bytes of float values the model's forward pass makes for one sample (probed when the graph was built).</summary>
    public long ForwardBytesPerSample { get; init; }

    /// <summary>
    /// A run's values as a multiple of the forward's: the reverse passes keep the forward's values and make about
    /// as much again several times over (gradients, curvatures, im2col columns). Measured on a CIFAR ResNet-18
    /// (5.4 MiB of forward values a sample): each session's peak grew 23.5 MiB a sample between batches 2, 4 and 8.
    /// </summary>
    public const int RunBytesPerForwardByte = 4;

    /// <summary>What a session holds besides its runs' values: ONNX Runtime's own (measured: about 18 MiB on the same ResNet-18).</summary>
    public const long SessionOverheadBytes = 16L << 20;

    /// <summary>
    /// The memory one session of this graph holds while it runs: a float per parameter for each quantity it sums
    /// (the batch's sums it writes into), its own overhead, and a run's values (see <see cref="RunBytesPerForwardByte"/>).
    /// An estimate, for choosing how many sessions a pass runs at once.
    /// </summary>
    public long SessionBytes()
    {
        long elements = Parameters.Sum(p => p.ElementCount);
        int quantities = (HasGradients ? 1 : 0) + (Curvature != CurvatureKind.None ? 1 : 0);
        return elements * sizeof(float) * quantities + SessionOverheadBytes + RunBytesPerForwardByte * BatchSize * ForwardBytesPerSample;
    }
}
