using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Index;

/// <summary>
/// Exact (brute-force) k-nearest-neighbour search: computes the distance to every admitted row and keeps the k best
/// in a bounded max-heap. Used for small collections and for selective filters, where it beats a graph walk; also
/// the reference the HNSW index is tested against.
/// </summary>
/// <remarks>
/// <code>
///   Search(space) ──switch once──► Scan{Bitmap|Slots}&lt;TKernel&gt;   (one compiled copy per kernel)
///                                        │ per admitted slot
///                                        ├─ rows.GetRow(slot)
///                                        ├─ TKernel.Distance(query, row)     (static, inlinable)
///                                        └─ BoundedMaxHeap.TryAdd            (destination is the heap storage)
/// </code>
/// Nothing is allocated per query: the heap lives in <c>destination</c>. Thread safety: any number of searches may
/// run at once; the caller must keep writers from changing the admitted rows during a search.
/// </remarks>
internal static class ExactScan
{
    /// <summary>Searches the slots set in a liveness bitmap. See <see cref="Search(IVectorRows, DistanceSpace, ReadOnlySpan{float}, int, SlotFilter, Span{Neighbor})"/>.</summary>
    public static int Search(IVectorRows rows, DistanceSpace space, ReadOnlySpan<float> query, int k, ReadOnlySpan<ulong> liveBits, Span<Neighbor> destination) =>
        Search(rows, space, query, k, SlotFilter.FromBitmap(liveBits), destination);

    /// <summary>Searches an explicit list of candidate slots. See <see cref="Search(IVectorRows, DistanceSpace, ReadOnlySpan{float}, int, SlotFilter, Span{Neighbor})"/>.</summary>
    public static int Search(IVectorRows rows, DistanceSpace space, ReadOnlySpan<float> query, int k, ReadOnlySpan<int> candidateSlots, Span<Neighbor> destination) =>
        Search(rows, space, query, k, SlotFilter.FromSlots(candidateSlots), destination);

    /// <summary>
    /// Finds the <paramref name="k"/> admitted rows closest to <paramref name="query"/>.
    /// </summary>
    /// <param name="rows">The vectors.</param>
    /// <param name="space">The distance: <see cref="DistanceSpace.L2"/> is squared L2; <see cref="DistanceSpace.Cosine"/>
    /// and <see cref="DistanceSpace.InnerProduct"/> are 1 − dot (cosine rows are stored normalized).</param>
    /// <param name="query">The query, of length <see cref="IRowBlock{TElement}.Dimension"/>; already normalized for cosine.</param>
    /// <param name="k">How many neighbours to return; 0 returns none.</param>
    /// <param name="filter">Which slots may be returned.</param>
    /// <param name="destination">Receives the neighbours, best first; also used as the heap. Must hold at least
    /// min(<paramref name="k"/>, number of admitted slots) elements, so a caller asking for more neighbours than exist
    /// can size it to the admitted count.</param>
    /// <returns>The number of neighbours written: min(<paramref name="k"/>, number of admitted slots).</returns>
    /// <exception cref="ArgumentException">The query length differs from the row dimension, or
    /// <paramref name="destination"/> is too small.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative, <paramref name="space"/> is not
    /// defined, or a listed slot is outside [0, <see cref="IRowBlock{TElement}.SlotCount"/>).</exception>
    /// <remarks>
    /// Results are ordered by distance ascending, ties by slot ascending, so equal inputs give equal outputs. A row
    /// containing NaN gets a NaN distance and ranks after every number. Cosine/ip distances of near-identical unit
    /// vectors may be slightly negative (not clamped).
    /// </remarks>
    public static int Search(IVectorRows rows, DistanceSpace space, ReadOnlySpan<float> query, int k, SlotFilter filter, Span<Neighbor> destination)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (query.Length != rows.Dimension)
        {
            ThrowDimensionMismatch(query.Length, rows.Dimension, nameof(query));
        }

