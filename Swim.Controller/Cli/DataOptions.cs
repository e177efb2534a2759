using System.CommandLine;
using Swim.Controller.Data;

namespace Swim.Controller.Cli;

/// <summary>The options every command that reads samples shares: file, labels, split, count, batch size.</summary>
internal sealed class DataOptions
{
    private readonly DataSplit _defaultSplit;

    /// <param name="defaultBatch">The batch when --batch is not given; <see cref="AutoBatch"/> for the sensitivity pass's choice from the model's activation memory.</param>
    public DataOptions(string dataOptionName, string description, DataSplit defaultSplit, int defaultBatch = 256, bool required = true)
    {
        _defaultSplit = defaultSplit;
        Data = new Option<string>(dataOptionName) { Description = description, Required = required };
        Labels = new Option<string?>("--labels") { Description = "For IDX image files: the labels file (found by MNIST's naming when omitted)." };
        Split = new Option<string?>("--split")
        {
            Description = $"Which part of a file with a train/test split to use: train, test or all (default: {defaultSplit.ToString().ToLowerInvariant()} where the file has a split, else all).",
        };
        Split.AcceptOnlyFromAmong("train", "test", "all");
        Samples = new Option<int?>("--samples") { Description = "Use only the first N samples." };
        Batch = new Option<int>("--batch")
        {
            Description = "Samples per ONNX Runtime call (ignored when the model fixes its batch size)" +
                (defaultBatch == AutoBatch ? "; default: as many as fit the pass's activation memory, at most 256." : "."),
        };
        if (defaultBatch != AutoBatch)
        {
            Batch.DefaultValueFactory = _ => defaultBatch;
        }
    }

    public Option<string> Data { get; }

    public Option<string?> Labels { get; }

    public Option<string?> Split { get; }

    public Option<int?> Samples { get; }

    public Option<int> Batch { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Data);
        command.Options.Add(Labels);
        command.Options.Add(Split);
        command.Options.Add(Samples);
        command.Options.Add(Batch);
    }

    public DataSet Open(ParseResult result)
    {
        string? split = result.GetValue(Split);
        DataSplit chosen = split is null ? _defaultSplit : Enum.Parse<DataSplit>(split, ignoreCase: true);
        DataSet data = DataSet.Open(result.GetRequiredValue(Data), chosen, splitRequired: split is not null, result.GetValue(Labels));
        int? samples = result.GetValue(Samples);
        if (samples is <= 0)
        {
            throw new SwimInputException($"--samples must be at least 1 (got {samples}).");
        }
        return data.Take(samples);
    }

    /// <summary>Samples per ONNX Runtime call; more than this would not fit one call's buffers.</summary>
    public const int MaxBatch = 65_536;

    /// <summary>The default that leaves the batch to the sensitivity pass.</summary>
    public const int AutoBatch = Sensitivity.SensitivityAnalysis.AutoBatch;

    public int BatchSize(ParseResult result)
    {
        int batch = result.GetValue(Batch);
        if (batch == AutoBatch && result.GetResult(Batch) is not { Implicit: false })
        {
            return AutoBatch;
        }
        return batch is >= 1 and <= MaxBatch ? batch : throw new SwimInputException($"--batch must be 1 to {MaxBatch:N0} samples (got {batch:N0}).");
    }
}
