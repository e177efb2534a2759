using Microsoft.Data.Sqlite;
using Swim.Protocol.Client;

namespace Swim.Controller.Sessions;

/// <summary>
/// The record of a programming session, in SQLite (docs/journal.md). A chunk of cells is written as
/// <c>started</c> (with the board's per-cell counters at that moment) before any command for it is sent, and
/// as <c>done</c> (with its results) after every answer is in. WAL mode with synchronous=FULL: a kill at any
/// point leaves a consistent journal, and on resume a chunk still marked started is the only uncertainty.
/// </summary>
public sealed class SessionJournal : IDisposable
{
    public const int SchemaVersion = 1;

    private readonly SqliteConnection _connection;

    // A session over several boards writes from one task a board; SQLite's connection is not for concurrent use.
    private readonly object _gate;

    // Null for the whole journal; "" for board 1's part (as a one-board session journals), "boardN." for board N's.
    private readonly string? _board;

    private SessionJournal(SqliteConnection connection, string path, object? gate = null, string? board = null)
    {
        _connection = connection;
        Path = path;
        _gate = gate ?? new object();
        _board = board;
    }

    public string Path { get; }

    /// <summary>
    /// The part of the journal that records one board of a session over several (0 is the first): its facts and chunks
    /// under names of its own. Board 0's part is what a one-board session journals, so such a journal is the one-board case.
    /// Selection, state and totals stay the session's. The part shares this journal's connection; dispose the journal, not it.
    /// </summary>
    public SessionJournal ForBoard(int board)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(board);
        return new SessionJournal(_connection, Path, _gate, BoardPrefix(board));
    }

    private static string BoardPrefix(int board) => board == 0 ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"board{board + 1}.");

    private string Named(string name) => (_board ?? "") + name;

    /// <summary>Starts a journal for a new session; refuses to overwrite one (resume it, or choose another file).</summary>
    public static SessionJournal Create(string path, IReadOnlyDictionary<string, string> facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (File.Exists(path))
        {
            throw new SwimInputException($"journal '{path}' already exists; continue that session with --resume, or give a new --journal file.");
        }
        SessionJournal journal = OpenConnection(path);
        journal.Execute("""
            CREATE TABLE session (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE chunk (
                phase TEXT NOT NULL,
                first_cell INTEGER NOT NULL,
                cell_count INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('started', 'done')),
                started_at TEXT NOT NULL,
                finished_at TEXT,
                before BLOB,
                result BLOB,
                PRIMARY KEY (phase, first_cell));
            CREATE TABLE selection (id INTEGER PRIMARY KEY CHECK (id = 1), cells BLOB NOT NULL);
            """);
        using SqliteTransaction transaction = journal._connection.BeginTransaction();
        foreach ((string key, string value) in facts.Append(new("schema_version", SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))).Append(new("state", "running")))
        {
            journal.Execute("INSERT INTO session (key, value) VALUES ($k, $v)", ("$k", key), ("$v", value));
        }
        transaction.Commit();
        return journal;
    }

    /// <summary>Opens an existing journal to resume its session.</summary>
    public static SessionJournal Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new SwimInputException($"journal '{path}' does not exist; start the session without --resume.");
        }
        SessionJournal journal = OpenConnection(path);
        try
        {
            if (journal.Fact("schema_version") != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new SwimInputException($"journal '{path}' has schema version {journal.Fact("schema_version") ?? "none"}; this Swim reads version {SchemaVersion}.");
            }
        }
        catch (SqliteException ex)
        {
            journal.Dispose();
            throw new SwimInputException($"'{path}' is not a Swim session journal ({ex.Message}); give the journal a session wrote, or a new file without --resume.", ex);
        }
        catch
        {
            journal.Dispose();
            throw;
        }
        return journal;
    }

    private static SessionJournal OpenConnection(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ToString());
        try
        {
            connection.Open();
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new SwimInputException($"cannot open journal '{path}' ({ex.Message}); give a file in a directory Swim can write.", ex);
        }
        var journal = new SessionJournal(connection, full);
        try
        {
            journal.Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        }
        catch (SqliteException ex)
        {
            // The first statement is where SQLite finds a file that is not a database.
            journal.Dispose();
            throw new SwimInputException($"'{path}' is not a Swim session journal ({ex.Message}); give the journal a session wrote, or a new file without --resume.", ex);
        }
        return journal;
    }

    public string? Fact(string key)
    {
        lock (_gate)
        {
            using SqliteCommand command = Command("SELECT value FROM session WHERE key = $k", ("$k", Named(key)));
            return command.ExecuteScalar() as string;
        }
    }

    public void SetFact(string key, string value) =>
        Execute("INSERT INTO session (key, value) VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("$k", Named(key)), ("$v", value));

    /// <summary>The fact naming the sequence numbers of the newest PROGRAM or PROGRAM_VERIFY chunk's commands (<see cref="ChunkSeries"/>).</summary>
    public const string ChunkSeriesFact = "chunk_series";

    /// <summary>The board's STATUS counters as last stamped: before each chunk's snapshot, and as each chunk is marked done.</summary>
    public const string BoardStateFact = "chunk_board_state";

    private const string ClaimedSeriesFact = "chunk_series_claimed";

    /// <summary>The fact naming the board's version 2 session the session ran in (<see cref="SessionTicket"/>): a resume reopens it.</summary>
    public const string BoardSessionFact = "board_session";

    /// <summary>Records the version 2 session the host runs in, before any pulse: a host that dies from here on leaves the session a resume reopens.</summary>
    public void RecordBoardSession(SessionTicket? session)
    {
        if (session is not null)
        {
            SetFact(BoardSessionFact, session.ToJournalText());
        }
    }

    /// <summary>
    /// The version 2 session a host that used the journal at <paramref name="path"/> ran in, or null: reopened by a
    /// resume, it takes the dead host's write lease back at once and keeps the board's cached answers to its requests.
    /// </summary>
    /// <param name="board">Which board of the session (0, the first, for a one-board session).</param>
    public static SessionTicket? BoardSessionOf(string path, int board = 0)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using SessionJournal journal = Open(path);
        return SessionTicket.Parse(journal.ForBoard(board).Fact(BoardSessionFact));
    }

    /// <summary>
    /// For a host about to resume the journal at <paramref name="path"/>: a claim naming the sequence number to begin its series with,
    /// just after the numbers of the commands of the chunk a dead host left started, so that it can send those
    /// commands again under their own numbers (docs/journal.md); null when no such chunk is recorded. A chunk is
    /// claimed once: a resume killed in its turn has used the numbers after the chunk's, so the next one must not.
    /// Call it before the host sends anything: a request under a number of its own choosing could clear the board's cache.
    /// </summary>
    public static SeriesClaim? ClaimSeriesContinuation(string path, int board = 0)
    {
        using SessionJournal whole = Open(path);
        SessionJournal journal = whole.ForBoard(board);
        string? text = journal.Fact(ChunkSeriesFact);
        string? previous = journal.Fact(ClaimedSeriesFact);
        if (ChunkSeries.Parse(text) is not { } series || previous == text
            || journal.Find(series.Phase, series.FirstCell) is not { Done: false })
        {
            return null;
        }
        journal.SetFact(ClaimedSeriesFact, text!);
        return new SeriesClaim(path, unchecked(series.FirstSequence + (uint)series.Commands), previous) { Board = board };
    }

    /// <summary>
    /// Gives back a claim whose resume stopped before its session began (a board, model or journal refused, the
    /// sensitivity pass failed or was interrupted), so that the next resume can still replay the chunk; returns whether
    /// it did. Only while <paramref name="client"/>, which began its series at the claim, has sent no more than the
    /// IDENTIFY a resume begins with: the next resume sends the same IDENTIFY under the same number, which the board
    /// answers from its cache, and finds the chunk's numbers as close behind as before. After any other request the
    /// claim stays used, since the next resume's requests would meet that request's cached answer under their numbers.
    /// </summary>
    public static bool ReleaseSeriesClaim(SeriesClaim claim, BoardClient client)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(client);
        // What connecting sent (IDENTIFY, and OPEN in version 2) the next resume sends again under the same numbers.
        if (client.FirstSequence != claim.NextSequence || unchecked(client.NextSequence - client.FirstSequence) > (uint)Math.Max(1, client.ConnectRequests))
        {
            return false;
        }
        using SessionJournal whole = Open(claim.JournalPath);
        SessionJournal journal = whole.ForBoard(claim.Board);
        if (claim.PreviousClaim is null)
        {
            journal.Execute("DELETE FROM session WHERE key = $k", ("$k", journal.Named(ClaimedSeriesFact)));
        }
        else
        {
            journal.SetFact(ClaimedSeriesFact, claim.PreviousClaim);
        }
        return true;
    }

    /// <summary>The facts a board's part of the journal keeps of that board alone: what <see cref="ForgetBoard"/> drops.</summary>
    private static readonly string[] s_boardFacts =
        ["start_activity", BoardStateFact, ChunkSeriesFact, ClaimedSeriesFact, BoardSessionFact, "spent", "notes", ProgrammingSession.CellOrderFact, "verify_start_device_ns"];

    /// <summary>
    /// Drops board <paramref name="board"/>'s part of the journal (its chunks and its facts), for a board replaced by a
    /// blank one: the resumed session programs, verifies and reads back that board's cells afresh, in address order,
    /// and keeps every other board's record. Only with the user's consent: the cells of the board that was there are lost.
    /// </summary>
    public void ForgetBoard(int board)
    {
        SessionJournal part = ForBoard(board);
        lock (_gate)
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            foreach (string fact in s_boardFacts)
            {
                part.Execute("DELETE FROM session WHERE key = $k", ("$k", part.Named(fact)));
            }
            // Board 1's phases have no prefix and no dot; board N's begin with its prefix.
            part.Execute(board == 0 ? "DELETE FROM chunk WHERE instr(phase, '.') = 0" : "DELETE FROM chunk WHERE substr(phase, 1, length($p)) = $p", ("$p", part._board));
            part.SetFact(ProgrammingSession.CellOrderFact, "address");
            transaction.Commit();
        }
    }

    public ChunkRecord? Find(string phase, int firstCell)
    {
        lock (_gate)
        {
            using SqliteCommand command = Command("SELECT cell_count, state, before, result FROM chunk WHERE phase = $p AND first_cell = $f", ("$p", Named(phase)), ("$f", firstCell));
            using SqliteDataReader reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }
            return new ChunkRecord(phase, firstCell, reader.GetInt32(0), reader.GetString(1) == "done",
                reader.IsDBNull(2) ? null : (byte[])reader[2], reader.IsDBNull(3) ? null : (byte[])reader[3]);
        }
    }

    /// <summary>Recorded before any command of the chunk is sent.</summary>
    public void Started(string phase, int firstCell, int count, byte[]? before) =>
        Execute("INSERT INTO chunk (phase, first_cell, cell_count, state, started_at, before) VALUES ($p, $f, $n, 'started', $t, $b)",
            ("$p", Named(phase)), ("$f", firstCell), ("$n", count), ("$t", Now()), ("$b", (object?)before ?? DBNull.Value));

    /// <summary>Recorded after every answer of the chunk is in.</summary>
    public void Done(string phase, int firstCell, byte[]? result) =>
        Execute("UPDATE chunk SET state = 'done', finished_at = $t, result = $r WHERE phase = $p AND first_cell = $f",
            ("$p", Named(phase)), ("$f", firstCell), ("$t", Now()), ("$r", (object?)result ?? DBNull.Value));

    public byte[]? Selection()
    {
        lock (_gate)
        {
            using SqliteCommand command = Command("SELECT cells FROM selection WHERE id = 1");
            return command.ExecuteScalar() as byte[];
        }
    }

    public void SaveSelection(byte[] cells) => Execute("INSERT INTO selection (id, cells) VALUES (1, $c)", ("$c", cells));

    /// <summary>
    /// Chunks per phase and state, for reports and checks: a board's part its own (phases by their plain names), the
    /// whole journal every board's (board N's phases named "boardN.phase" after the first board's).
    /// </summary>
    public IReadOnlyList<(string Phase, bool Done, int Chunks, long Cells)> Summary()
    {
        var rows = new List<(string, bool, int, long)>();
        lock (_gate)
        {
            using SqliteCommand command = Command("SELECT phase, state, COUNT(*), SUM(cell_count) FROM chunk GROUP BY phase, state ORDER BY phase, state");
            using SqliteDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                string phase = reader.GetString(0);
                // Phase names have no dot; a board's part after the first is the prefix's.
                bool mine = _board is null || (_board.Length == 0 ? !phase.Contains('.', StringComparison.Ordinal) : phase.StartsWith(_board, StringComparison.Ordinal));
                if (mine)
                {
                    rows.Add((_board is null ? phase : phase[_board.Length..], reader.GetString(1) == "done", reader.GetInt32(2), reader.GetInt64(3)));
                }
            }
        }
        return rows;
    }

    public string IntegrityCheck()
    {
        lock (_gate)
        {
            using SqliteCommand command = Command("PRAGMA integrity_check");
            return command.ExecuteScalar() as string ?? "no answer";
        }
    }

    private static string Now() => DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private void Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            using SqliteCommand command = Command(sql, parameters);
            command.ExecuteNonQuery();
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    /// <summary>Closes the journal; a board's part (<see cref="ForBoard"/>) leaves the connection to the journal it came from.</summary>
    public void Dispose()
    {
        if (_board is null)
        {
            _connection.Dispose();
        }
    }
}

