namespace Swim.Controller.Evaluation;

/// <summary>Top-1 accuracy over a number of samples.</summary>
public sealed record EvaluationResult(int Samples, int Correct)
{
    /// <summary>Fraction of samples whose largest output is the label, 0..1.</summary>
    public double Accuracy => Samples == 0 ? 0 : (double)Correct / Samples;
}
