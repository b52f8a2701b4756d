using System.Text;

namespace EmbeddedChroma.Embeddings.MiniLM.Tokenization;

/// <summary>
/// Lookups over the measured tables of <c>UnicodeTables.g.cs</c>: one flag byte per BMP code point (built once),
/// binary search for the rest. .NET's own Unicode data is deliberately not used: the Rust crates behind HuggingFace
/// tokenizers carry older tables, and <see cref="string.Normalize()"/> does nothing under InvariantGlobalization.
/// </summary>
internal static partial class UnicodeTables
{
    private const byte Control = 1, Whitespace = 2, Punctuation = 4, HasStrip = 8, HasLower = 16;
    private const int HangulBase = 0xAC00, HangulCount = 11172, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int TCount = 28, NCount = 21 * TCount;

    private static readonly byte[] BmpFlags = BuildBmpFlags();

    public static bool IsControl(int cp) => cp < 0x10000 ? (BmpFlags[cp] & Control) != 0 : InRanges(ControlRanges, cp);

    public static bool IsWhitespace(int cp) => cp < 0x10000 ? (BmpFlags[cp] & Whitespace) != 0 : InRanges(WhitespaceRanges, cp);

    public static bool IsPunctuation(int cp) => cp < 0x10000 ? (BmpFlags[cp] & Punctuation) != 0 : InRanges(PunctuationRanges, cp);

    /// <summary>
    /// strip_accents of one code point (its NFD with the non-spacing marks dropped): 0 to 4 runes written to
    /// <paramref name="destination"/> (room for 4).
    /// </summary>
    public static int StripAccents(int cp, Span<Rune> destination)
    {
        if ((uint)(cp - HangulBase) < HangulCount)
        {
            int s = cp - HangulBase;
            destination[0] = new Rune(LBase + (s / NCount));
            destination[1] = new Rune(VBase + (s % NCount / TCount));
            int t = s % TCount;
            if (t == 0)
            {
                return 2;
            }

            destination[2] = new Rune(TBase + t);
            return 3;
        }

        if (cp < 0x10000 && (BmpFlags[cp] & HasStrip) == 0)
        {
            destination[0] = new Rune(cp);
            return 1;
        }

        return Mapped(StripKeys, StripOffsets, StripData, cp, destination);
    }

    /// <summary>lowercase of one code point: 1 to 3 runes written to <paramref name="destination"/> (room for 4).</summary>
    public static int Lowercase(int cp, Span<Rune> destination)
    {
        if (cp < 0x10000 && (BmpFlags[cp] & HasLower) == 0)
        {
            destination[0] = new Rune(cp);
            return 1;
        }

        return Mapped(LowerKeys, LowerOffsets, LowerData, cp, destination);
    }

    private static int Mapped(ReadOnlySpan<int> keys, ReadOnlySpan<ushort> offsets, string data, int cp, Span<Rune> destination)
    {
        int index = keys.BinarySearch(cp);
        if (index < 0)
        {
            destination[0] = new Rune(cp);
            return 1;
        }

        ReadOnlySpan<char> chars = data.AsSpan(offsets[index], offsets[index + 1] - offsets[index]);
        int written = 0;
        while (!chars.IsEmpty && written < destination.Length)
        {
            Rune.DecodeFromUtf16(chars, out Rune decoded, out int consumed);
            destination[written++] = decoded;
            chars = chars[consumed..];
        }

        return written;
    }

    private static bool InRanges(ReadOnlySpan<int> ranges, int cp)
    {
        int lo = 0, hi = (ranges.Length / 2) - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[2 * mid])
            {
                hi = mid - 1;
            }
            else if (cp > ranges[(2 * mid) + 1])
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] BuildBmpFlags()
    {
        byte[] flags = new byte[0x10000];
        Mark(flags, ControlRanges, Control);
        Mark(flags, WhitespaceRanges, Whitespace);
        Mark(flags, PunctuationRanges, Punctuation);
        foreach (int cp in StripKeys)
        {
            if (cp < 0x10000)
            {
                flags[cp] |= HasStrip;
            }
        }

        foreach (int cp in LowerKeys)
        {
            if (cp < 0x10000)
            {
                flags[cp] |= HasLower;
            }
        }

        return flags;
    }

    private static void Mark(byte[] flags, ReadOnlySpan<int> ranges, byte flag)
    {
        for (int i = 0; i < ranges.Length; i += 2)
        {
            for (int cp = ranges[i]; cp <= ranges[i + 1] && cp < 0x10000; cp++)
            {
                flags[cp] |= flag;
            }
        }
    }
}
