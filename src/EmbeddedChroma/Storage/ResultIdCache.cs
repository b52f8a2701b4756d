namespace EmbeddedChroma.Storage;

/// <summary>
/// The ids of one collection's records that queries have returned, by slot, so an unfiltered query asking only for ids
/// and distances answers from memory instead of reading its result rows from SQLite (one B-tree lookup per result,
/// most of a small collection's query). A slot's id changes only when the slot is freed and reused, or when the slots
/// are renumbered (compaction, a load, a rebuild): <see cref="CollectionState"/> forgets the slot, or everything, at
/// exactly those points, under the collection's write lock, so a reader (holding the read lock) never sees an id its
/// slot no longer has.
/// </summary>
/// <remarks>
/// <para>Filled by readers holding the read lock, concurrently: entries are published with one atomic write each, the
/// slot array grows under a short lock (an entry written into the old array meanwhile is lost: a later miss, never a
/// wrong id). At most <see cref="MaxEntries"/> entries (about 100 bytes each with a short id, plus 8 bytes per slot for
/// the array); beyond that new ids are not kept.</para>
/// <para>Holds the rows exactly as <see cref="RecordReader.ReadSlots"/> returns them for no columns (rid, slot, id).</para>
/// </remarks>
internal sealed class ResultIdCache
{
    /// <summary>Most entries kept per collection.</summary>
    public const int MaxEntries = 131_072;

    private readonly Lock _grow = new();
    private RecordRow?[] _rows = [];
    private int _count;
    private long _hits;
    private long _misses;

    /// <summary>Entries held (approximate while readers race to fill the same slot).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Lookups answered from memory since the collection was loaded (tests).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that had to read SQLite (tests).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The row of <paramref name="slot"/> if a query read it since its slot last changed.</summary>
    public bool TryGet(int slot, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RecordRow? row)
    {
        var rows = Volatile.Read(ref _rows);
        row = (uint)slot < (uint)rows.Length ? Volatile.Read(ref rows[slot]) : null;
        if (row is null)
        {
            Interlocked.Increment(ref _misses);
            return false;
        }

        Interlocked.Increment(ref _hits);
        return true;
    }

    /// <summary>Keeps <paramref name="row"/> (read from SQLite under the read lock); <paramref name="slotCount"/>: the collection's slots allocated, for the array's size.</summary>
    public void Add(RecordRow row, int slotCount)
    {
        var slot = row.Slot;
        if (slot < 0 || Volatile.Read(ref _count) >= MaxEntries)
        {
            return;
        }

        var rows = Volatile.Read(ref _rows);
        if (slot >= rows.Length)
        {
            lock (_grow)
            {
                rows = _rows;
                if (slot >= rows.Length)
                {
                    var grown = new RecordRow?[Math.Max(Math.Max(slotCount, slot + 1), rows.Length * 2)];
                    Array.Copy(rows, grown, rows.Length);
                    Volatile.Write(ref _rows, grown);
                    rows = grown;
                }
            }
        }

        if (Interlocked.CompareExchange(ref rows[slot], row, null) is null)
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Forgets the id of <paramref name="slot"/> (freed or given to another record). Under the write lock.</summary>
    public void Forget(int slot)
    {
        var rows = _rows;
        if ((uint)slot < (uint)rows.Length && rows[slot] is not null)
        {
            rows[slot] = null;
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Forgets every id (the slots were renumbered or rebuilt). Under the write lock.</summary>
    public void Clear()
    {
        lock (_grow)
        {
            Volatile.Write(ref _rows, []);
            Volatile.Write(ref _count, 0);
        }
    }
}
