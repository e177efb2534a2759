using System.Globalization;
using Swim.Controller.Cli;
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
            throw new SwimInputException($"{source}:{ex.Start.Line}: not valid YAML: {ex.Message}");
        }
        var reader = new Reader(source);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new SwimInputException($"{source}:1: the script must be a mapping with at least 'model', 'output' and 'steps' (see docs/session-yaml.md).");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".";
        string Resolve(string p) => Path.GetFullPath(Path.Combine(folder, p));

        reader.OnlyFields(root, "", s_rootFields);
        string? board = reader.OptionalString(root, "board", "board");
        YamlMappingNode? emulator = reader.OptionalMapping(root, "emulator", "emulator");
        EmulatorSettings emulatorSettings = EmulatorSettings.Default;
        if (emulator is not null)
        {
            reader.OnlyFields(emulator, "emulator", ["geometry", "seed", "stuck_rate"]);
            string geometry = reader.OptionalString(emulator, "geometry", "emulator.geometry") ?? EmulatorSettings.DefaultGeometry;
            Swim.Emulator.BoardGeometry parsed;
            try
            {
                parsed = Swim.Emulator.BoardGeometry.Parse(geometry);
            }
            catch (FormatException ex)
            {
                throw reader.Error(emulator.Children[new YamlScalarNode("geometry")], "emulator.geometry", ex.Message);
            }
            emulatorSettings = new EmulatorSettings(parsed, (ulong)(reader.OptionalInt(emulator, "seed", "emulator.seed", 0, int.MaxValue) ?? 1),
                reader.OptionalDouble(emulator, "stuck_rate", "emulator.stuck_rate", 0, 1));
            if (emulatorSettings.StuckRate is not null && board is not null && !BoardSpec.IsInProcessEmulator(board))
            {
                throw reader.Error(emulator.Children[new YamlScalarNode("stuck_rate")], "emulator.stuck_rate",
                    $"a stuck-cell rate sets up the in-process emulator (board: emulator[:PRESET]), not board {board}; a real board's stuck cells are its own. Leave the rate out.");
            }
        }
        LinkSettings link = LinkSettings.Default;
        if (reader.OptionalMapping(root, "link", "link") is { } linkNode)
        {
            reader.OnlyFields(linkNode, "link", ["timeout_ms", "retries"]);
            link = new LinkSettings(
                reader.OptionalInt(linkNode, "timeout_ms", "link.timeout_ms", LinkSettings.MinTimeoutMilliseconds, LinkSettings.MaxTimeoutMilliseconds) ?? link.TimeoutMilliseconds,
                reader.OptionalInt(linkNode, "retries", "link.retries", 0, LinkSettings.MaxRetries) ?? link.Retries);
        }
        string model = Resolve(reader.RequiredString(root, "model", "model", "the ONNX model to program, relative to this script"));
        reader.RequireFile(root, "model", model);
        DataReference? calibration = reader.OptionalData(root, "calibration", Resolve);
        DataReference? test = reader.OptionalData(root, "test", Resolve);
        var mapping = new MappingOptions();
        double tolerance = 0.01;
        ushort maxIterations = 50;
        if (reader.OptionalMapping(root, "mapping", "mapping") is { } m)
        {
            reader.OnlyFields(m, "mapping", ["weight_bits", "signs", "tolerance", "max_iterations"]);
            mapping = new MappingOptions
            {
                MagnitudeBits = reader.OptionalInt(m, "weight_bits", "mapping.weight_bits", 1, 16) ?? 8,
                Signs = reader.OptionalChoice(m, "signs", "mapping.signs", ["differential", "offset"]) == "offset" ? SignEncoding.Offset : SignEncoding.Differential,
            };
            tolerance = reader.OptionalDouble(m, "tolerance", "mapping.tolerance", 1e-6, 0.999999) ?? tolerance;
            maxIterations = (ushort)(reader.OptionalInt(m, "max_iterations", "mapping.max_iterations", 1, ushort.MaxValue) ?? maxIterations);
        }
        string output = Resolve(reader.RequiredString(root, "output", "output", "the directory results go to, relative to this script"));
        if (!root.Children.TryGetValue(new YamlScalarNode("steps"), out YamlNode? stepsNode) || stepsNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            throw reader.Error(stepsNode ?? root, "steps", $"give a list of steps, each one of {string.Join(", ", s_stepNames)}.");
        }
        var steps = new List<ScriptStep>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            ScriptStep step = ParseStep(reader, sequence.Children[i], $"steps[{i}]", mapping, Resolve);
            // What a step needs is checked now, not when the run reaches it an hour later.
            string field = $"steps[{i}]";
            if (step is IdentifyStep or ProgramStep or SweepStep && board is null)
            {
                throw reader.Error(sequence.Children[i], field, $"{step.Describe()} needs a board: add 'board: emulator' (or tcp:, serial:, spi:) at the top of the script.");
            }
            if (step is SensitivityStep { From: null } && calibration is null)
            {
                throw reader.Error(sequence.Children[i], field, "sensitivity needs calibration data: add 'calibration: {path: CALIB.npz}', or read an earlier pass with 'sensitivity: {from: SENS.npz}'.");
            }
            if (step is EvalStep or SimulateStep && test is null)
            {
                throw reader.Error(sequence.Children[i], field, $"{step.Describe()} needs test data: add 'test: {{path: TEST.npz}}'.");
            }
            IEnumerable<SelectionMethod> methods = step.RankingMethods;
            bool derivativesGiven = steps.Any(s => s is SensitivityStep { From: not null });
            if (calibration is null && !derivativesGiven && methods.FirstOrDefault(SelectionMethods.NeedsSensitivity) is var needing && methods.Any(SelectionMethods.NeedsSensitivity))
            {
                throw reader.Error(sequence.Children[i], field, $"method {SelectionMethods.Name(needing)} ranks weights by the sensitivity pass: add 'calibration: {{path: CALIB.npz}}'.");
            }
            steps.Add(step);
        }
        return new SessionScript(source, board, emulatorSettings, link, model, calibration, test, new ProgrammingSettings(mapping, tolerance, maxIterations), output, steps);
    }

    private static ScriptStep ParseStep(Reader reader, YamlNode node, string field, MappingOptions mapping, Func<string, string> resolve)
    {
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
                if (body is null)
                {
                    return new SensitivityStep(line, CurvatureKind.Obd);
                }
                reader.OnlyFields(body, at, ["curvature", "from"]);
                string? from = reader.OptionalString(body, "from", $"{at}.from") is { } file ? resolve(file) : null;
                if (from is not null)
                {
                    reader.RequireFile(body, "from", from, $"{at}.from");
                }
                return new SensitivityStep(line, SensitivityCommand.ParseCurvature(reader.OptionalChoice(body, "curvature", $"{at}.curvature", ["obd", "ggn", "ggn-mc"]) ?? "obd"), from);
            case "program":
            {
                if (body is null)
                {
                    return new ProgramStep(line, SelectionMethod.Swim, 0.1, null, 1);
                }
                reader.OnlyFields(body, at, ["method", "ratio", "budget", "seed"]);
                SelectionMethod method = reader.OptionalMethod(body, "method", $"{at}.method") ?? SelectionMethod.Swim;
                double? ratio = reader.OptionalDouble(body, "ratio", $"{at}.ratio", 0, 1);
                double? budget = reader.OptionalDouble(body, "budget", $"{at}.budget", 1e-9, double.MaxValue);
                if (ratio is not null && budget is not null)
                {
                    throw reader.Error(body, at, "give either ratio (a fraction of weights) or budget (seconds of device time), not both.");
                }
                return new ProgramStep(line, method, ratio ?? 0.1, budget is { } b ? TimeSpan.FromSeconds(b) : null, reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? 1);
            }
            case "sweep":
            {
                if (body is null)
                {
                    throw reader.Error(node, at, "sweep needs methods and ratios, e.g. 'sweep: {methods: [swim, magnitude], ratios: [0.1, 0.2]}'.");
                }
                reader.OnlyFields(body, at, ["methods", "ratios", "seed"]);
                return new SweepStep(line, reader.RequiredMethods(body, "methods", $"{at}.methods"), reader.RequiredRatios(body, "ratios", $"{at}.ratios"),
                    reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? 1);
            }
            case "simulate":
            {
                body ??= new YamlMappingNode();
                reader.OnlyFields(body, at, ["noise_model", "device", "weight_bits", "sigma", "sigma_wv", "stuck_rate", "tolerance", "trials", "seed", "methods", "ratios", "threads"]);
                bool paper = (reader.OptionalChoice(body, "noise_model", $"{at}.noise_model", ["paper", "device"]) ?? "paper") == "paper";
                DevicePreset preset = DevicePreset.ByName(reader.OptionalChoice(body, "device", $"{at}.device", [.. DevicePreset.Names]) ?? "rram");
                double? sigma = reader.OptionalDouble(body, "sigma", $"{at}.sigma", 0, 10);
                double? sigmaWv = reader.OptionalDouble(body, "sigma_wv", $"{at}.sigma_wv", 0, 10);
                if (!paper && sigmaWv is not null)
                {
                    throw reader.Error(body, $"{at}.sigma_wv", "sigma_wv belongs to noise_model paper; under the device model write-verify is the board's loop (set its band with tolerance).");
                }
                double? stuckRate = reader.OptionalDouble(body, "stuck_rate", $"{at}.stuck_rate", 0, 1);
                if (paper && stuckRate is not null)
                {
                    throw reader.Error(body, $"{at}.stuck_rate", "stuck_rate belongs to noise_model device; the paper model has no stuck cells.");
                }
                preset = stuckRate is { } rate ? preset with { StuckRate = rate } : preset;
                var defaults = new SimulationOptions();
                double s = sigma ?? (paper ? 0.1 : preset.ProgramSigma);
                var options = new SimulationOptions
                {
                    NoiseModel = paper ? NoiseModelKind.Paper : NoiseModelKind.Device,
                    Device = !paper && sigma is { } ps ? preset with { ProgramSigma = ps } : preset,
                    WeightBits = reader.OptionalInt(body, "weight_bits", $"{at}.weight_bits", 1, 16) ?? mapping.MagnitudeBits,
                    Sigma = s,
                    SigmaVerified = sigmaWv ?? s / 10,
                    ToleranceFraction = reader.OptionalDouble(body, "tolerance", $"{at}.tolerance", 1e-6, 0.999999) ?? defaults.ToleranceFraction,
                    Trials = reader.OptionalInt(body, "trials", $"{at}.trials", 1, 100_000) ?? defaults.Trials,
                    Seed = reader.OptionalInt(body, "seed", $"{at}.seed", 0, int.MaxValue) ?? defaults.Seed,
                    Methods = body.Children.ContainsKey(new YamlScalarNode("methods")) ? reader.RequiredMethods(body, "methods", $"{at}.methods") : defaults.Methods,
                    Ratios = body.Children.ContainsKey(new YamlScalarNode("ratios")) ? reader.RequiredRatios(body, "ratios", $"{at}.ratios") : defaults.Ratios,
                    Parallelism = reader.OptionalInt(body, "threads", $"{at}.threads", 1, 1024) ?? defaults.Parallelism,
                };
                return new SimulateStep(line, options);
            }
            default:
                throw reader.Error(node, field, $"unknown step '{name}'; steps are {string.Join(", ", s_stepNames)}.");
        }
    }

    /// <summary>Typed reads of fields with messages that carry the file, the line and the field's path.</summary>
    private sealed class Reader(string source)
    {
        public SwimInputException Error(YamlNode node, string field, string problem) =>
            new($"{source}:{node.Start.Line}: {(field.Length == 0 ? "" : field + ": ")}{problem}");

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
