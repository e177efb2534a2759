namespace Swim.Controller.Training;

/// <summary>How <see cref="Trainer"/> trains; the defaults train the bundled LeNet-5.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 12;

    public int BatchSize { get; init; } = 64;

    /// <summary>adam or sgd (with momentum).</summary>
    public string Optimizer { get; init; } = "adam";

    public double LearningRate { get; init; } = 1e-3;

    public double Momentum { get; init; } = 0.9;

    public double WeightDecay { get; init; }

    /// <summary>
    /// Hardware-aware training: each batch's gradient is taken at weights perturbed by the SWIM device model,
    /// eight one-bit devices per weight of significance 2^-i of max|W_layer|, each off by N(0, sigma^2); the
    /// update is applied to the clean weights. 0 trains without noise.
    /// </summary>
    public double NoiseSigma { get; init; }

    /// <summary>Halves the learning rate at these fractions of the run (step decay); empty keeps it fixed.</summary>
    public IReadOnlyList<double> DecayAt { get; init; } = [0.5, 0.75];

    public int Seed { get; init; }

    public void Validate()
    {
        if (Epochs < 1)
        {
            throw new SwimInputException($"--epochs must be at least 1 (got {Epochs}).");
        }
        if (BatchSize < 1)
        {
            throw new SwimInputException($"--batch must be at least 1 (got {BatchSize}).");
        }
        if (!(LearningRate > 0))
        {
            throw new SwimInputException($"--lr must be positive (got {LearningRate}).");
        }
        if (NoiseSigma < 0)
        {
            throw new SwimInputException($"--noise-sigma must be 0 or more (got {NoiseSigma}).");
        }
    }
}
