namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>Checks that text echoed from a caller's input is safe for any log writer.</summary>
internal static class EchoAssertions
{
    /// <summary>Valid UTF-16 (no unpaired surrogate), no control characters, no line or paragraph separators.</summary>
    public static void ShouldBeCleanText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            char.IsControl(c).Should().BeFalse($"U+{(int)c:X4} at {i} is a control character in: {Printable(text)}");
            (c is '\u2028' or '\u2029').Should().BeFalse($"U+{(int)c:X4} at {i} breaks the line in: {Printable(text)}");
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            char.IsSurrogate(c).Should().BeFalse($"U+{(int)c:X4} at {i} is an unpaired surrogate in: {Printable(text)}");
        }
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' ? $"<U+{(int)c:X4}>" : c.ToString()));
}
