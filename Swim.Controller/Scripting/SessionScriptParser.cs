using System.Globalization;
using Swim.Controller.Boards;
using Swim.Controller.Sessions;
using Swim.Controller.Mapping;
using Swim.Controller.Selection;
using Swim.Controller.Sensitivity;
using Swim.Controller.Simulation;
using Swim.Devices;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Swim.Controller.Scripting;

/// <summary>
/// Reads a session script (docs/session-yaml.md) and checks all of it before anything runs: every problem is
/// reported as FILE:LINE: FIELD: what is wrong and what is expected. Paths are relative to the script's folder.
/// </summary>
public static class SessionScriptParser
{
    private static readonly string[] s_rootFields = ["board", "emulator", "link", "model", "calibration", "test", "mapping", "output", "steps"];
    private static readonly string[] s_stepNames = ["identify", "sensitivity", "program", "eval", "sweep", "simulate", "report"];

    public static SessionScript Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new SwimInputException($"session script '{path}' does not exist; check the path.");
        }
        return Parse(File.ReadAllText(path), path);
    }

    public static SessionScript Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new SwimInputException($"{source}:{ErrorLine(text, ex)}: not valid YAML: {ex.Message}");
        }
        var reader = new Reader(source);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new SwimInputException($"{source}:1: the script must be a mapping with at least 'model', 'output' and 'steps' (see docs/session-yaml.md).");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        string Resolve(string p) => Path.GetFullPath(Path.Combine(folder, p));

        reader.OnlyFields(root, "", s_rootFields);
        IReadOnlyList<BoardAddress> boards = reader.OptionalBoards(root, "board");
        BoardAddress? board = boards.Count > 0 ? boards[0] : null;
        EmulatorSettings emulator = ParseEmulator(reader, root, boards);
        LinkSettings link = ParseLink(reader, root);
        string model = Resolve(reader.RequiredString(root, "model", "model", "the ONNX model to program, relative to this script"));
        reader.RequireFile(root, "model", model);
        DataReference? calibration = reader.OptionalData(root, "calibration", Resolve);
        DataReference? test = reader.OptionalData(root, "test", Resolve);
        ProgrammingSettings programming = ParseMapping(reader, root);
        string output = Resolve(reader.RequiredString(root, "output", "output", "the directory results go to, relative to this script"));
        var context = new StepContext(reader, programming.Mapping, Resolve, board is not null, calibration is not null, test is not null);
        IReadOnlyList<ScriptStep> steps = ParseSteps(context, root);
        if ((boards.Count > 1 || emulator.Boards > 1) && steps.OfType<ProgramStep>().FirstOrDefault(p => p.Budget is not null) is { } budgeted)
        {
            throw new SwimInputException($"{source}:{budgeted.Line}: budget: a budget stops one board's write-verify when its device time is spent; over several boards, give a ratio instead.");
        }
        return new SessionScript(source, board, emulator, link, model, calibration, test, programming, output, steps) { MoreBoards = [.. boards.Skip(1)] };
    }

    /// <summary>
    /// The line a YAML error belongs on. A tab in indentation is reported by the parser at the start of the mapping
    /// it breaks; the line the user must edit is the one with the tab.
    /// </summary>
    private static long ErrorLine(string text, YamlException ex)
    {
        if (ex.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            string[] lines = text.Split('\n');
            int tabbed = Array.FindIndex(lines, l => l.TrimEnd('\r').TakeWhile(char.IsWhiteSpace).Contains('\t'));
            if (tabbed >= 0)
            {
                return tabbed + 1;
            }
        }
        return ex.Start.Line;
    }

    /// <summary>What checking a step needs to know of the rest of the script.</summary>
    private sealed record StepContext(Reader Reader, MappingOptions Mapping, Func<string, string> Resolve, bool HasBoard, bool HasCalibration, bool HasTest);

    private static EmulatorSettings ParseEmulator(Reader reader, YamlMappingNode root, IReadOnlyList<BoardAddress> boards)
    {
        if (reader.OptionalMapping(root, "emulator", "emulator") is not { } emulator)
        {
            return EmulatorSettings.Default;
        }
        reader.OnlyFields(emulator, "emulator", ["geometry", "seed", "stuck_rate", "boards"]);
        string geometry = reader.OptionalString(emulator, "geometry", "emulator.geometry") ?? EmulatorSettings.DefaultGeometry;
        var settings = new EmulatorSettings(reader.Translate(emulator, "geometry", "emulator.geometry", () => Swim.Emulator.BoardGeometry.Parse(geometry)),
            (ulong)(reader.OptionalInt(emulator, "seed", "emulator.seed", 0, int.MaxValue) ?? (int)EmulatorSettings.Default.Seed),
            reader.OptionalDouble(emulator, "stuck_rate", "emulator.stuck_rate", 0, 1),
            reader.OptionalInt(emulator, "boards", "emulator.boards", 1, Swim.Emulator.EmulatedBoard.MaxSetSize) ?? 1);
        if (boards.Count > 0)
        {
            reader.Translate(emulator, "stuck_rate", "emulator.stuck_rate", () => settings.CheckFor(boards));
        }
        return settings;
    }

    private static LinkSettings ParseLink(Reader reader, YamlMappingNode root)
    {
        LinkSettings link = LinkSettings.Default;
        if (reader.OptionalMapping(root, "link", "link") is not { } linkNode)
        {
            return link;
        }
        reader.OnlyFields(linkNode, "link", ["timeout_ms", "retries"]);
        return new LinkSettings(
            reader.OptionalInt(linkNode, "timeout_ms", "link.timeout_ms", LinkSettings.MinTimeoutMilliseconds, LinkSettings.MaxTimeoutMilliseconds) ?? link.TimeoutMilliseconds,
            reader.OptionalInt(linkNode, "retries", "link.retries", 0, LinkSettings.MaxRetries) ?? link.Retries);
    }

    private static ProgrammingSettings ParseMapping(Reader reader, YamlMappingNode root)
    {
        var defaults = new ProgrammingOptions();
        if (reader.OptionalMapping(root, "mapping", "mapping") is not { } m)
        {
            return new ProgrammingSettings(defaults.Mapping, defaults.ToleranceFraction, defaults.MaxIterations);
        }
        reader.OnlyFields(m, "mapping", ["weight_bits", "signs", "tolerance", "max_iterations"]);
        var mapping = new MappingOptions
        {
            MagnitudeBits = reader.OptionalInt(m, "weight_bits", "mapping.weight_bits", MappingOptions.MinMagnitudeBits, MappingOptions.MaxMagnitudeBits) ?? MappingOptions.DefaultMagnitudeBits,
            Signs = reader.OptionalChoice(m, "signs", "mapping.signs", ["differential", "offset"]) == "offset" ? SignEncoding.Offset : SignEncoding.Differential,
        };
        return new ProgrammingSettings(mapping,
            reader.OptionalDouble(m, "tolerance", "mapping.tolerance", 1e-6, 0.999999) ?? defaults.ToleranceFraction,
            (ushort)(reader.OptionalInt(m, "max_iterations", "mapping.max_iterations", 1, ushort.MaxValue) ?? defaults.MaxIterations));
    }

    /// <summary>The steps, each checked now for what it needs (a board, data, derivatives), not when the run reaches it an hour later.</summary>
    private static List<ScriptStep> ParseSteps(StepContext context, YamlMappingNode root)
    {
        Reader reader = context.Reader;
        if (!root.Children.TryGetValue(new YamlScalarNode("steps"), out YamlNode? stepsNode) || stepsNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            throw reader.Error(stepsNode ?? root, "steps", $"give a list of steps, each one of {string.Join(", ", s_stepNames)}.");
        }
        var steps = new List<ScriptStep>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            YamlNode node = sequence.Children[i];
            string field = $"steps[{i}]";
            ScriptStep step = ParseStep(context, node, field);
            string? missing = step switch
            {
                IdentifyStep or ProgramStep or SweepStep when !context.HasBoard => $"{step.Describe()} needs a board: add 'board: emulator' (or tcp:, serial:, spi:) at the top of the script.",
                SensitivityStep { From: null } when !context.HasCalibration => "sensitivity needs calibration data: add 'calibration: {path: CALIB.npz}', or read an earlier pass with 'sensitivity: {from: SENS.npz}'.",
                EvalStep or SimulateStep when !context.HasTest => $"{step.Describe()} needs test data: add 'test: {{path: TEST.npz}}'.",
                _ => null,
            };
            bool derivativesGiven = context.HasCalibration || steps.Any(s => s is SensitivityStep { From: not null });
            if (missing is null && !derivativesGiven && step.RankingMethods.FirstOrDefault(SelectionMethods.NeedsSensitivity) is var needing && step.RankingMethods.Any(SelectionMethods.NeedsSensitivity))
            {
                missing = $"method {SelectionMethods.Name(needing)} ranks weights by the sensitivity pass: add 'calibration: {{path: CALIB.npz}}'.";
            }
            steps.Add(missing is null ? step : throw reader.Error(node, field, missing));
        }
        return steps;
    }

    private static ScriptStep ParseStep(StepContext context, YamlNode node, string field)
    {
        Reader reader = context.Reader;
        int line = (int)node.Start.Line;
        (string name, YamlMappingNode? body) = node switch
        {
            YamlScalarNode s when s.Value is not null => (s.Value, null),
            YamlMappingNode map when map.Children.Count == 1 && map.Children.First().Key is YamlScalarNode key =>
                (key.Value!, map.Children.First().Value as YamlMappingNode ?? (map.Children.First().Value is YamlScalarNode { Value: null or "" } ? null
                    : throw reader.Error(map.Children.First().Value, $"{field}.{key.Value}", "the step's settings must be a mapping, e.g. {method: swim, ratio: 0.1}."))),
            _ => throw reader.Error(node, field, $"a step is one name ({string.Join(", ", s_stepNames)}) or one name with its settings, e.g. 'program: {{method: swim, ratio: 0.1}}'."),
        };
        string at = $"{field}.{name}";
        switch (name)
        {
            case "identify":
            case "eval":
            case "report":
                if (body is not null && body.Children.Count > 0)
                {
                    throw reader.Error(body, at, $"{name} takes no settings.");
                }
                return name == "identify" ? new IdentifyStep(line) : name == "eval" ? new EvalStep(line) : new ReportStep(line);
            case "sensitivity":
                return SensitivityStepFrom(context, body, line, at);
            case "program":
                return ProgramStepFrom(reader, body, line, at);
            case "sweep":
                if (body is null)
                {
                    throw reader.Error(node, at, "sweep needs methods and ratios, e.g. 'sweep: {methods: [swim, magnitude], ratios: [0.1, 0.2]}'.");
                }
                reader.OnlyFields(body, at, ["methods", "ratios", "seed"]);
                return new SweepStep(line, reader.RequiredMethods(body, "methods", $"{at}.methods"), reader.RequiredRatios(body, "ratios", $"{at}.ratios"),
                    reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? s_programDefaults.Seed);
            case "simulate":
                return SimulateStepFrom(context, body ?? new YamlMappingNode(), line, at);
            default:
                throw reader.Error(node, field, $"unknown step '{name}'; steps are {string.Join(", ", s_stepNames)}.");
        }
    }

    private static readonly ProgrammingOptions s_programDefaults = new();

    private static SensitivityStep SensitivityStepFrom(StepContext context, YamlMappingNode? body, int line, string at)
    {
        Reader reader = context.Reader;
        if (body is null)
        {
            return new SensitivityStep(line, CurvatureKind.Obd);
        }
        reader.OnlyFields(body, at, ["curvature", "from"]);
        string? from = reader.OptionalString(body, "from", $"{at}.from") is { } file ? context.Resolve(file) : null;
        if (from is not null)
        {
            reader.RequireFile(body, "from", from, $"{at}.from");
        }
        return new SensitivityStep(line, CurvatureKinds.Parse(reader.OptionalChoice(body, "curvature", $"{at}.curvature", CurvatureKinds.Names) ?? "obd"), from);
    }

    private static ProgramStep ProgramStepFrom(Reader reader, YamlMappingNode? body, int line, string at)
    {
        if (body is null)
        {
            return new ProgramStep(line, s_programDefaults.Method, s_programDefaults.Fraction, null, s_programDefaults.Seed);
        }
        reader.OnlyFields(body, at, ["method", "ratio", "budget", "seed", "selection_cost", "placement"]);
        SelectionMethod method = reader.OptionalMethod(body, "method", $"{at}.method") ?? s_programDefaults.Method;
        double? ratio = reader.OptionalDouble(body, "ratio", $"{at}.ratio", 0, 1);
        double? budget = reader.OptionalDouble(body, "budget", $"{at}.budget", 1e-9, double.MaxValue);
        if (ratio is not null && budget is not null)
        {
            throw reader.Error(body, at, "give either ratio (a fraction of weights) or budget (seconds of device time), not both.");
        }
        return new ProgramStep(line, method, ratio ?? s_programDefaults.Fraction, budget is { } b ? TimeSpan.FromSeconds(b) : null,
            reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? s_programDefaults.Seed,
            reader.OptionalChoice(body, "selection_cost", $"{at}.selection_cost", [.. SelectionCosts.Names]) is { } cost ? SelectionCosts.Parse(cost) : s_programDefaults.SelectionCost,
            reader.OptionalChoice(body, "placement", $"{at}.placement", [.. Placements.Names]) is { } placement ? Placements.Parse(placement) : s_programDefaults.Placement);
    }

    private static SimulateStep SimulateStepFrom(StepContext context, YamlMappingNode body, int line, string at)
    {
        Reader reader = context.Reader;
        reader.OnlyFields(body, at, ["noise_model", "device", "weight_bits", "sigma", "sigma_wv", "stuck_rate", "tolerance", "read_after", "trials", "seed", "methods", "ratios", "threads",
            "selection_cost", "placement"]);
        var defaults = new SimulationOptions();
        bool paper = (reader.OptionalChoice(body, "noise_model", $"{at}.noise_model", ["paper", "device"]) ?? "paper") == "paper";
        string device = reader.OptionalChoice(body, "device", $"{at}.device", [.. DevicePreset.Names]) ?? defaults.Device.Name;
        double? sigma = reader.OptionalDouble(body, "sigma", $"{at}.sigma", 0, 10);
        double? sigmaWv = reader.OptionalDouble(body, "sigma_wv", $"{at}.sigma_wv", 0, 10);
        double? stuckRate = reader.OptionalDouble(body, "stuck_rate", $"{at}.stuck_rate", 0, 1);
        var options = new SimulationOptions
        {
            WeightBits = reader.OptionalInt(body, "weight_bits", $"{at}.weight_bits", MappingOptions.MinMagnitudeBits, MappingOptions.MaxMagnitudeBits) ?? context.Mapping.MagnitudeBits,
            ToleranceFraction = reader.OptionalDouble(body, "tolerance", $"{at}.tolerance", 1e-6, 0.999999) ?? defaults.ToleranceFraction,
            Trials = reader.OptionalInt(body, "trials", $"{at}.trials", 1, 100_000) ?? defaults.Trials,
            Seed = reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? defaults.Seed,
            Methods = body.Children.ContainsKey(new YamlScalarNode("methods")) ? reader.RequiredMethods(body, "methods", $"{at}.methods") : defaults.Methods,
            Ratios = body.Children.ContainsKey(new YamlScalarNode("ratios")) ? reader.RequiredRatios(body, "ratios", $"{at}.ratios") : defaults.Ratios,
            Parallelism = reader.OptionalInt(body, "threads", $"{at}.threads", 1, 1024) ?? defaults.Parallelism,
            SelectionCost = reader.OptionalChoice(body, "selection_cost", $"{at}.selection_cost", [.. SelectionCosts.Names]) is { } cost ? SelectionCosts.Parse(cost) : defaults.SelectionCost,
            Placement = reader.OptionalChoice(body, "placement", $"{at}.placement", [.. Placements.Names]) is { } placement ? Placements.Parse(placement) : defaults.Placement,
            ReadAfter = reader.OptionalString(body, "read_after", $"{at}.read_after") is { } readAfter
                ? ReadAfterParser.TryParse(readAfter, out TimeSpan wait) ? wait : throw reader.Error(body, $"{at}.read_after", $"'{readAfter}' is not a duration; give a number and a unit of s, m, h or d, e.g. 1s, 1h, 1d or 30d.")
                : null,
        };
        // The rules between the noise settings are the library's; a refusal is reported at the setting that breaks one.
        string key = !paper && sigmaWv is not null ? "sigma_wv" : paper && stuckRate is not null ? "stuck_rate" : "noise_model";
        return new SimulateStep(line, reader.Translate(body, key, $"{at}.{key}", () => options.WithNoise(paper ? NoiseModelKind.Paper : NoiseModelKind.Device, device, sigma, sigmaWv, stuckRate)));
    }

    /// <summary>Typed reads of fields with messages that carry the file, the line and the field's path.</summary>
    private sealed class Reader(string source)
    {
        public SwimInputException Error(YamlNode node, string field, string problem) =>
            new($"{source}:{node.Start.Line}: {(field.Length == 0 ? "" : field + ": ")}{problem}");

        /// <summary>Runs a library check (or parse) on a field's value, reporting its refusal at the field's line (at the mapping's when the key is absent).</summary>
        public T Translate<T>(YamlMappingNode map, string key, string field, Func<T> check)
        {
            try
            {
                return check();
            }
            catch (Exception ex) when (ex is SwimInputException or FormatException)
            {
                throw Error(Find(map, key) ?? map, field, ex.Message);
            }
        }

        /// <summary>The same for a value that is not a mapping's field (an item of a list), reported at its own line.</summary>
        public T Translate<T>(YamlNode node, string field, Func<T> check)
        {
            try
            {
                return check();
            }
            catch (Exception ex) when (ex is SwimInputException or FormatException)
            {
                throw Error(node, field, ex.Message);
            }
        }

        public void Translate(YamlMappingNode map, string key, string field, Action check) =>
            Translate(map, key, field, () =>
            {
                check();
                return 0;
            });

        public void OnlyFields(YamlMappingNode map, string at, IReadOnlyList<string> allowed)
        {
            foreach ((YamlNode key, _) in map.Children)
            {
                string name = (key as YamlScalarNode)?.Value ?? "";
                if (!allowed.Contains(name))
                {
                    throw Error(key, at.Length == 0 ? name : $"{at}.{name}", $"unknown field '{name}'; {(at.Length == 0 ? "the script" : at)} takes {string.Join(", ", allowed)}.");
                }
            }
        }

        public void RequireFile(YamlMappingNode map, string key, string resolved, string? field = null)
        {
            if (!File.Exists(resolved))
            {
                throw Error(Find(map, key) ?? map, field ?? key, $"file '{resolved}' does not exist; paths are relative to the script's folder.");
            }
        }

        private YamlNode? Find(YamlMappingNode map, string key) => map.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? node) ? node : null;

        private string Scalar(YamlNode node, string field, string expected) =>
            node is YamlScalarNode { Value: { Length: > 0 } value } ? value : throw Error(node, field, $"expected {expected}.");

        public string RequiredString(YamlMappingNode map, string key, string field, string what) =>
            Find(map, key) is { } node ? Scalar(node, field, what) : throw Error(map, field, $"missing: give {what}.");

        public string? OptionalString(YamlMappingNode map, string key, string field) =>
            Find(map, key) is { } node ? Scalar(node, field, "a text value") : null;

        public YamlMappingNode? OptionalMapping(YamlMappingNode map, string key, string field) => Find(map, key) switch
        {
            null => null,
            YamlMappingNode m => m,
            var other => throw Error(other, field, "expected a mapping of settings."),
        };

        public int? OptionalInt(YamlMappingNode map, string key, string field, int min, int max)
        {
            if (Find(map, key) is not { } node)
            {
                return null;
            }
            string text = Scalar(node, field, $"a whole number from {min} to {max}");
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
                ? value
                : throw Error(node, field, $"'{text}' is not a whole number from {min} to {max}.");
        }

        public double? OptionalDouble(YamlMappingNode map, string key, string field, double min, double max)
        {
            if (Find(map, key) is not { } node)
            {
                return null;
            }
            string text = Scalar(node, field, "a number");
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= min && value <= max
                ? value
                : throw Error(node, field, $"'{text}' is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString("G4", CultureInfo.InvariantCulture)}{(max == 1 ? " (write 10 % as 0.1)" : "")}.");
        }

        public string? OptionalChoice(YamlMappingNode map, string key, string field, IReadOnlyList<string> choices)
        {
            if (Find(map, key) is not { } node)
            {
                return null;
            }
            string text = Scalar(node, field, $"one of {string.Join(", ", choices)}");
            return choices.Contains(text) ? text : throw Error(node, field, $"'{text}' is not one of {string.Join(", ", choices)}.");
        }

        /// <summary>A board address, or a list of them (a session over several boards); none when the key is absent.</summary>
        public IReadOnlyList<BoardAddress> OptionalBoards(YamlMappingNode map, string key)
        {
            switch (Find(map, key))
            {
                case null:
                    return [];
                case YamlSequenceNode list:
                    return [.. RequiredList(map, key, key, "[tcp:bench1:5025, tcp:bench2:5025]").Select((item, i) =>
                    {
                        string text = Scalar(item, $"{key}[{i}]", $"a board: {BoardAddress.Forms}");
                        return Translate(item, $"{key}[{i}]", () => BoardAddress.Parse(text));
                    })];
                case var node:
                    string single = Scalar(node, key, $"a board, or a list of boards: {BoardAddress.Forms}");
                    return [Translate(node, key, () => BoardAddress.Parse(single))];
            }
        }

        public SelectionMethod? OptionalMethod(YamlMappingNode map, string key, string field) =>
            OptionalChoice(map, key, field, SelectionMethods.Names) is { } name ? SelectionMethods.Parse(name) : null;

        private IReadOnlyList<YamlNode> RequiredList(YamlMappingNode map, string key, string field, string example)
        {
            YamlNode node = Find(map, key) ?? throw Error(map, field, $"missing: give a list, e.g. {example}.");
            return node is YamlSequenceNode { Children.Count: > 0 } list ? [.. list.Children] : throw Error(node, field, $"expected a non-empty list, e.g. {example}.");
        }

        public IReadOnlyList<SelectionMethod> RequiredMethods(YamlMappingNode map, string key, string field) =>
        [
            .. RequiredList(map, key, field, "[swim, magnitude, random]").Select((item, i) =>
            {
                string text = Scalar(item, $"{field}[{i}]", $"a method: {string.Join(", ", SelectionMethods.Names)}");
                return SelectionMethods.Names.Contains(text) ? SelectionMethods.Parse(text) : throw Error(item, $"{field}[{i}]", $"'{text}' is not one of {string.Join(", ", SelectionMethods.Names)}.");
            }),
        ];

        public IReadOnlyList<double> RequiredRatios(YamlMappingNode map, string key, string field) =>
        [
            .. RequiredList(map, key, field, "[0.05, 0.1, 0.2]").Select((item, i) =>
            {
                string text = Scalar(item, $"{field}[{i}]", "a fraction in [0, 1]");
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and <= 1
                    ? v
                    : throw Error(item, $"{field}[{i}]", $"'{text}' is not a fraction in [0, 1] (write 10 % as 0.1).");
            }),
        ];

        public DataReference? OptionalData(YamlMappingNode map, string key, Func<string, string> resolve)
        {
            switch (Find(map, key))
            {
                case null:
                    return null;
                case YamlScalarNode scalar:
                    string file = resolve(Scalar(scalar, key, "a data file path"));
                    RequireFile(map, key, file);
                    return new DataReference(file, null);
                case YamlMappingNode data:
                    OnlyFields(data, key, ["path", "samples"]);
                    string path = resolve(RequiredString(data, "path", $"{key}.path", "the data file (.npz or IDX), relative to this script"));
                    RequireFile(data, "path", path, $"{key}.path");
                    return new DataReference(path, OptionalInt(data, "samples", $"{key}.samples", 1, int.MaxValue));
                case var other:
                    throw Error(other, key, "expected a path or {path: FILE.npz, samples: N}.");
            }
        }
    }
}
