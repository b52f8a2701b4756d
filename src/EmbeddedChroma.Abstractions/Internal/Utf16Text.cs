using System.Globalization;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Well-formedness of UTF-16 strings. SQLite stores text as UTF-8, where an unpaired surrogate cannot be represented:
/// the driver would silently replace it with U+FFFD, so the id, document or value read back would differ from the one
/// written (and two different ids could collide). Such strings are rejected instead.
/// </summary>
internal static class Utf16Text
{
    /// <summary>The index of the first unpaired surrogate in <paramref name="text"/>, or -1 when it is well formed.</summary>
    public static int IndexOfLoneSurrogate(ReadOnlySpan<char> text)
    {
        var offset = 0;
        while (true)
        {
            var found = text[offset..].IndexOfAnyInRange('\ud800', '\udfff');
            if (found < 0)
            {
                return -1;
            }

            var i = offset + found;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                offset = i + 2;
                continue;
            }

            return i;
        }
    }

    /// <summary>A message (without a final period) naming <paramref name="what"/> and the bad position, or null when <paramref name="text"/> is well formed.</summary>
    public static string? Problem(string text, string what)
    {
        var at = IndexOfLoneSurrogate(text);
        return at < 0
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what} is not valid UTF-16: unpaired surrogate U+{(int)text[at]:X4} at position {at} (text is stored as UTF-8, which cannot represent it)");
    }

    /// <summary>Throws <see cref="ChromaValidationException"/> naming <paramref name="what"/> when <paramref name="text"/> has an unpaired surrogate.</summary>
    public static void Check(string text, string what)
    {
        if (Problem(text, what) is { } message)
        {
            throw new ChromaValidationException(message + ".");
        }
    }
}
