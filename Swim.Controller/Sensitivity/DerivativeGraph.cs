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
}
