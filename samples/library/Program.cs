using Swim.Controller;
using Swim.Controller.Boards;
using Swim.Controller.Data;
using Swim.Controller.Selection;
using Swim.Controller.Sessions;
using Swim.Controller.Workflows;

// The bundled LeNet-5 onto an in-process emulated RRAM board: every cell written once, the 10 % of weights SWIM
// ranks highest write-verified, every cell read back, and the read-back model evaluated.
string data = BundledAssets.Require(BundledAssets.MnistData);
string output = args.Length > 0 ? args[0] : Path.Combine("out", "library-sample");
var request = new ProgrammingRequest
{
    ModelPath = BundledAssets.Require(BundledAssets.LeNetModel),
    Board = BoardAddress.Parse("emulator:rram"),
    Options = new ProgrammingOptions { Method = SelectionMethod.Swim, Fraction = 0.1 },
    Calibration = DataSet.Open(data, DataSplit.Train).Take(500),
    Test = DataSet.Open(data, DataSplit.Test).Take(500),
    JournalPath = Path.Combine(output, "session.db"),
    OutputPath = Path.Combine(output, "programmed.onnx"),
    ReportDirectory = output,
};
ProgrammingOutcome outcome = await ProgrammingWorkflow.RunAsync(request, WorkReporter.To(Console.Out));
ProgrammingResult result = outcome.Result;
Console.WriteLine($"verified {result.CellsVerified:N0} of {result.CellsProgrammed:N0} cells, {result.DeviceTimeNs / 1e9:F2} s of device time");
Console.WriteLine($"accuracy {outcome.Accuracy:P2} read back, {outcome.TrainedAccuracy:P2} as trained; report in {output}");
