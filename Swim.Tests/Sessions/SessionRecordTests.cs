using Google.Protobuf;
using Swim.Controller;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Emulator;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;
using Swim.Protocol.Transports;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// The session's small records, each against numbers worked by hand: a board's activity (the protocol's device-time
/// estimate, restarts, differences, the journal's text form), progress as one number, and the options' ranges as the
/// command line names them.
/// </summary>
public sealed class SessionRecordTests
{
    private static readonly BoardInfo s_board = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(1, 8, 8), 1).Info
        with { ReadNs = 100, PulseNs = 50, VerifyIterationNs = 420 };

    private static BoardStatus Status(ulong deviceNs, ulong pulses, ulong reads, ulong iterations) =>
        new(0, 1_000, deviceNs, 0, 0, 0, 0, 0, pulses, reads, iterations, 0);

    [Fact]
    public void A_board_that_reports_no_device_time_is_timed_at_its_nominal_times()
    {
        // An iteration's own pulse and reads are counted already: it adds (420 - 50) mod 100 = 70 ns beyond them.
        BoardActivity estimated = BoardActivity.Of(Status(0, 3, 5, 2), s_board);
        Assert.True(estimated.DeviceTimeEstimated);
        Assert.Equal(3ul * 50 + 5 * 100 + 2 * 70, estimated.DeviceTimeNs);
        // A reported clock is taken as it is; so is a board that has done nothing.
        Assert.Equal((777ul, false), (BoardActivity.Of(Status(777, 3, 5, 2), s_board).DeviceTimeNs, BoardActivity.Of(Status(777, 3, 5, 2), s_board).DeviceTimeEstimated));
        Assert.Equal((0ul, false), (BoardActivity.Of(Status(0, 0, 0, 0), s_board).DeviceTimeNs, BoardActivity.Of(Status(0, 0, 0, 0), s_board).DeviceTimeEstimated));
        // Any one count is activity.
        Assert.True(BoardActivity.Of(Status(0, 1, 0, 0), s_board).DeviceTimeEstimated);
        Assert.True(BoardActivity.Of(Status(0, 0, 1, 0), s_board).DeviceTimeEstimated);
        Assert.True(BoardActivity.Of(Status(0, 0, 0, 1), s_board).DeviceTimeEstimated);
    }

    [Fact]
    public void The_nominal_estimate_handles_boards_without_read_time_and_iterations_shorter_than_a_pulse()
    {
        // No read time: the whole of 420 - 50 beyond the pulse; an iteration shorter than its pulse adds nothing.
        Assert.Equal(2ul * 50 + 3 * 370, BoardActivity.NominalNs(2, 7, 3, s_board with { ReadNs = 0 }));
        Assert.Equal(2ul * 50 + 7 * 100, BoardActivity.NominalNs(2, 7, 3, s_board with { VerifyIterationNs = 40 }));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    [InlineData(6, true)]
    public void Counters_that_went_down_or_a_reset_mean_a_restart(int what, bool restarted)
    {
        var earlier = new BoardActivity(1_000, 10, 20, 30, 5_000, 2, false);
        BoardActivity later = what switch
        {
            1 => earlier with { UptimeMicroseconds = 4_999 },
            2 => earlier with { Resets = 3 },
            3 => earlier with { DeviceTimeNs = 999 },
            4 => earlier with { Pulses = 9 },
            5 => earlier with { Reads = 19 },
            6 => earlier with { VerifyIterations = 29 },
            _ => earlier,
        };
        Assert.Equal(restarted, later.RestartedSince(earlier));
        // Counters that ran on, by any amount, are one run.
        Assert.False((earlier with { DeviceTimeNs = 1_001, Pulses = 11, Reads = 21, VerifyIterations = 31, UptimeMicroseconds = 5_001 }).RestartedSince(earlier));
    }

    [Fact]
    public void Activity_since_an_earlier_reading_is_the_difference_and_estimated_if_either_was()
    {
        var earlier = new BoardActivity(1_000, 10, 20, 30, 5_000, 2, false);
        var later = new BoardActivity(4_500, 17, 29, 31, 9_000, 2, false);
        Assert.Equal(new BoardActivity(3_500, 7, 9, 1, 4_000, 0, false), later.Since(earlier));
        Assert.True((later with { DeviceTimeEstimated = true }).Since(earlier).DeviceTimeEstimated);
        Assert.True(later.Since(earlier with { DeviceTimeEstimated = true }).DeviceTimeEstimated);
    }

    [Fact]
    public void Activity_reads_back_from_its_journal_text_and_nothing_else_does()
    {
        var activity = new BoardActivity(18_446_744_073_709_551_615, 1, 2, 3, 4, 4_294_967_295, true);
        Assert.Equal("18446744073709551615 1 2 3 4 4294967295 estimated", activity.ToJournalText());
        Assert.Equal(activity, BoardActivity.ParseJournalText(activity.ToJournalText()));
        Assert.Equal("18446744073709551615 1 2 3 4 4294967295 reported", (activity with { DeviceTimeEstimated = false }).ToJournalText());
        Assert.Equal(activity with { DeviceTimeEstimated = false }, BoardActivity.ParseJournalText("18446744073709551615 1 2 3 4 4294967295 reported"));
        foreach (string? text in new[] { null, "", "1 2 3 4 5 6", "1 2 3 4 5 6 reported x", "1 2 3 4 5 6 guessed", "1 2 3 -4 5 6 reported", "1 2 3 4 5 4294967296 reported",
            "1 2 3 4 5 +6 reported", "1 2 3 4,0 5 6 reported" })
        {
            Assert.Null(BoardActivity.ParseJournalText(text));
        }
    }

    [Theory]
    [InlineData("program", 0, 10, 0.0)]
    [InlineData("program", 5, 10, 0.5)]
    [InlineData("measure", 10, 10, 2.0)]
    [InlineData("verify", 3, 4, 2.75)]
    [InlineData("verify", 0, 0, 3.0)]
    [InlineData("read back", 10, 10, 4.0)]
    [InlineData("something else", 1, 4, 0.25)]
    public void Progress_as_one_number_counts_whole_phases_before_and_the_share_of_this_one(string phase, int done, int total, double overall)
    {
        var progress = new SessionProgress(phase, done, total);
        Assert.Equal(overall, progress.Overall, 12);
        Assert.Equal(overall, progress.AsStep.Done, 12);
        Assert.Equal(phase, progress.AsStep.Stage);
        Assert.Equal(["program", "measure", "verify", "read back"], SessionProgress.Phases);
    }

    [Fact]
    public void Options_at_their_limits_are_accepted_and_past_them_refused_naming_the_option()
    {
        var options = new ProgrammingOptions();
        Assert.Same(options, options.Validate());
        options = options with { Fraction = 0, ToleranceFraction = 1e-9, MaxIterations = 1, ChunkCells = 1, VerifyBudget = TimeSpan.FromTicks(1) };
        options.Validate();
        (options with { Fraction = 1, ToleranceFraction = 0.999 }).Validate();

        void Refused(ProgrammingOptions bad, string named) =>
            Assert.Contains(named, Assert.Throws<SwimInputException>(() => bad.Validate()).Message, StringComparison.Ordinal);
        Refused(options with { Fraction = -1e-9 }, "--ratio");
        Refused(options with { Fraction = 1 + 1e-9 }, "--ratio");
        Refused(options with { Fraction = double.NaN }, "--ratio");
        Refused(options with { VerifyBudget = TimeSpan.Zero }, "--budget");
        Refused(options with { VerifyBudget = TimeSpan.FromSeconds(-1) }, "--budget");
        Refused(options with { ToleranceFraction = 0 }, "--tolerance");
        Refused(options with { ToleranceFraction = 1 }, "--tolerance");
        Refused(options with { MaxIterations = 0 }, "--max-iterations");
        Assert.Throws<ArgumentOutOfRangeException>(() => (options with { ChunkCells = 0 }).Validate());

        Assert.Equal((ushort)1, ProgrammingOptions.IterationLimit(1));
        Assert.Equal(ushort.MaxValue, ProgrammingOptions.IterationLimit(65_535));
        Assert.Contains("--max-iterations", Assert.Throws<SwimInputException>(() => ProgrammingOptions.IterationLimit(0)).Message, StringComparison.Ordinal);
        Assert.Throws<SwimInputException>(() => ProgrammingOptions.IterationLimit(65_536));
    }

    [Fact]
    public void Options_default_to_the_papers_share_and_the_protocols_line()
    {
        var options = new ProgrammingOptions();
        Assert.Equal((Swim.Controller.Selection.SelectionMethod.Swim, 0.1, 0.01, (ushort)50, 16_384, 1, 1.0), (options.Method, options.Fraction, options.ToleranceFraction,
            options.MaxIterations, options.ChunkCells, options.Seed, options.StateSigmaRatio));
        Assert.Null(options.VerifyBudget);
        Assert.Null(options.ReadAfter);
        Assert.False(options.HostVerify || options.AcceptLostCells);
    }

    [Fact]
    public void Serial_device_time_is_every_boards_summed_and_the_sessions_own_for_one_board()
    {
        ProgrammingResult result = new(null!, null!, 0, 0, 0, 0, 0, 700, 0, 0, 0, null!, [], 0, false, []);
        Assert.Equal(700ul, result.SerialDeviceTimeNs);
        var link = new Swim.Protocol.Client.LinkStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        result = result with { Boards = [new BoardWork("a", 1, 0, 700, 0, 0, link), new BoardWork("b", 1, 0, ulong.MaxValue / 2, 0, 0, link)] };
        Assert.Equal(700ul + ulong.MaxValue / 2, result.SerialDeviceTimeNs);
    }

    [Fact]
    public void A_nominal_estimate_too_large_to_count_is_refused_not_wrapped_round() =>
        Assert.Throws<OverflowException>(() => BoardActivity.NominalNs(ulong.MaxValue / 2, 0, 0, s_board));

    /// <summary>Every entry point of a session names the argument it was not given, before it sends anything.</summary>
    [Fact]
    public async Task The_sessions_entry_points_name_a_missing_argument()
    {
        OnnxModel model = OnnxModel.FromBytes(new TinyMlp(3).Build().ToByteArray(), "tiny mlp", null);
        var board = new EmulatedBoard(DevicePreset.Rram, new BoardGeometry(2, 64, 64), 1);
        CellPlan plan = CellPlan.Build(CrossbarMapping.Build(model, board.Info, new MappingOptions()), model);
        (ByteTransport host, _) = InMemoryLink.CreatePair();
        await using var client = new BoardClient(host, new BoardClientOptions { CloseOnDispose = false });
        var options = new ProgrammingOptions();
        SessionBoard[] boards = [new SessionBoard(client, new BoardShare(0, [.. Enumerable.Range(0, plan.CellCount)], plan))];
        async Task Named(string name, Func<Task> call) => Assert.Equal(name, (await Assert.ThrowsAsync<ArgumentNullException>(call)).ParamName);

        await Named("client", () => ProgrammingSession.RunAsync(null!, model, null, options));
        await Named("model", () => ProgrammingSession.RunAsync(client, null!, null, options));
        await Named("options", () => ProgrammingSession.RunAsync(client, model, null, null!));
        await Named("client", () => ProgrammingSession.RunAsync((BoardClient)null!, model, plan, null, options, null));
        await Named("plan", () => ProgrammingSession.RunAsync(client, model, (CellPlan)null!, null, options, null));
        await Named("boards", () => ProgrammingSession.RunAsync((IReadOnlyList<SessionBoard>)null!, model, plan, null, options, null));
        await Named("model", () => ProgrammingSession.RunAsync(boards, null!, plan, null, options, null));
        await Named("plan", () => ProgrammingSession.RunAsync(boards, model, null!, null, options, null));
        await Named("options", () => ProgrammingSession.RunAsync(boards, model, plan, null, null!, null));
        await Named("client", () => HostVerifyLoop.RunAsync(null!, board.Info, [], 1, 10));
        await Named("board", () => HostVerifyLoop.RunAsync(client, null!, [], 1, 10));
        await Named("targets", () => HostVerifyLoop.RunAsync(client, board.Info, null!, 1, 10));
        Assert.Equal("status", Assert.Throws<ArgumentNullException>(() => BoardActivity.Of(null!, s_board)).ParamName);
        Assert.Equal("board", Assert.Throws<ArgumentNullException>(() => BoardActivity.Of(Status(0, 0, 0, 0), null!)).ParamName);
        Assert.Equal("board", Assert.Throws<ArgumentNullException>(() => BoardActivity.NominalNs(0, 0, 0, null!)).ParamName);
    }
}
