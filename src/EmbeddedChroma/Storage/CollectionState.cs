using EmbeddedChroma.Index;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The in-memory state of one collection: its catalog row, its vector arena, which slots are live and
/// which are free. <see cref="Lock"/> orders access: queries hold it for reading, writes (already holding
/// the store's SQLite write lock) hold it for writing, so a query sees a whole batch or none of it.
/// </summary>
/// <remarks>
/// Who changes it: only the engine's <c>Engine.CollectionEngine</c> of this collection and the helpers it drives for it
/// (<c>Engine.RecordWriter</c> for a write batch, <c>Engine.QueryPlanner</c> for the lazily built filter index; the
/// catalog creates it). Storage and the public API only read it; <c>Architecture/LayeringTests</c> checks that no setter is
/// called from outside <c>EmbeddedChroma.Engine</c>. It stays a mutable object under <see cref="Lock"/> rather than an
/// immutable snapshot swapped atomically: the liveness bitmap and free-slot stack cover every slot and change with every
/// write, so a copy per batch would cost O(collection) per write, and the lock already gives a query one consistent view.
/// </remarks>
internal sealed class CollectionState
{
    public required long Id { get; init; }
    public required Guid Uuid { get; init; }
    public required long DatabaseId { get; init; }
    public required string Tenant { get; init; }
    public required string Database { get; init; }
    public required string Name { get; set; }
    public required CollectionConfiguration Configuration { get; set; }
    public Dictionary<string, object>? Metadata { get; set; }
    public int? Dimension { get; set; }
    public long LastSeq { get; set; }

    /// <summary>The write chain value of <see cref="LastSeq"/> (see <see cref="StoreIdentity"/>): part of the derived files' owner stamp.</summary>
    public long LastChain { get; set; }

    /// <summary>
    /// The sequence number of the last compaction (0: never). Slots were renumbered then, so a saved graph
    /// stamped before it describes other slots and is discarded (see <see cref="VectorIndexer.Attach"/>).
    /// </summary>
    public long CompactedSeq { get; set; }

    public ReaderWriterLockSlim Lock { get; } = new(LockRecursionPolicy.NoRecursion);

    public volatile bool Deleted;

    /// <summary>
    /// Write batches running their SQL beside readers (the collection lock held upgradeable, not exclusive): while one
    /// does, the background indexer leaves it a core (<see cref="VectorIndexer"/>, <see cref="Ingesting"/>).
    /// </summary>
    public volatile int BatchesInserting;

    /// <summary>A write batch waits for the collection lock exclusively, to commit and publish: the indexer ends its chunk early.</summary>
    public bool WriterWaitingToPublish => _writerWaiting;

    private volatile bool _writerWaiting;

    /// <summary>Guards the wait for <see cref="WriterWaitingToPublish"/> to clear (see <see cref="WaitWhileWriterWaits"/>).</summary>
    private readonly object _writerWaitingGate = new();

    /// <summary>A write batch begins (true) or ends (false) its wait for the collection lock exclusively.</summary>
    public void SetWriterWaiting(bool waiting)
    {
        lock (_writerWaitingGate)
        {
            _writerWaiting = waiting;
            if (!waiting)
            {
                Monitor.PulseAll(_writerWaitingGate);
            }
        }
    }

    /// <summary>
    /// Blocks while a write batch waits to publish (at most <paramref name="millisecondsTimeout"/>): the indexer's worker
    /// calls it before taking the read lock again. The lock grants new readers while a writer is still spinning for it
    /// (before it registers as a waiter), and a worker re-taking it at once, chunk after empty chunk, kept a batch from
    /// it for ~20–30 ms (the p99 of a 300k ingest's write-lock waits: 900–9,000 empty chunks inside each such wait).
    /// </summary>
    public void WaitWhileWriterWaits(int millisecondsTimeout)
    {
        lock (_writerWaitingGate)
        {
            if (_writerWaiting)
            {
                Monitor.Wait(_writerWaitingGate, millisecondsTimeout);
            }
        }
    }

    /// <summary>
    /// How soon after a write batch ends the next must begin for the collection to count as under ingest
    /// (<see cref="Ingesting"/>): longer than the gap between the batches of one client sending them back to back
    /// over loopback, shorter than anything a person would call a pause.
    /// </summary>
    public static readonly TimeSpan IngestGap = TimeSpan.FromMilliseconds(50);

    /// <summary>When the last write batch began or ended (<see cref="System.Diagnostics.Stopwatch"/> timestamp; 0: none yet).</summary>
    private long _lastBatch;

    /// <summary>
    /// True while a write batch runs its SQL, or the last one ended less than <see cref="IngestGap"/> ago: the
    /// background indexer then leaves the writer a core (<see cref="VectorIndexer"/>), re-checked before every link.
    /// </summary>
    public bool Ingesting
    {
        get
        {
            var last = Volatile.Read(ref _lastBatch);
            return BatchesInserting > 0 || (last != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(last) < IngestGap);
        }
    }

    /// <summary>Records that a write batch begins or ends now (see <see cref="Ingesting"/>).</summary>
    public void MarkBatch() => Volatile.Write(ref _lastBatch, System.Diagnostics.Stopwatch.GetTimestamp());

    /// <summary>Loaded on first use: arena, liveness bitmap, free slots, count.</summary>
    public bool Loaded { get; set; }

    public VectorArena? Arena { get; set; }

    /// <summary>Bit i set ⇔ slot i holds a live record. Replacing it (a load, a compaction, a rebuild) forgets every cached result id.</summary>
    public ulong[] Live
    {
        get => _live;
        set
        {
            _live = value;
            ResultIds.Clear();
            CheckedRows.Clear();
        }
    }

