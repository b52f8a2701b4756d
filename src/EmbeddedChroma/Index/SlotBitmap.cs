using System.Numerics;
using System.Runtime.CompilerServices;

namespace EmbeddedChroma.Index;

/// <summary>
/// A set of slots as a bitmap: bit <c>i &amp; 63</c> of word <c>i &gt;&gt; 6</c> set means slot <c>i</c> is in the set. The
/// one definition of that layout for the whole store: a collection's liveness bitmap, the allowed-slot sets of
/// filters, the filter index's results and <see cref="SlotFilter.FromBitmap"/> all use it. Plain <c>ulong[]</c> words
/// (no wrapper) so the graph walk and the exact scan read them as spans at no cost.
/// </summary>
internal static class SlotBitmap
{
    /// <summary>Words needed for slots [0, <paramref name="slots"/>).</summary>
    public static int WordsFor(int slots) => (int)(((uint)slots + 63u) >> 6);

    /// <summary>True when <paramref name="slot"/> is in the set; slots past the end (or negative) are not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Contains(ReadOnlySpan<ulong> bits, int slot) =>
        (uint)(slot >> 6) < (uint)bits.Length && (bits[slot >> 6] & (1UL << slot)) != 0;

    /// <summary>Adds or removes <paramref name="slot"/>, growing <paramref name="bits"/> (at least doubling) when it is past the end.</summary>
    public static void Set(ref ulong[] bits, int slot, bool value)
    {
        var word = slot >> 6;
        if (word >= bits.Length)
        {
            var grown = new ulong[Math.Max(word + 1, bits.Length * 2)];
            bits.CopyTo(grown, 0);
            bits = grown;
        }

        if (value)
        {
            bits[word] |= 1UL << slot;
        }
        else
        {
            bits[word] &= ~(1UL << slot);
        }
    }

    /// <summary>The set [0, <paramref name="count"/>) (at least one word).</summary>
    public static ulong[] Dense(int count)
    {
        var bits = new ulong[Math.Max(1, WordsFor(count))];
        for (var slot = 0; slot < count; slot++)
        {
            bits[slot >> 6] |= 1UL << slot;
        }

        return bits;
    }

    /// <summary>A bitmap of <paramref name="words"/> words with the given slots set (slots past its end are left out).</summary>
    public static ulong[] FromSlots(IEnumerable<int> slots, int words)
    {
        var bits = new ulong[words];
        foreach (var slot in slots)
        {
            if ((uint)(slot >> 6) < (uint)words)
            {
                bits[slot >> 6] |= 1UL << slot;
            }
        }

        return bits;
    }

    /// <summary>How many slots are in the set.</summary>
    public static int Count(ReadOnlySpan<ulong> bits)
    {
        var count = 0;
        foreach (var word in bits)
        {
            count += BitOperations.PopCount(word);
        }

        return count;
    }

    /// <summary>The slots in the set, ascending.</summary>
    public static int[] ToSlots(ReadOnlySpan<ulong> bits)
    {
        var slots = new List<int>();
        for (var w = 0; w < bits.Length; w++)
        {
            for (var word = bits[w]; word != 0; word &= word - 1)
            {
                slots.Add((w << 6) + BitOperations.TrailingZeroCount(word));
            }
        }

        return [.. slots];
    }
}
