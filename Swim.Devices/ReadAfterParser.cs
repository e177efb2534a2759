using System.Globalization;

namespace Swim.Devices;

/// <summary>Durations as a lab writes them for "read after": 0, 30s, 5m, 1h, 1d, 30d (a number and one unit of s, m, h or d).</summary>
public static class ReadAfterParser
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        if (text == "0")
        {
            return true;
        }
        double scale = text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3_600, 'd' => 86_400, _ => 0 };
        if (scale == 0 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value >= 0) || value * scale > 3.2e9)
        {
            return false;
        }
        duration = TimeSpan.FromSeconds(value * scale);
        return true;
    }

    /// <summary>The shortest of the forms above that says the duration exactly, or seconds.</summary>
    public static string Format(TimeSpan duration)
    {
        double s = duration.TotalSeconds;
        foreach ((double unit, string suffix) in new[] { (86_400.0, "d"), (3_600.0, "h"), (60.0, "m") })
        {
            if (s >= unit && s % unit == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{s / unit:G}{suffix}");
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"{s:G}s");
    }
}
