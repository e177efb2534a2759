using System.Security.Cryptography;
using System.Text.Json;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Protocol.Messages;

namespace Swim.Controller.Sessions;

/// <summary>
/// Ties a journal to the work it records (the model, the options, the board and where the model's cells sit on
/// it), so a resume is refused when any of them differs: the journal names cells by their index in the plan.
/// </summary>
public static class JournalBinding
{
    /// <summary>
    /// A new journal, or with <paramref name="resume"/> the one a stopped session left, refused unless it belongs to
    /// the same model, options and board.
    /// </summary>
    /// <param name="mapping">The session's layout on <paramref name="board"/>, the one the session will program.</param>
    public static SessionJournal Open(string path, bool resume, OnnxModel model, string modelPath, ProgrammingOptions options, BoardInfo board, CrossbarMapping mapping) =>
        Open(path, resume, model, modelPath, options, BoardSet.Single(board), mapping);

    /// <summary>
    /// The same for a session over several boards: the journal names them all by serial, in order, and a resume is
    /// refused on another set or another order (each board's part of the journal names its cells on that board).
    /// </summary>
    /// <param name="replaced">
    /// Boards (0 the first) the user says were replaced by blank ones since the session stopped: their serials may
    /// differ from the journal's, and their parts of it are dropped, so their cells are programmed afresh.
    /// </param>
    public static SessionJournal Open(string path, bool resume, OnnxModel model, string modelPath, ProgrammingOptions options, BoardSet boards, CrossbarMapping mapping,
        IReadOnlyCollection<int>? replaced = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(boards);
        string serials = string.Join(", ", boards.Boards.Select(b => b.Serial));
        string facts = SessionFacts(options);
        string modelHash = ModelHash(model);
        string layoutHash = Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(mapping, JsonOutput.Options)));
        if (!resume)
        {
            return SessionJournal.Create(path, new Dictionary<string, string>
            {
                ["model_sha256"] = modelHash, ["options"] = facts, ["board_serial"] = serials, ["model_path"] = modelPath, ["layout_sha256"] = layoutHash,
            });
        }
        SessionJournal journal = SessionJournal.Open(path);
        try
        {
            CheckSameWork(journal, modelHash, facts);
            CheckSameBoards(journal, boards, replaced ?? [], layoutHash);
            foreach (int board in replaced ?? [])
            {
                journal.ForgetBoard(board);
            }
            journal.SetFact("board_serial", serials);
        }
        catch
        {
            journal.Dispose();
            throw;
        }
        return journal;
    }

    /// <summary>
    /// Refuses, before the board is reached, a journal that cannot be resumed with this model and these options: so a
    /// mistyped command costs neither a sensitivity pass nor the journal's claim on the board's response cache.
    /// </summary>
    public static void CheckResumable(string path, OnnxModel model, ProgrammingOptions options)
    {
        using SessionJournal journal = SessionJournal.Open(path);
        CheckSameWork(journal, ModelHash(model), SessionFacts(options));
    }

    /// <summary>
    /// Whether the journal records cells already pulsed by a session that has not finished: its resume needs the
    /// very board (the cells as that session left them). A finished session's resume reads everything from the journal.
    /// </summary>
    public static bool HasUnfinishedCellWork(string path)
    {
        using SessionJournal journal = SessionJournal.Open(path);
        return journal.Fact("state") != "completed" && journal.Summary().Any(s => (s.Phase.EndsWith("program", StringComparison.Ordinal) || s.Phase.EndsWith("verify", StringComparison.Ordinal)) && s.Chunks > 0);
    }

    /// <summary>
    /// Refuses to resume unfinished work on a board that cannot hold it: the in-process emulator starts blank every
    /// run, so the cells the journal says were programmed are not there, and the session would report a wrong model.
    /// </summary>
    public static void CheckBoardKeepsCells(string path, Boards.BoardAddress board, bool blankBoardAccepted, string how)
    {
        if (board is Boards.EmulatorAddress && !blankBoardAccepted && HasUnfinishedCellWork(path))
        {
            throw new SwimInputException($"journal '{path}' records cells programmed on an emulator, and the in-process emulator ({board}) starts blank each run: " +
                $"resumed on it, the session would skip those cells and read back a model they are missing from. Resume on the board that holds them " +
                $"('swim emulator --state FILE' keeps an emulator's cells across runs; use --board tcp:HOST:PORT), or start afresh without --resume; {how}.");
        }
    }

    /// <summary>The options a journal records, so a resume can be refused when they differ.</summary>
    public static string SessionFacts(ProgrammingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return JsonOutput.Serialize(new { options.Method, options.Fraction, BudgetSeconds = options.VerifyBudget?.TotalSeconds, options.Mapping.MagnitudeBits, options.Mapping.Signs, options.ToleranceFraction, options.MaxIterations, options.Seed, options.HostVerify });
    }

    private static string ModelHash(OnnxModel model) => Convert.ToHexStringLower(SHA256.HashData(model.ToBytes()));

    private static void CheckSameWork(SessionJournal journal, string modelHash, string facts)
    {
        if (journal.Fact("model_sha256") != modelHash)
        {
            throw new SwimInputException($"journal '{journal.Path}' belongs to another model ({journal.Fact("model_path")}); resume with the same model, or start a new journal.");
        }
        if (journal.Fact("options") is var recorded && recorded != facts)
        {
            throw new SwimInputException($"journal '{journal.Path}' was started with other options ({Differences(recorded, facts)}); resume with the options it was started with, or start a new journal.");
        }
    }

    /// <summary>Where two recorded option sets differ, by the options' own names and values: "--method magnitude, not random".</summary>
    internal static string Differences(string? recorded, string current)
    {
        using System.Text.Json.JsonDocument was = System.Text.Json.JsonDocument.Parse(recorded ?? "{}");
        using System.Text.Json.JsonDocument now = System.Text.Json.JsonDocument.Parse(current);
        var differences = new List<string>();
        foreach (System.Text.Json.JsonProperty option in now.RootElement.EnumerateObject())
        {
            string then = was.RootElement.TryGetProperty(option.Name, out System.Text.Json.JsonElement value) ? value.GetRawText() : "null";
            if (then != option.Value.GetRawText())
            {
                differences.Add($"{OptionName(option.Name)} {Show(option.Name, then)}, not {Show(option.Name, option.Value.GetRawText())}");
            }
        }
        return differences.Count > 0 ? string.Join("; ", differences) : "recorded by another Swim version";
    }

    private static string OptionName(string fact) => fact switch
    {
        "method" => "--method",
        "fraction" => "--ratio",
        "budget_seconds" => "--budget",
        "magnitude_bits" => "--weight-bits",
        "signs" => "--signs",
        "tolerance_fraction" => "--tolerance",
        "max_iterations" => "--max-iterations",
        "seed" => "--seed",
        "host_verify" => "--host-verify",
        _ => fact,
    };

    private static string Show(string fact, string json) => fact switch
    {
        _ when json == "null" => "none",
        "method" when int.TryParse(json, out int m) => Selection.SelectionMethods.Name((Selection.SelectionMethod)m),
        "signs" when int.TryParse(json, out int s) => ((SignEncoding)s).ToString().ToLowerInvariant(),
        _ => json,
    };

    private static void CheckSameBoards(SessionJournal journal, BoardSet boards, IReadOnlyCollection<int> replaced, string layoutHash)
    {
        string serial = string.Join(", ", boards.Boards.Select(b => b.Serial));
        string[] serials = (journal.Fact("board_serial") ?? "").Split(", ");
        foreach (int board in replaced.Where(b => b < 0 || b >= boards.Count))
        {
            throw new SwimInputException($"--replaced-board {board + 1}: the session has {boards.Count} board{(boards.Count == 1 ? "" : "s")}; give a position from 1 to {boards.Count}.");
        }
        bool same = serials.Length == boards.Count && Enumerable.Range(0, boards.Count).All(b => replaced.Contains(b) || serials[b] == boards.Boards[b].Serial);
        if (!same)
        {
            List<int> changed = serials.Length == boards.Count ? [.. Enumerable.Range(0, boards.Count).Where(b => serials[b] != boards.Boards[b].Serial)] : [];
            string hint = changed.Count > 0
                ? $"; if board{(changed.Count == 1 ? "" : "s")} {string.Join(", ", changed.Select(b => b + 1))} {(changed.Count == 1 ? "was" : "were")} replaced by a blank one, add {string.Join(" ", changed.Select(b => $"--replaced-board {b + 1}"))} to program {(changed.Count == 1 ? "its" : "their")} cells afresh (the journal's record of the old board is dropped)"
                : "";
            throw new SwimInputException(boards.Count > 1 || serials.Length > 1
                ? $"journal '{journal.Path}' was started on boards {journal.Fact("board_serial")}, not {serial}; resume on the same boards, given in the same order{hint}."
                : $"journal '{journal.Path}' was started on board {journal.Fact("board_serial")}, not {serial}; resume on the same board{hint}.");
        }
        // Journals written before the layout was recorded have no layout fact; their Swim placed cells as this one does
        // on every board whose rows hold whole weights.
        if (journal.Fact("layout_sha256") is { } recorded && recorded != layoutHash)
        {
            throw new SwimInputException($"journal '{journal.Path}' placed the model's cells on the board differently (another board geometry, or another Swim version's layout), so its record of which cells were pulsed " +
                "does not name these cells; resume with the Swim and board that started it, or start a new journal.");
        }
    }
}
