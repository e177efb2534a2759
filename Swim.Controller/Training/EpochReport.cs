namespace Swim.Controller.Training;

/// <summary>One epoch of training: mean loss and accuracy on the (possibly noise-perturbed) training batches, and clean validation accuracy.</summary>
public sealed record EpochReport(int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy, double? ValidationAccuracy, double Seconds);