    private ulong[] _live = [];

    /// <summary>The ids of records queries returned, by slot (see <see cref="ResultIdCache"/>); kept in step by <see cref="Live"/> and <see cref="SetLive"/>.</summary>
    public ResultIdCache ResultIds { get; } = new();

    /// <summary>
    /// The checksum-verified metadata (with rid and id) of records filtered queries returned, by slot (see
    /// <see cref="ResultIdCache"/>): kept in step by <see cref="Live"/>, <see cref="SetLive"/> and <see cref="Replaced"/>;
    /// at most <see cref="CheckedRowsMaxChars"/> characters.
    /// </summary>
    public ResultIdCache CheckedRows { get; } = new(CheckedRowsMaxChars);

    /// <summary>Most characters of ids and metadata <see cref="CheckedRows"/> keeps (16 MiB of UTF-16).</summary>
    public const long CheckedRowsMaxChars = 8L << 20;

    /// <summary>The record in <paramref name="slot"/> was replaced in place (its metadata may differ): its checked row is forgotten. Under the write lock.</summary>
    public void Replaced(int slot) => CheckedRows.Forget(slot);

    /// <summary>Freed slots, reused by later inserts.</summary>
    public Stack<int> FreeSlots { get; } = new();

    /// <summary>One past the highest slot ever allocated.</summary>
    public int NextSlot { get; set; }

    /// <summary>Live records.</summary>
    public int Count { get; set; }

    /// <summary>
    /// The in-memory metadata filter index: null until the first filtered query builds it (under
    /// <see cref="FilterIndexBuildLock"/>, holding the read lock), and again once it outgrew its budget.
    /// Written under the write lock or the build lock; read under the read lock.
    /// </summary>
    public volatile MetadataFilterIndex? FilterIndex;

    /// <summary>Set when the index exceeded <see cref="ChromaStoreOptions.FilterIndexMemoryBudget"/>: filters stay in SQL for this state's lifetime.</summary>
    public volatile bool FilterIndexOverBudget;

    /// <summary>
    /// Set once this state looked for the saved filter index (<see cref="FilterIndexFile"/>): the file is read at most once
    /// per open, before the index is first needed; later builds derive it from the records.
    /// </summary>
    public bool FilterIndexFileTried;

    /// <summary>True while <see cref="FilterIndex"/> equals the saved file (loaded from it, or saved since, with no write after): closing then skips the save.</summary>
    public volatile bool FilterIndexSaved;

    /// <summary>Serializes the lazy build of <see cref="FilterIndex"/> among concurrent readers.</summary>
    public Lock FilterIndexBuildLock { get; } = new();

    /// <summary>Allowed-slot sets of recent filters, valid until the next write.</summary>
    public AllowedSlotCache FilterCache { get; } = new();

    /// <summary>
    /// Set once this open found the collection's filter rows (<c>record_meta</c> and its indexes) equal to the rows derived
    /// from its records (<see cref="FilterRows"/>), checked before its first filtered read; cleared when a read finds
    /// damaged filter data, so the next filtered read checks (and rebuilds) again. Writes keep verified rows in step.
    /// </summary>
    public volatile bool FilterRowsVerified;

    /// <summary>
    /// True when the collection's filter rows (<c>record_meta</c>) are written with its records. A collection created while
    /// the in-memory filter index is enabled does not keep them (its <c>where</c> is answered by that index, which is
    /// derived from the records): its batches skip the filter rows' SQL and the log volume of their value indexes. The
    /// rows are derived from the records once, in a write transaction, when a read must filter in SQL (the index disabled
    /// or over budget), and kept from then on; a store that cannot write then derives them inside each such read.
    /// Collections of stores written before this setting keep their rows. Changed only under the store's write lock.
    /// </summary>
    public volatile bool FilterRowsKept = true;

    /// <summary>
    /// True when the collection's documents are indexed for <c>where_document</c> after the batch that writes them, by the
    /// store's background document indexer (<see cref="PendingDocuments"/>): every collection of a schema-4 store. False only
    /// for a collection of an older store opened read-only (it has no mark: every document is in the index). Set at load and
    /// creation.
    /// </summary>
    public bool DocumentsDeferred { get; set; }

    /// <summary>The count of pending documents, kept by what changed since it was last read (<see cref="PendingDocumentTally"/>).</summary>
    public PendingDocumentTally DocumentTally { get; } = new();

    /// <summary>
    /// Set on a store opened for reads only, which cannot run FTS5's check of the document index: document
    /// <c>$contains</c> is then answered from the documents themselves (<see cref="Filtering.SqlFilterBuilder"/>), not the index.
    /// </summary>
    public volatile bool ScanDocuments;

    /// <summary>The background HNSW maintainer (created on first load).</summary>
    public VectorIndexer? Indexer { get; set; }

    /// <summary>True after a write whose arena update failed: the next load rebuilds from SQLite.</summary>
    public bool ArenaInvalid { get; set; }

    public IVectorRows? Rows => Arena;

    /// <summary>Marks <paramref name="slot"/> live or free; either way its cached result rows are forgotten (a freed slot is reused by another record).</summary>
    public void SetLive(int slot, bool live)
    {
        var bits = _live;
        SlotBitmap.Set(ref bits, slot, live);
        _live = bits;
        ResultIds.Forget(slot);
        CheckedRows.Forget(slot);
    }

    /// <summary>True when <paramref name="slot"/> holds a live record.</summary>
    public bool IsLive(int slot) => SlotBitmap.Contains(Live, slot);

    public CollectionInfo ToInfo() => new(Uuid, Name, Tenant, Database, Internal.MetadataCodec.Typed(Metadata), Configuration, Dimension);
}