        // Someone will ask for k = 1000 on a 3-row collection; clamp rather than demand a k-sized buffer.
        int admitted = filter.Kind == SlotFilterKind.Slots
            ? filter.Slots.Length
            : CountAdmitted(filter.Bitmap, rows.SlotCount);
        int keep = Math.Min(k, admitted);
        if (destination.Length < keep)
        {
            ThrowDestinationTooSmall(keep, destination.Length, nameof(destination));
        }

        if (keep == 0)
        {
            return 0;
        }

        Span<Neighbor> heapStorage = destination[..keep];
        return space switch
        {
            DistanceSpace.L2 => Scan<L2Kernel>(rows, query, filter, heapStorage),
            DistanceSpace.Cosine or DistanceSpace.InnerProduct => Scan<DotDistanceKernel>(rows, query, filter, heapStorage),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    private static int Scan<TKernel>(IVectorRows rows, ReadOnlySpan<float> query, SlotFilter filter, Span<Neighbor> heapStorage)
        where TKernel : struct, IDistanceKernel
    {
        var heap = new BoundedMaxHeap(heapStorage);
        if (filter.Kind == SlotFilterKind.Slots)
        {
            ScanSlots<TKernel>(rows, query, filter.Slots, ref heap);
        }
        else
        {
            ScanBitmap<TKernel>(rows, query, filter.Bitmap, ref heap);
        }

        return heap.SortAscending();
    }

    private static void ScanBitmap<TKernel>(IVectorRows rows, ReadOnlySpan<float> query, ReadOnlySpan<ulong> liveBits, ref BoundedMaxHeap heap)
        where TKernel : struct, IDistanceKernel
    {
        int slotCount = rows.SlotCount;
        int words = Math.Min(liveBits.Length, WordCount(slotCount));
        for (int w = 0; w < words; w++)
        {
            ulong bits = liveBits[w] & WordMask(w, slotCount);
            while (bits != 0)
            {
                int slot = (w << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                heap.TryAdd(slot, TKernel.Distance(query, rows.GetRow(slot)));
            }
        }
    }

    private static void ScanSlots<TKernel>(IVectorRows rows, ReadOnlySpan<float> query, ReadOnlySpan<int> slots, ref BoundedMaxHeap heap)
        where TKernel : struct, IDistanceKernel
    {
        uint slotCount = (uint)rows.SlotCount;
        foreach (int slot in slots)
        {
            if ((uint)slot >= slotCount)
            {
                ThrowSlotOutOfRange(slot, (int)slotCount, "filter");
            }

            heap.TryAdd(slot, TKernel.Distance(query, rows.GetRow(slot)));
        }
    }

    private static int CountAdmitted(ReadOnlySpan<ulong> liveBits, int slotCount)
    {
        int words = Math.Min(liveBits.Length, WordCount(slotCount));
        int count = 0;
        for (int w = 0; w < words; w++)
        {
            count += BitOperations.PopCount(liveBits[w] & WordMask(w, slotCount));
        }

        return count;
    }

    private static int WordCount(int slotCount) => (int)(((uint)slotCount + 63u) >> 6);

    // All ones, except in the word holding slot SlotCount, where bits at or past SlotCount are cleared.
    private static ulong WordMask(int word, int slotCount)
    {
        int bitsLeft = slotCount - (word << 6);
        return bitsLeft >= 64 ? ulong.MaxValue : (1UL << bitsLeft) - 1;
    }

    [DoesNotReturn]
    private static void ThrowDimensionMismatch(int actual, int expected, string paramName) =>
        throw new ArgumentException($"Query has {actual} dimensions; the index has {expected}.", paramName);

    [DoesNotReturn]
    private static void ThrowDestinationTooSmall(int needed, int actual, string paramName) =>
        throw new ArgumentException($"Destination holds {actual} neighbours; {needed} are needed.", paramName);

    [DoesNotReturn]
    private static void ThrowSlotOutOfRange(int slot, int slotCount, string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, slot, $"Candidate slot {slot} is outside [0, {slotCount}).");
}
