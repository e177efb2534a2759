using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Emulator;
using Swim.Devices;
using Swim.Protocol.Board;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>A board that answers a command with an error status mid-session: the session stops, the journal stays consistent, a resume finishes.</summary>
public sealed class BoardErrorTests
{
    private static readonly OnnxModel s_lenet = BundledLeNet.Model;
    private static readonly Lazy<SensitivityResult> s_sensitivity = new(() => BundledLeNet.Sensitivity(300, 150));

    /// <summary>The emulated board, except that the N-th PROGRAM_VERIFY or VERIFY_LEVELS fails with INTERNAL_ERROR (and changes nothing).</summary>
    private sealed class FailingBoard(EmulatedBoard inner, int failAt) : DelegatingDevice(inner)
    {
        private int _verifies;

        public bool Failing { get; set; } = true;

        public override BoardResponse Execute(BoardRequest request)
        {
            if (Failing && request is ProgramVerifyRequest or VerifyLevelsRequest && ++_verifies == failAt)
            {
                throw new BoardStatusException(StatusCode.InternalError, "charge pump fault");
            }
            return base.Execute(request);
        }
    }

    [Fact]
    public async Task A_board_error_mid_verify_stops_the_session_with_a_consistent_journal_and_a_resume_finishes_it()
    {
        using var dir = new TempDirectory();
        var emulated = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(16, 256, 256), seed: 9);
        var device = new FailingBoard(emulated, failAt: 20);
        var endpoint = new BoardEndpoint(device);
        var options = new ProgrammingOptions { Method = SelectionMethod.Swim, Fraction = 0.1, ChunkCells = 4096 };
        string path = dir.File("session.db");
        using var stop = new CancellationTokenSource();

        (ByteTransport hostEnd, ByteTransport boardEnd) = InMemoryLink.CreatePair();
        Task serving = endpoint.ServeAsync(boardEnd, stop.Token);
        using (SessionJournal journal = SessionJournal.Create(path, new Dictionary<string, string> { ["model"] = "lenet" }))
        await using (var client = new BoardClient(hostEnd))
        {
            BoardException error = await Assert.ThrowsAsync<BoardException>(() => ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options, journal: journal));
            Assert.Contains("InternalError", error.Message, StringComparison.Ordinal);
            Assert.Equal("ok", journal.IntegrityCheck());
            Assert.Equal("running", journal.Fact("state"));
            Assert.True(journal.Summary().Count(row => !row.Done) <= 1, string.Join("; ", journal.Summary()));
        }

        device.Failing = false;
        (ByteTransport again, ByteTransport boardAgain) = InMemoryLink.CreatePair();
        Task servingAgain = endpoint.ServeAsync(boardAgain, stop.Token);
        using (SessionJournal journal = SessionJournal.Open(path))
        await using (var client = new BoardClient(again))
        {
            ProgrammingResult result = await ProgrammingSession.RunAsync(client, s_lenet, s_sensitivity.Value, options, journal: journal);
            Assert.Equal("completed", journal.Fact("state"));
            Assert.Equal(6_147 * 8, result.CellsVerified);
        }
        await stop.CancelAsync();
        await Task.WhenAny(Task.WhenAll(serving, servingAgain), Task.Delay(5000));
    }
}
