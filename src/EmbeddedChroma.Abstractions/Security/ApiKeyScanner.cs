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
/// <remarks>
/// Keys are found wherever they start, whatever surrounds them (<c>token=eck_…</c>, <c>tokeneck_…</c>,
/// <c>%3Deck_…</c>, two keys glued together): the 6-character checksum makes a false match negligible.
/// <see cref="Find"/> reports only <em>valid</em> keys; <see cref="Redact"/> is wider and also masks text that is merely
/// shaped like a key (a mistyped, altered or truncated key still carries most of a secret).
/// </remarks>
public static class ApiKeyScanner
{
    /// <summary>
    /// Every valid key (prefix, shape and checksum) in <paramref name="text"/>, in order, wherever it starts: letters
    /// or digits before or after a key do not hide it. Text that only looks like a key is not reported (see
    /// <see cref="Redact"/> for that).
    /// </summary>
    public static IReadOnlyList<DetectedApiKey> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<DetectedApiKey>();
        var span = text.AsSpan();
        var index = 0;
        while (NextPrefix(span, index) is var at and >= 0)
        {
            if (ApiKeyFormat.IsKeyAt(span, at, out var keyId))
            {
                found.Add(new DetectedApiKey(at, ApiKeyFormat.TotalLength, ApiKeyFormat.Display(keyId)));
                index = at + ApiKeyFormat.TotalLength;
            }
            else
            {
                index = at + 1;
            }
        }

        return found;
    }

    /// <summary>
    /// <paramref name="text"/> with every valid key, and every piece of text shaped like a key (the prefix in any case,
    /// a 12-character key id, <c>_</c> and at least one character of a secret, such as a key whose checksum is wrong or
    /// which was cut short), replaced by its display form <c>eck_&lt;key id&gt;_…</c>. The same instance is returned when
    /// there is nothing to mask.
    /// </summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        System.Text.StringBuilder? builder = null;
        var last = 0;
        var index = 0;
        while (NextPrefix(span, index) is var at and >= 0)
        {
            var length = ApiKeyFormat.IsKeyAt(span, at, out _) ? ApiKeyFormat.TotalLength : ApiKeyFormat.KeyShapedLength(span, at);
            if (length == 0)
            {
                index = at + 1;
                continue;
            }

            builder ??= new System.Text.StringBuilder(text.Length);
            builder.Append(span[last..at]).Append(ApiKeyFormat.Display(span.Slice(at + ApiKeyFormat.Prefix.Length, ApiKeyFormat.KeyIdLength).ToString()));
            last = index = at + length;
        }

        return builder is null ? text : builder.Append(span[last..]).ToString();
    }

    /// <summary>True when <paramref name="text"/> holds a valid key or text shaped like one (what <see cref="Redact"/> masks).</summary>
    internal static bool ContainsKeyShaped(ReadOnlySpan<char> text)
    {
        for (var index = 0; NextPrefix(text, index) is var at and >= 0; index = at + 1)
        {
            if (ApiKeyFormat.KeyShapedLength(text, at) > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The next start of the prefix (any case) at or after <paramref name="from"/>, or -1.</summary>
    private static int NextPrefix(ReadOnlySpan<char> text, int from)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var next = text[from..].IndexOf(ApiKeyFormat.Prefix, StringComparison.OrdinalIgnoreCase);
        return next < 0 ? -1 : from + next;
    }
}
