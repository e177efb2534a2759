using System.Text.Json;

namespace Swim.Controller;

/// <summary>One JSON style for every <c>--json</c> output and file Swim writes: snake_case, indented.</summary>
public static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // Output is for terminals and files, not HTML: keep quotes and apostrophes readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