/// <summary>A journalled chunk: its cells, whether it finished, the counters before it, and its results.</summary>
public sealed record ChunkRecord(string Phase, int FirstCell, int Count, bool Done, byte[]? Before, byte[]? Result);

/// <summary>
/// A resumed host's claim on a dead host's chunk (<see cref="SessionJournal.ClaimSeriesContinuation"/>): the host begins
/// its sequence numbers at <see cref="NextSequence"/>. <see cref="PreviousClaim"/> is what the journal held before, so
/// that <see cref="SessionJournal.ReleaseSeriesClaim"/> can put it back.
/// </summary>
public sealed record SeriesClaim(string JournalPath, uint NextSequence, string? PreviousClaim)
{
    /// <summary>Which board of the session the claim is on (0 for a one-board session).</summary>
    public int Board { get; init; }
}

/// <summary>The numbers a chunk's commands were sent under: <see cref="Commands"/> in a row from <see cref="FirstSequence"/>.</summary>
public sealed record ChunkSeries(string Phase, int FirstCell, uint FirstSequence, int Commands)
{
    public string ToJournalText() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Phase} {FirstCell} {FirstSequence} {Commands}");

    public static ChunkSeries? Parse(string? text)
    {
        string[] parts = text?.Split(' ') ?? [];
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        return parts.Length == 4 && int.TryParse(parts[1], invariant, out int firstCell) && uint.TryParse(parts[2], invariant, out uint first)
            && int.TryParse(parts[3], invariant, out int commands) && commands > 0
            ? new ChunkSeries(parts[0], firstCell, first, commands)
            : null;
    }
}
