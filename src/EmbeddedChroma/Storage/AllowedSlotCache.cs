using EmbeddedChroma.Index;

namespace EmbeddedChroma.Storage;

/// <summary>The slots a query's selectors allow, as a bitmap over slots (bit i of word i / 64), and how many.</summary>
internal sealed class AllowedSet
{
    public AllowedSet(ulong[] bits)
    {
        Bits = bits;
        Count = SlotBitmap.Count(bits);
        Runs = CountRuns(bits);
    }

    /// <summary>Runs of consecutive allowed slots (an exact scan reads each run as one stream; see <c>FilteredPlanCosts</c>).</summary>
    public int Runs { get; }

    /// <summary>The number of maximal runs of consecutive set bits (a run may cross words).</summary>
    public static int CountRuns(ReadOnlySpan<ulong> bits)
    {
        int runs = 0;
        ulong carry = 0;
        foreach (ulong word in bits)
        {
            runs += System.Numerics.BitOperations.PopCount(word & ~((word << 1) | carry));
            carry = word >> 63;
        }

        return runs;
    }

    public ulong[] Bits { get; }

    /// <summary>Exactly the number of set bits.</summary>
    public int Count { get; }

    public bool Contains(int slot) => SlotBitmap.Contains(Bits, slot);
}

/// <summary>
/// The allowed-slot sets of recently used filters of one collection, valid for one write sequence number:
/// an application that queries many times with the same filter (a tenant or user filter, say) between writes
/// evaluates it once. Any write changes the sequence number and so empties the cache.
/// </summary>
/// <remarks>Thread-safe (one short lock); sets are shared read-only once stored.</remarks>
internal sealed class AllowedSlotCache
{
    private const int Capacity = 16;

    private readonly Lock _lock = new();
    private readonly List<(string Key, AllowedSet Set)> _entries = [];
    private long _seq = -1;

    public bool TryGet(string key, long seq, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out AllowedSet? set)
    {
        lock (_lock)
        {
            if (seq == _seq)
            {
                for (var i = 0; i < _entries.Count; i++)
                {
                    if (_entries[i].Key == key)
                    {
                        set = _entries[i].Set;
                        return true;
                    }
                }
            }

            set = null;
            return false;
        }
    }

    /// <summary>Forgets every set (the filter data they came from was rebuilt).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
            _seq = -1;
        }
    }

    public void Add(string key, long seq, AllowedSet set)
    {
        lock (_lock)
        {
            if (seq != _seq)
            {
                _entries.Clear();
                _seq = seq;
            }

            if (_entries.Count == Capacity)
            {
                _entries.RemoveAt(0);
            }

            _entries.Add((key, set));
        }
    }
}
