using EmbeddedChroma.Security;

namespace EmbeddedChroma;

/// <summary>A key found in text: where it is and its non-secret display form.</summary>
/// <param name="Index">Start of the key in the text.</param>
/// <param name="Length">Length of the key.</param>
/// <param name="Display">Prefix and key id only.</param>
public readonly record struct DetectedApiKey(int Index, int Length, string Display);

/// <summary>
/// Recognizes EmbeddedChroma keys in arbitrary text by their prefix, shape and checksum — no lookup, no
/// store needed — for pre-commit hooks, log scrubbing and secret scanners.
/// </summary>
public static class ApiKeyScanner
{
    /// <summary>Every well-formed key (valid checksum) in <paramref name="text"/>.</summary>
    public static IReadOnlyList<DetectedApiKey> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<DetectedApiKey>();
        var span = text.AsSpan();
        for (var index = span.IndexOf(ApiKeyFormat.Prefix, StringComparison.Ordinal); index >= 0;)
        {
            var atBoundary = index == 0 || !char.IsAsciiLetterOrDigit(span[index - 1]);
            if (atBoundary && ApiKeyFormat.IsKeyAt(span, index) && ApiKeyFormat.TryParse(span.Slice(index, ApiKeyFormat.TotalLength), out var keyId, out _))
            {
                found.Add(new DetectedApiKey(index, ApiKeyFormat.TotalLength, ApiKeyFormat.Display(keyId)));
                index += ApiKeyFormat.TotalLength;
            }
            else
            {
                index++;
            }

            var next = span[index..].IndexOf(ApiKeyFormat.Prefix, StringComparison.Ordinal);
            index = next < 0 ? -1 : index + next;
        }

        return found;
    }

    /// <summary><paramref name="text"/> with every key replaced by its display form.</summary>
    public static string Redact(string text)
    {
        var keys = Find(text);
        if (keys.Count == 0)
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length);
        var last = 0;
        foreach (var key in keys)
        {
            builder.Append(text, last, key.Index - last).Append(key.Display);
            last = key.Index + key.Length;
        }

        return builder.Append(text, last, text.Length - last).ToString();
    }
}
