namespace EmbeddedChroma.Storage;

/// <summary>
/// The allowed-slot lists of recently used filters of one collection, valid for one write sequence number:
/// an application that queries many times with the same filter (a tenant or user filter, say) between writes
/// pays for evaluating it in SQLite once. Any write changes the sequence number and so empties the cache.
/// A filter seen for the first time still costs its SQL.
/// </summary>
/// <remarks>Thread-safe (one short lock); lists are shared read-only once stored.</remarks>
internal sealed class AllowedSlotCache
{
    private const int Capacity = 16;
    private const int LargestList = 1 << 20;

    private readonly Lock _lock = new();
    private readonly List<(string Key, List<int> Slots)> _entries = [];
    private long _seq = -1;

    public bool TryGet(string key, long seq, out List<int> slots)
    {
        lock (_lock)
        {
            if (seq == _seq)
            {
                for (var i = 0; i < _entries.Count; i++)
                {
                    if (_entries[i].Key == key)
                    {
                        slots = _entries[i].Slots;
                        return true;
                    }
                }
            }

            slots = [];
            return false;
        }
    }

    public void Add(string key, long seq, List<int> slots)
    {
        if (slots.Count > LargestList)
        {
            return;
        }

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

            _entries.Add((key, slots));
        }
    }
}
