namespace EmbeddedChroma.Storage;

/// <summary>
/// Rows of one collection's records that queries have returned, by slot, so a query asking only for ids and distances
/// answers from memory instead of reading its result rows from SQLite (one B-tree lookup per result, most of a small
/// collection's query). Two per collection: the ids of unfiltered queries' results (<see cref="CollectionState.ResultIds"/>,
/// rows as <see cref="RecordReader.ReadSlots"/> returns them for no columns: rid, slot, id) and the checksum-verified
/// metadata of filtered queries' results (<see cref="CollectionState.CheckedRows"/>: rid, slot, id, metadata), which a
/// filtered query checks again against its selectors instead of reading them again. A slot's id changes only when the
/// slot is freed and reused, or when the slots are renumbered (compaction, a load, a rebuild); its metadata also when
/// the record is replaced in place: <see cref="CollectionState"/> forgets the slot, or everything, at exactly those
/// points, under the collection's write lock, so a reader (holding the read lock) never sees a row its slot no longer has.
/// </summary>
/// <remarks>
/// <para>Filled by readers holding the read lock, concurrently: entries are published with one atomic write each, the
/// slot array grows under a short lock (an entry written into the old array meanwhile is lost: a later miss, never a
/// wrong row). At most <see cref="MaxEntries"/> entries (about 100 bytes each with a short id, plus 8 bytes per slot for
/// the array) and at most the given number of characters of ids and metadata; beyond that new rows are not kept.</para>
/// <para>What a cached row saves is a read, not a check: a row is read (and its checksum verified) once per open of the
/// store while its slot holds the same record, so damage done to the database file while it is closed is found by the
/// first read that returns the record, as before.</para>
/// </remarks>
internal sealed class ResultIdCache
{
    /// <summary>Most entries kept per collection.</summary>
    public const int MaxEntries = 131_072;

    private readonly Lock _grow = new();
    private readonly long _maxChars;
    private RecordRow?[] _rows = [];
    private int _count;
    private long _chars;

    /// <summary>A cache keeping at most <see cref="MaxEntries"/> rows and <paramref name="maxChars"/> characters of their ids and metadata.</summary>
    public ResultIdCache(long maxChars = long.MaxValue)
    {
        _maxChars = maxChars;
    }

    private static long CharsOf(RecordRow row) => row.Id.Length + (row.MetadataJson?.Length ?? 0);
    private long _hits;
    private long _misses;

    /// <summary>Entries held (approximate while readers race to fill the same slot).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Lookups answered from memory since the collection was loaded (tests).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that had to read SQLite (tests).</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The row of <paramref name="slot"/> if a query read it since its slot (or record) last changed.</summary>
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
        if (slot < 0 || Volatile.Read(ref _count) >= MaxEntries || Interlocked.Read(ref _chars) + CharsOf(row) > _maxChars)
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
            Interlocked.Add(ref _chars, CharsOf(row));
        }
    }

    /// <summary>Forgets the row of <paramref name="slot"/> (freed, given to another record, or its record replaced). Under the write lock.</summary>
    public void Forget(int slot)
    {
        var rows = _rows;
        if ((uint)slot < (uint)rows.Length && rows[slot] is { } row)
        {
            rows[slot] = null;
            Interlocked.Decrement(ref _count);
            Interlocked.Add(ref _chars, -CharsOf(row));
        }
    }

    /// <summary>Forgets every row (the slots were renumbered or rebuilt). Under the write lock.</summary>
    public void Clear()
    {
        lock (_grow)
        {
            Volatile.Write(ref _rows, []);
            Volatile.Write(ref _count, 0);
            Interlocked.Exchange(ref _chars, 0);
        }
    }
}
