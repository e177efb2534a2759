using System.CommandLine;
using System.Diagnostics;
using Swim.Controller.Data;
using Swim.Controller.Evaluation;
using Swim.Controller.Onnx;

namespace Swim.Controller.Cli;

/// <summary><c>swim eval MODEL.onnx --data DATA.npz</c>: top-1 accuracy with ONNX Runtime.</summary>
internal static class EvalCommand
{
    /// <param name="Data">The data file's path; <paramref name="Selection"/> says which of its samples (split, count) were read.</param>
    public sealed record Report(string Model, string Data, string Selection, int Samples, int Correct, double Accuracy, int BatchSize, double Seconds);

    public static Command Create(Func<CommandContext> context)
    {
        var model = new Argument<string>("model") { Description = "The ONNX classifier." };
        var data = new DataOptions("--data", "Labelled samples: .npz with x and y, or IDX images (with --labels).", DataSplit.Test);
        var json = new Option<bool>("--json") { Description = "Print one JSON object (accuracy as a fraction 0..1, samples, ...)." };
        var command = new Command("eval", "Top-1 accuracy of an ONNX classifier on labelled data.");
        command.Arguments.Add(model);
        data.AddTo(command);
        command.Options.Add(json);
        command.SetAction(result => context().Run(() =>
        {
            CommandContext ctx = context();
            OnnxModel onnx = OnnxModel.Load(result.GetRequiredValue(model));
            DataSet samples = data.Open(result);
            using var classifier = new Classifier(onnx);
            int batch = classifier.FixedBatchSize ?? data.BatchSize(result);
            var clock = Stopwatch.StartNew();
            EvaluationResult evaluation = classifier.Evaluate(samples, batch);
            var report = new Report(result.GetRequiredValue(model), result.GetRequiredValue(data.Data), samples.Description, evaluation.Samples, evaluation.Correct,
                evaluation.Accuracy, batch, clock.Elapsed.TotalSeconds);
            if (result.GetValue(json))
            {
                ctx.Output.WriteLine(JsonOutput.Serialize(report));
            }
            else
            {
                ctx.Output.WriteLine($"model     {report.Model}");
                ctx.Output.WriteLine($"data      {report.Selection}: {report.Samples} samples");
                ctx.Output.WriteLine($"accuracy  {report.Accuracy:P2} ({report.Correct} / {report.Samples})");
                ctx.Output.WriteLine($"time      {report.Seconds:F2} s, batch {batch}, {report.Samples / Math.Max(report.Seconds, 1e-9):F0} samples/s");
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
