using System.Security.Cryptography;
using System.Text.Json;
using Swim.Controller.Mapping;
using Swim.Controller.Onnx;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Sessions;
using Swim.Devices;
using Swim.Protocol.Client;
using Swim.Protocol.Messages;

namespace Swim.Controller.Cli;

/// <summary>What <c>swim program</c> and <c>swim run</c> share to start a journalled programming session and show its progress.</summary>
internal static class SessionLauncher
{
    private static readonly string[] s_phases = ["program", "measure", "verify", "read back"];

    /// <summary>
    /// A new journal, or with <paramref name="resume"/> the one a stopped session left, refused unless it belongs to
    /// the same model, options and board.
    /// </summary>
    /// <param name="mapping">The session's layout on <paramref name="board"/>, as <see cref="CrossbarMapping.Build"/> makes it for these options.</param>
    public static SessionJournal OpenJournal(string path, bool resume, OnnxModel model, string modelPath, ProgrammingOptions options, BoardInfo board, CrossbarMapping mapping)
    {
        string facts = SessionFacts(options);
        string modelHash = ModelHash(model);
        // The journal names cells by their index in the plan; the layout says where each index sits on the board.
        string layoutHash = Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(mapping, JsonOutput.Options)));
        if (!resume)
        {
            return SessionJournal.Create(path, new Dictionary<string, string>
            {
                ["model_sha256"] = modelHash, ["options"] = facts, ["board_serial"] = board.Serial, ["model_path"] = modelPath, ["layout_sha256"] = layoutHash,
            });
        }
        SessionJournal journal = SessionJournal.Open(path);
        try
        {
            CheckSameWork(journal, modelHash, facts);
            CheckSameBoard(journal, board.Serial, layoutHash);
        }
        catch
        {
            journal.Dispose();
            throw;
        }
        return journal;
    }

    /// <summary>Runs the session with one progress bar over its four phases (log lines when not on a terminal).</summary>
    public static Task<ProgrammingResult> RunAsync(CommandContext ctx, string description, BoardClient client, OnnxModel model, SensitivityResult? sensitivity,
        ProgrammingOptions options, Func<CellPlan, Func<int, double>>? variance, SessionJournal? journal, CancellationToken cancellationToken) =>
        ProgressDisplay.RunAsync(ctx, description, s_phases.Length, report =>
            ProgrammingSession.RunAsync(client, model, sensitivity, options, variance,
                (phase, done, total) => report(Array.IndexOf(s_phases, phase) + (total == 0 ? 1 : done / (double)total)), journal, cancellationToken));

    /// <summary>The options a journal records, so a resume can be refused when they differ.</summary>
    public static string SessionFacts(ProgrammingOptions options) =>
        JsonOutput.Serialize(new { options.Method, options.Fraction, BudgetSeconds = options.VerifyBudget?.TotalSeconds, options.Mapping.MagnitudeBits, options.Mapping.Signs, options.ToleranceFraction, options.MaxIterations, options.Seed, options.HostVerify });

    /// <summary>
    /// The device variance uswim and cell-level weigh by: the emulator's own profile, or for a physical board
    /// the preset its IDENTIFY names (rram when it names none Swim knows).
    /// </summary>
    public static Func<CellPlan, Func<int, double>>? VarianceModel(BoardSpec spec, BoardInfo info, SelectionMethod selection) =>
        spec.Profile is { } profile ? DeviceVariance.From(profile)
            : RanksByVariance(selection) ? DeviceVariance.From(DeviceOf(spec, info)) : null;

    /// <summary>The options with what the board's device says about state dependence (uswim-paper's s) filled in.</summary>
    public static ProgrammingOptions ForDevice(ProgrammingOptions options, BoardSpec spec, BoardInfo info) =>
        options with { StateSigmaRatio = UswimPaperScore.StateSigmaRatio(DeviceOf(spec, info)) };

    /// <summary>The emulator's own profile, or the preset a physical board's IDENTIFY names (rram when it names none Swim knows).</summary>
    private static DevicePreset DeviceOf(BoardSpec spec, BoardInfo info) =>
        spec.Profile ?? DevicePreset.ByName(KnowsDevice(info) ? info.DeviceModel : "rram");

    /// <summary>What the user must know when uswim or cell-level ranks by a variance model the board did not name, or null.</summary>
    public static string? VarianceAssumption(BoardSpec spec, BoardInfo info, SelectionMethod selection) =>
        spec.Profile is null && RanksByVariance(selection) && !KnowsDevice(info)
            ? $"{SelectionMethods.Name(selection)} ranks by a device's state-dependent programming variance, and Swim has no model for the board's device '{info.DeviceModel}' "
              + $"({string.Join(", ", DevicePreset.Names)}); it uses rram's. Rankings on this board are only as good as that assumption."
            : null;

    private static bool RanksByVariance(SelectionMethod selection) => selection is SelectionMethod.USwim or SelectionMethod.CellLevel or SelectionMethod.USwimPaper;

    private static bool KnowsDevice(BoardInfo info) => DevicePreset.Names.Contains(info.DeviceModel);

    /// <summary>
    /// Refuses, before the board is reached, a journal that cannot be resumed with this model and these options: so a
    /// mistyped command costs neither a sensitivity pass nor the journal's claim on the board's response cache.
    /// </summary>
    public static void CheckResumable(string path, OnnxModel model, ProgrammingOptions options)
    {
        using SessionJournal journal = SessionJournal.Open(path);
        CheckSameWork(journal, ModelHash(model), SessionFacts(options));
    }

    private static string ModelHash(OnnxModel model) => Convert.ToHexStringLower(SHA256.HashData(model.ToBytes()));

    private static void CheckSameWork(SessionJournal journal, string modelHash, string facts)
    {
        if (journal.Fact("model_sha256") != modelHash)
        {
            throw new SwimInputException($"journal '{journal.Path}' belongs to another model ({journal.Fact("model_path")}); resume with the same model, or start a new journal.");
        }
        if (journal.Fact("options") != facts)
        {
            throw new SwimInputException($"journal '{journal.Path}' was started with other options ({journal.Fact("options")}); resume with the same --method, --ratio, --budget, --weight-bits, --signs, --tolerance, --max-iterations, --seed and --host-verify.");
        }
    }

    private static void CheckSameBoard(SessionJournal journal, string serial, string layoutHash)
    {
        if (journal.Fact("board_serial") != serial)
        {
            throw new SwimInputException($"journal '{journal.Path}' was started on board {journal.Fact("board_serial")}, not {serial}; resume on the same board.");
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
