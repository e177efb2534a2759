using Microsoft.Data.Sqlite;
using Swim.Controller;
using Swim.Controller.Sessions;
using Swim.Protocol.Client;
using Swim.Protocol.Transports;
using Swim.Protocol.Board;
using Swim.Tests.Support;

namespace Swim.Tests.Sessions;

/// <summary>
/// The journal's own promises (docs/journal.md), each checked on a journal written here and read back through SQLite
/// directly where the name a row is stored under is the promise: board 1's part under plain names, board N's under
/// "boardN.", a chunk series claimed once and given back as it was, and refusals that leave no file half written.
/// </summary>
public sealed class SessionJournalTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Dictionary<string, string> Facts = new() { ["model"] = "lenet5.onnx", ["seed"] = "7" };

    /// <summary>Runs <paramref name="sql"/> on the file through SQLite directly, outside the journal's code; returns its rows.</summary>
    private static List<T> Stored<T>(string path, string sql, Func<SqliteDataReader, T> row)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        using SqliteDataReader reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(row(reader));
        }
        return rows;
    }

    /// <summary>The session table's rows as stored.</summary>
    private static Dictionary<string, string> StoredFacts(string path) =>
        Stored(path, "SELECT key, value FROM session", r => (Key: r.GetString(0), Value: r.GetString(1))).ToDictionary(f => f.Key, f => f.Value);

    private static List<(string Phase, int FirstCell, string State)> StoredChunks(string path) =>
        Stored(path, "SELECT phase, first_cell, state FROM chunk ORDER BY phase, first_cell", r => (r.GetString(0), r.GetInt32(1), r.GetString(2)));

    /// <summary>A journal as a host killed mid-chunk leaves it: the first program chunk started, its 3 commands sent from number 100.</summary>
    private string JournalLeftMidChunk()
    {
        string path = _dir.File("j.db");
        using SessionJournal journal = SessionJournal.Create(path, Facts);
        journal.Started("program", 0, 8, null);
        journal.SetFact(SessionJournal.ChunkSeriesFact, "program 0 100 3");
        return path;
    }

    [Fact]
    public void A_new_journal_holds_the_facts_given_its_schema_version_and_state_running()
    {
        string path = _dir.File("sub/dir/j.db");
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            Assert.Equal(Path.GetFullPath(path), journal.Path);
            Assert.Equal("7", journal.Fact("seed"));
            Assert.Null(journal.Fact("absent"));
            journal.SetFact("seed", "8");
            journal.SetFact("notes", "first");
        }

        Assert.Equal(new Dictionary<string, string> { ["model"] = "lenet5.onnx", ["seed"] = "8", ["schema_version"] = "1", ["state"] = "running", ["notes"] = "first" },
            StoredFacts(path));
        using SessionJournal reopened = SessionJournal.Open(path);
        Assert.Equal("8", reopened.Fact("seed"));
        Assert.Equal("ok", reopened.IntegrityCheck());

        // Write-ahead logging, which is what lets a kill at any point leave a consistent journal, is the file's own mode.
        Assert.Equal(["wal"], Stored(path, "PRAGMA journal_mode", r => r.GetString(0)));
    }

    [Fact]
    public void Chunks_are_stamped_in_round_trip_time_and_a_boards_part_leaves_the_journal_open()
    {
        string path = _dir.File("j.db");
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            using (SessionJournal part = journal.ForBoard(1))
            {
                part.Started("program", 0, 4, null);
            }
            journal.Done("program", 0, null);
        }

        List<string> stamps = Stored(path, "SELECT started_at FROM chunk UNION ALL SELECT finished_at FROM chunk WHERE finished_at IS NOT NULL", r => r.GetString(0));
        Assert.Single(stamps);
        Assert.All(stamps, stamp =>
        {
            Assert.True(DateTime.TryParseExact(stamp, "O", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out DateTime at), stamp);
            Assert.Equal(DateTimeKind.Utc, at.Kind);
        });
    }

    [Fact]
    public void Create_refuses_an_existing_file_and_open_a_missing_foreign_or_newer_one_leaving_each_as_it_was()
    {
        string existing = _dir.File("existing.db");
        File.WriteAllText(existing, "not a journal, and not to be overwritten");
        string other = _dir.File("other.db");
        using (SessionJournal.Create(other, Facts))
        {
        }
        Stored(other, "UPDATE session SET value = '2' WHERE key = 'schema_version'", r => 0);
        string otherDatabase = _dir.File("other-database.db");
        Stored(otherDatabase, "CREATE TABLE samples (x REAL)", r => 0);

        var overwrite = Assert.Throws<SwimInputException>(() => SessionJournal.Create(existing, Facts));
        var database = Assert.Throws<SwimInputException>(() => SessionJournal.Open(otherDatabase));
        var directory = Assert.Throws<SwimInputException>(() => SessionJournal.Create(_dir.Path, Facts));
        Assert.Throws<ArgumentNullException>(() => SessionJournal.Create(_dir.File("no-facts.db"), null!));
        var missing = Assert.Throws<SwimInputException>(() => SessionJournal.Open(_dir.File("missing.db")));
        var foreign = Assert.Throws<SwimInputException>(() => SessionJournal.Open(existing));
        var newer = Assert.Throws<SwimInputException>(() => SessionJournal.Open(other));

        Assert.Contains("already exists; continue that session with --resume", overwrite.Message);
        Assert.Contains("does not exist; start the session without --resume", missing.Message);
        Assert.Contains("is not a Swim session journal", foreign.Message);
        Assert.Contains("has schema version 2; this Swim reads version 1", newer.Message);
        Assert.Contains("is not a Swim session journal", database.Message);
        Assert.Contains("give the journal a session wrote", database.Message);
        Assert.Contains("cannot open journal", directory.Message);
        Assert.False(File.Exists(_dir.File("no-facts.db")));
        Assert.Equal("not a journal, and not to be overwritten", File.ReadAllText(existing));
        Assert.False(File.Exists(_dir.File("missing.db")));
    }

    /// <summary>Board 1's part under plain names, board 3's (index 2) under "board3.", each reading only its own.</summary>
    [Fact]
    public void Each_boards_part_keeps_its_facts_and_chunks_under_its_own_names()
    {
        string path = _dir.File("j.db");
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            SessionJournal first = journal.ForBoard(0), third = journal.ForBoard(2);
            first.SetFact("spent", "10");
            third.SetFact("spent", "30");
            first.Started("program", 0, 64, [1, 2]);
            third.Started("program", 0, 32, null);
            third.Done("program", 0, [9]);
            third.Started("verify", 32, 8, null);

            Assert.Equal("10", first.Fact("spent"));
            Assert.Equal("30", third.Fact("spent"));
            Assert.Null(journal.ForBoard(1).Fact("spent"));
            ChunkRecord started = first.Find("program", 0)!;
            Assert.Equal(("program", 0, 64, false), (started.Phase, started.FirstCell, started.Count, started.Done));
            Assert.Equal([1, 2], started.Before);
            Assert.Null(started.Result);
            Assert.Equal((32, true), third.Find("program", 0) is { } c ? (c.Count, c.Done) : default);
            Assert.Equal([9], third.Find("program", 0)!.Result);
            Assert.Null(first.Find("verify", 32));
            Assert.Equal([("program", false, 1, 64L)], first.Summary());
            Assert.Equal([("program", true, 1, 32L), ("verify", false, 1, 8L)], third.Summary());
            Assert.Equal([("board3.program", true, 1, 32L), ("board3.verify", false, 1, 8L), ("program", false, 1, 64L)], journal.Summary());
            Assert.Throws<ArgumentOutOfRangeException>(() => journal.ForBoard(-1));
        }

        Assert.Equal("10", StoredFacts(path)["spent"]);
        Assert.Equal("30", StoredFacts(path)["board3.spent"]);
        Assert.Equal([("board3.program", 0, "done"), ("board3.verify", 32, "started"), ("program", 0, "started")], StoredChunks(path));
    }

    /// <summary>The facts docs/journal.md lists as a board's own.</summary>
    private static readonly string[] BoardFacts =
        ["start_activity", "chunk_board_state", "chunk_series", "chunk_series_claimed", "board_session", "spent", "notes", "verify_start_device_ns"];

    /// <summary>Forgetting a board drops its part only, and marks its cells to go in address order.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Forgetting_a_board_drops_its_facts_and_chunks_and_keeps_every_other_boards(int forgotten)
    {
        string path = _dir.File("j.db");
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            foreach (int board in new[] { 0, 1 })
            {
                SessionJournal part = journal.ForBoard(board);
                foreach (string fact in BoardFacts)
                {
                    part.SetFact(fact, $"{fact} {board}");
                }
                part.SetFact("cell_order", "placed");
                part.Started("program", 0, 4, null);
            }
            journal.SaveSelection([1, 2, 3]);

            journal.ForgetBoard(forgotten);

            SessionJournal gone = journal.ForBoard(forgotten), kept = journal.ForBoard(1 - forgotten);
            Assert.All(BoardFacts, fact => Assert.Null(gone.Fact(fact)));
            Assert.All(BoardFacts, fact => Assert.Equal($"{fact} {1 - forgotten}", kept.Fact(fact)));
            Assert.Equal("address", gone.Fact("cell_order"));
            Assert.Null(gone.Find("program", 0));
            Assert.Equal("placed", kept.Fact("cell_order"));
            Assert.NotNull(kept.Find("program", 0));
            Assert.Equal([1, 2, 3], journal.Selection());
            Assert.Equal("7", journal.Fact("seed"));
        }
        Assert.Single(StoredChunks(path));
    }

    /// <summary>
    /// A started chunk's series is claimed once: the claim begins just after its commands (100 + 3), a second claim
    /// finds nothing, a finished chunk or an unreadable series gives no claim at all.
    /// </summary>
    [Fact]
    public void A_started_chunks_series_is_claimed_once_and_a_finished_ones_not_at_all()
    {
        string path = _dir.File("j.db");
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            journal.Started("verify", 128, 64, null);
            journal.SetFact(SessionJournal.ChunkSeriesFact, new ChunkSeries("verify", 128, 4_294_967_295, 3).ToJournalText());
            journal.ForBoard(1).Started("program", 0, 8, null);
            journal.ForBoard(1).Done("program", 0, null);
            journal.ForBoard(1).SetFact(SessionJournal.ChunkSeriesFact, "program 0 50 2");
            journal.ForBoard(2).SetFact(SessionJournal.ChunkSeriesFact, "program 0 50 0");
        }

        SeriesClaim? claim = SessionJournal.ClaimSeriesContinuation(path);

        Assert.Equal(new SeriesClaim(path, 2, null), claim);
        Assert.Null(SessionJournal.ClaimSeriesContinuation(path));
        Assert.Null(SessionJournal.ClaimSeriesContinuation(path, board: 1));
        Assert.Null(SessionJournal.ClaimSeriesContinuation(path, board: 2));
        using (SessionJournal journal = SessionJournal.Open(path))
        {
            journal.ForBoard(1).Started("verify", 16, 8, null);
            journal.ForBoard(1).SetFact(SessionJournal.ChunkSeriesFact, "verify 16 70 4");
        }
        Assert.Equal(new SeriesClaim(path, 74, null) { Board = 1 }, SessionJournal.ClaimSeriesContinuation(path, board: 1));
        Assert.Equal("verify 128 4294967295 3", StoredFacts(path)["chunk_series_claimed"]);
    }

    /// <summary>
    /// A claim given back by a resume that sent nothing past connecting can be made again, and puts back the claim
    /// before it; once the client sent more, or began elsewhere, the claim stays used.
    /// </summary>
    [Fact]
    public async Task A_claim_is_given_back_only_by_a_client_that_began_at_it_and_sent_nothing_more()
    {
        string path = JournalLeftMidChunk();
        SeriesClaim first = SessionJournal.ClaimSeriesContinuation(path)!;
        using (SessionJournal journal = SessionJournal.Open(path))
        {
            journal.Started("program", 8, 8, null);
            journal.SetFact(SessionJournal.ChunkSeriesFact, "program 8 200 2");
        }
        SeriesClaim second = SessionJournal.ClaimSeriesContinuation(path)!;
        Assert.Equal(new SeriesClaim(path, 202, "program 0 100 3"), second);

        (ByteTransport host, _) = InMemoryLink.CreatePair();
        await using (var elsewhere = new BoardClient(host, new BoardClientOptions { InitialSequence = 7 }))
        {
            Assert.False(SessionJournal.ReleaseSeriesClaim(second, elsewhere));
        }
        Assert.Null(SessionJournal.ClaimSeriesContinuation(path));
        await using (var atClaim = new BoardClient(host, new BoardClientOptions { InitialSequence = 202 }))
        {
            Assert.True(SessionJournal.ReleaseSeriesClaim(second, atClaim));
        }
        Assert.Equal("program 0 100 3", StoredFacts(path)["chunk_series_claimed"]);
        Assert.Equal(second, SessionJournal.ClaimSeriesContinuation(path));
        await using (var atFirst = new BoardClient(host, new BoardClientOptions { InitialSequence = 103 }))
        {
            Assert.True(SessionJournal.ReleaseSeriesClaim(first, atFirst));
        }
        Assert.DoesNotContain("chunk_series_claimed", StoredFacts(path).Keys);
    }

    /// <summary>
    /// Connecting to a version 2 board takes two numbers (IDENTIFY, OPEN), which the next resume sends again: a client
    /// that sent only those gives the claim back; one that sent a STATUS more does not.
    /// </summary>
    [Fact]
    public async Task A_claim_is_given_back_after_connecting_and_not_after_one_request_more()
    {
        string path = JournalLeftMidChunk();
        var endpoint = new BoardEndpoint(new CountingDevice());
        using var stop = new CancellationTokenSource();
        BoardClient ClientAt(uint first)
        {
            (ByteTransport host, ByteTransport board) = InMemoryLink.CreatePair();
            _ = Task.Run(() => endpoint.ServeAsync(board, stop.Token));
            return new BoardClient(host, new BoardClientOptions { InitialSequence = first, CloseOnDispose = false });
        }
        SeriesClaim claim = SessionJournal.ClaimSeriesContinuation(path)!;
        Assert.Throws<ArgumentNullException>(() => SessionJournal.ReleaseSeriesClaim(null!, ClientAt(0)));
        Assert.Throws<ArgumentNullException>(() => SessionJournal.ReleaseSeriesClaim(claim, null!));

        await using (BoardClient connected = ClientAt(claim.NextSequence))
        {
            await connected.IdentifyAsync();
            Assert.Equal(2, connected.ConnectRequests);
            Assert.True(SessionJournal.ReleaseSeriesClaim(claim, connected));
        }
        claim = SessionJournal.ClaimSeriesContinuation(path)!;
        await using (BoardClient busy = ClientAt(claim.NextSequence))
        {
            await busy.StatusAsync();
            Assert.False(SessionJournal.ReleaseSeriesClaim(claim, busy));
        }
        Assert.Null(SessionJournal.ClaimSeriesContinuation(path));
        await stop.CancelAsync();
    }

    [Theory]
    [InlineData("program 12 4000000000 7", "program", 12, 4_000_000_000u, 7)]
    [InlineData("verify 0 0 1", "verify", 0, 0u, 1)]
    public void A_chunk_series_reads_back_as_written(string text, string phase, int firstCell, uint firstSequence, int commands)
    {
        var series = new ChunkSeries(phase, firstCell, firstSequence, commands);

        Assert.Equal(text, series.ToJournalText());
        Assert.Equal(series, ChunkSeries.Parse(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("program 12 100")]
    [InlineData("program 12 100 7 8")]
    [InlineData("program x 100 7")]
    [InlineData("program 12 -1 7")]
    [InlineData("program 12 100 0")]
    [InlineData("program 12 100 -2")]
    [InlineData("program 12 100 y")]
    public void A_chunk_series_that_does_not_read_is_no_series(string? text) => Assert.Null(ChunkSeries.Parse(text));

    [Fact]
    public void The_board_session_is_recorded_per_board_and_read_back_without_opening_the_session()
    {
        string path = _dir.File("j.db");
        Assert.Null(SessionJournal.BoardSessionOf(path));
        using (SessionJournal journal = SessionJournal.Create(path, Facts))
        {
            journal.RecordBoardSession(null);
            journal.ForBoard(1).RecordBoardSession(new SessionTicket(5, 123_456_789_012));
        }

        Assert.Null(SessionJournal.BoardSessionOf(path));
        Assert.Equal(new SessionTicket(5, 123_456_789_012), SessionJournal.BoardSessionOf(path, board: 1));
        Assert.Equal("5 123456789012", StoredFacts(path)["board2.board_session"]);
        Assert.DoesNotContain("board_session", StoredFacts(path).Keys);
    }

    [Fact]
    public void Only_the_first_selection_is_kept()
    {
        using SessionJournal journal = SessionJournal.Create(_dir.File("j.db"), Facts);
        Assert.Null(journal.Selection());
        journal.SaveSelection([4, 5]);

        Assert.Throws<SqliteException>(() => journal.SaveSelection([6]));
        Assert.Equal([4, 5], journal.Selection());
    }
}
