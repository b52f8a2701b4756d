using System.Globalization;
using System.Text;

namespace EmbeddedChroma.Internal;

/// <summary>
/// The one way a caller-supplied string (a name, an id, a filter key, a path) is echoed into an exception message,
/// a log line or an audit entry:
/// <list type="number">
/// <item>keys are masked first (<see cref="ApiKeyScanner.Redact"/>: valid keys and key-shaped text), so a key pasted
/// where a name belongs never reaches a message, a log or the audit log;</item>
/// <item>control characters, line breaks (U+2028, U+2029), unpaired surrogates and <c>\</c> are escaped (<c>\n</c>,
/// <c>\r</c>, <c>\t</c>, <c>\\</c>, otherwise <c>\uXXXX</c>), so a message is valid UTF-16, stays on one line and
/// cannot forge log lines; an escaped value still identifies the original;</item>
/// <item>the result is capped (default <see cref="DefaultMax"/> characters, ending in <c>...</c> when cut), never
/// splitting an escape or a surrogate pair.</item>
/// </list>
/// </summary>
internal static class Echo
{
    /// <summary>Default cap on an echoed value, in characters.</summary>
    public const int DefaultMax = 64;

    /// <summary>Cap for file-system paths.</summary>
    public const int PathMax = 1024;

    private const string Ellipsis = "...";

    /// <summary><paramref name="value"/> made safe to echo (see the type); <c>(null)</c> for null.</summary>
    public static string Text(string? value, int max = DefaultMax) => Escape(value, max, jsonQuotes: false);

    /// <summary>A file-system path made safe to echo (see the type), capped at <see cref="PathMax"/>.</summary>
    public static string Path(string? path) => Escape(path, PathMax, jsonQuotes: false);

    /// <summary><paramref name="value"/> made safe to echo and written as a JSON string literal (for filter keys and operators).</summary>
    public static string Quoted(string? value, int max = DefaultMax) =>
        value is null ? "null" : string.Concat("\"", Escape(value, max, jsonQuotes: true), "\"");

    private static string Escape(string? value, int max, bool jsonQuotes)
    {
        if (value is null)
        {
            return "(null)";
        }

        var redacted = ApiKeyScanner.Redact(value);
        if (redacted.Length <= max && !NeedsEscape(redacted, jsonQuotes))
        {
            return redacted;
        }

        var whole = Build(redacted, int.MaxValue, jsonQuotes);
        return whole.Length <= max ? whole : Build(redacted, max - Ellipsis.Length, jsonQuotes) + Ellipsis;
    }

    /// <summary>The escaped text, stopping before the first character, pair or escape that would pass <paramref name="budget"/>.</summary>
    private static string Build(string text, int budget, bool jsonQuotes)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 256));
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                if (builder.Length + 2 > budget)
                {
                    break;
                }

                builder.Append(c).Append(text[++i]);
                continue;
            }

            var escaped = !NeedsEscape(c, jsonQuotes) ? null : c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\\' => "\\\\",
                '"' => "\\\"",
                _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
            };
            if (builder.Length + (escaped?.Length ?? 1) > budget)
            {
                break;
            }

            _ = escaped is null ? builder.Append(c) : builder.Append(escaped);
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(string text, bool jsonQuotes)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (NeedsEscape(c, jsonQuotes))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Control characters, line and paragraph separators, surrogates outside a pair (callers skip pairs), <c>\</c>, and <c>"</c> in JSON form.</summary>
    private static bool NeedsEscape(char c, bool jsonQuotes) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\\' || char.IsSurrogate(c) || (jsonQuotes && c == '"');
}
