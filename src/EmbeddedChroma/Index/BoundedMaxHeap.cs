using System.Runtime.CompilerServices;

namespace EmbeddedChroma.Index;

/// <summary>
/// The k best neighbours seen so far, as a binary max-heap whose root is the worst kept one, stored in a
/// caller-provided span (no allocation). The order is total and deterministic: by distance ascending, NaN after
/// every number, ties by slot ascending.
/// </summary>
internal ref struct BoundedMaxHeap
{
    private readonly Span<Neighbor> _items;
    private int _count;

    /// <summary>Creates an empty heap that keeps at most <c>storage.Length</c> neighbours.</summary>
    public BoundedMaxHeap(Span<Neighbor> storage)
    {
        _items = storage;
        _count = 0;
    }

    /// <summary>Number of neighbours kept.</summary>
    public readonly int Count => _count;

    /// <summary>
    /// Offers a neighbour: kept if the heap is not full, or if it precedes the current worst, which is then dropped.
    /// </summary>
    /// <returns><see langword="true"/> if the neighbour was kept.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAdd(int slot, float distance)
    {
        if (_count < _items.Length)
        {
            _items[_count] = new Neighbor(slot, distance);
            SiftUp(_count++);
            return true;
        }

        // Capacity 0 lands here too: _count == 0 == Length, and nothing may be kept.
        if (_count == 0 || !Precedes(distance, slot, _items[0].Distance, _items[0].Slot))
        {
            return false;
        }

        _items[0] = new Neighbor(slot, distance);
        SiftDown(0, _count);
        return true;
    }

    /// <summary>
    /// Sorts the kept neighbours best first in place (heapsort) and returns their count; the heap is empty afterwards.
    /// The results are the first <c>count</c> elements of the storage span.
    /// </summary>
    public int SortAscending()
    {
        int count = _count;
        for (int end = count - 1; end > 0; end--)
        {
            (_items[0], _items[end]) = (_items[end], _items[0]);
            SiftDown(0, end);
        }

        _count = 0;
        return count;
    }

    /// <summary>
    /// The search order: <c>true</c> if (da, sa) ranks strictly before (db, sb). Distance ascending, NaN after every
    /// number (a corrupt row must not win), equal distances (including −0 = +0) by slot ascending.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Precedes(float da, int sa, float db, int sb)
    {
        // Most candidates in a long scan are worse than the current worst kept, so test that first.
        if (da > db)
        {
            return false;
        }

        if (da < db)
        {
            return true;
        }

        if (da == db)
        {
            return sa < sb;
        }

        // Unordered: at least one NaN.
        bool aIsNaN = float.IsNaN(da);
        return aIsNaN == float.IsNaN(db) ? sa < sb : !aIsNaN;
    }

    private readonly void SiftUp(int index)
    {
        Neighbor item = _items[index];
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            Neighbor p = _items[parent];
            if (!Precedes(p.Distance, p.Slot, item.Distance, item.Slot))
            {
                break;
            }

            _items[index] = p;
            index = parent;
        }

        _items[index] = item;
    }

    private readonly void SiftDown(int index, int count)
    {
        Neighbor item = _items[index];
        while (true)
        {
            int child = (2 * index) + 1;
            if (child >= count)
            {
                break;
            }

            // Pick the worse child: the one that does not precede its sibling.
            if (child + 1 < count && Precedes(_items[child].Distance, _items[child].Slot, _items[child + 1].Distance, _items[child + 1].Slot))
            {
                child++;
            }

            Neighbor c = _items[child];
            if (!Precedes(item.Distance, item.Slot, c.Distance, c.Slot))
            {
                break;
            }

            _items[index] = c;
            index = child;
        }

        _items[index] = item;
    }
}
