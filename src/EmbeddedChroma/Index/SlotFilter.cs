namespace EmbeddedChroma.Index;

/// <summary>How a <see cref="SlotFilter"/> names its candidate slots.</summary>
internal enum SlotFilterKind
{
    /// <summary>A bitmap over all slots: bit <c>i % 64</c> of word <c>i / 64</c> set means slot <c>i</c> may be returned.</summary>
    Bitmap = 0,

    /// <summary>An explicit list of candidate slots (typically the matches of a selective metadata filter).</summary>
    Slots = 1,
}

/// <summary>
/// Which slots a search may return. Built by the caller (store or query planner) from the tombstone bitmap and
/// the metadata filter; the index only reads it.
/// </summary>
/// <remarks>
/// <para>
/// A bitmap suits unfiltered or broadly filtered searches and gives O(1) membership, which graph walks need.
/// A slot list suits selective filters: an exact scan then touches only those rows.
/// </para>
/// <para>
/// <c>default(SlotFilter)</c> is an empty bitmap and so admits nothing; a search never returns slots that were
/// not admitted explicitly.
/// </para>
/// </remarks>
internal readonly ref struct SlotFilter
{
    private SlotFilter(SlotFilterKind kind, ReadOnlySpan<ulong> bitmap, ReadOnlySpan<int> slots)
    {
        Kind = kind;
        Bitmap = bitmap;
        Slots = slots;
    }

    /// <summary>Which of <see cref="Bitmap"/> and <see cref="Slots"/> is in use.</summary>
    public SlotFilterKind Kind { get; }

    /// <summary>The liveness bitmap when <see cref="Kind"/> is <see cref="SlotFilterKind.Bitmap"/>, else empty.</summary>
    public ReadOnlySpan<ulong> Bitmap { get; }

    /// <summary>The candidate slots when <see cref="Kind"/> is <see cref="SlotFilterKind.Slots"/>, else empty.</summary>
    public ReadOnlySpan<int> Slots { get; }

    /// <summary>
    /// Admits slot <c>i</c> when bit <c>i &amp; 63</c> of <c>liveBits[i &gt;&gt; 6]</c> is set. Slots past the end of
    /// the bitmap are not admitted; bits at or past the index's slot count are ignored.
    /// </summary>
    public static SlotFilter FromBitmap(ReadOnlySpan<ulong> liveBits) => new(SlotFilterKind.Bitmap, liveBits, default);

    /// <summary>
    /// Admits exactly the listed slots. They must be distinct and below the index's slot count (an out-of-range slot
    /// makes the search throw); the order does not matter. Duplicates are not detected and would be reported once
    /// per occurrence.
    /// </summary>
    public static SlotFilter FromSlots(ReadOnlySpan<int> candidateSlots) => new(SlotFilterKind.Slots, default, candidateSlots);
}
