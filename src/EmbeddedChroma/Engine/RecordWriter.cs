using System.Globalization;
using System.Runtime.InteropServices;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>
/// One write batch of one collection. SQL runs inside the store's current write transaction; every
/// in-memory change (slots, liveness, count, dimension, arena rows) is only recorded, and applied by
/// <see cref="Apply"/> after the commit, so a failed batch changes nothing. Slots are chosen from a private view
/// of the collection's free list and next slot (the collection's own are changed only by <see cref="Apply"/>), so
/// the SQL part (<see cref="Begin"/> to <see cref="Finish"/>) may run while readers and the background indexer hold
/// the collection's read lock; <see cref="Seal"/>, the commit and <see cref="Apply"/> need it exclusively.
/// </summary>
internal sealed class RecordWriter(WriteSession store, StoreFolder folder, long filterIndexBudget, CollectionState state)
{
    // Size: About 420 lines, much of it SQL text: one write batch's statements and its staged in-memory changes, which
    // must stay together so Apply/Abandon undo exactly what the batch did.

    private readonly List<int> _takenFree = [];

    /// <summary>The collection's free slots in the order they are taken (a prefix read as needed; the stack is not popped until <see cref="Apply"/>).</summary>
    private Stack<int>.Enumerator _free;
    private bool _freeStarted;
    private bool _freeExhausted;
    private int _nextSlot;
    private readonly List<(int Slot, float[] Vector)> _rows = [];
    private readonly List<int> _inserted = [];
    private readonly List<int> _removed = [];
    private readonly List<(int Slot, string? MetadataJson)> _cleared = [];
    private List<MetadataFilterIndex.Row>? _filterRows;
    private long _seq;
    private long _chain;
    private bool _touched;

    /// <summary>A record written by this batch holds metadata or a document: it has filter rows or a document index entry.</summary>
    private bool _derived;

    /// <summary>A record written by this batch holds a document.</summary>
    private bool _wroteDocument;

    /// <summary>The batch left documents for the background document indexer (told after the commit).</summary>
    private bool _documentsPending;

    /// <summary>The batch's insert statement, its parameters bound once and their values set per record.</summary>
    private InsertStatement? _insert;
    private int? _dimension;
    private bool _abandoned;

    /// <summary>The arena this batch created (the collection's first vectors); deleted again if the batch rolls back.</summary>
    private VectorArena? _createdArena;

    public void Begin(int? dimension)
    {
        _dimension = dimension;
        _nextSlot = state.NextSlot;
        // A commit that fails (a full disk while SQLite writes its log) rolls back after the batch's own code ran.
        store.OnRollback(Abandon);
        _seq = store.NextSeq();
        _chain = store.CurrentChain;
    }

    public StoredRecord? Find(string id)
    {
        var command = store.WriteCommand("SELECT rid, slot, document, metadata, id, psum, uri FROM records WHERE collection_id = $c AND id = $id");
        command.Parameters.AddWithValue("$c", state.Id);
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var record = new StoredRecord(
            reader.GetInt64(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(6) ? null : reader.GetString(6));
        // An update merges into the stored metadata (and keeps the uri): never build on a damaged one.
        RecordChecksum.VerifyPayload(state, reader.GetString(4), record.Document, record.MetadataJson, record.Uri, reader.GetInt64(5));
        return record;
    }

    /// <summary>Inserts a new record; returns false (and changes nothing) when the id already exists.</summary>
    public bool TryInsert(string id, float[] embedding, Dictionary<string, object?>? metadata, string? document, string? uri)
    {
        var fromFreeList = TryPeekFree(out var slot);
        if (!fromFreeList)
        {
            slot = _nextSlot;
        }

        var metadataJson = MetadataCodec.Encode(metadata);
        store.WriteBytes += id.Length + (embedding.Length * sizeof(float)) + (document?.Length ?? 0) + (metadataJson?.Length ?? 0) + (uri?.Length ?? 0);
        var insert = _insert ??= new InsertStatement(store, state.Id, _seq);
        var blob = insert.Row(id, slot, document, metadataJson, embedding, uri);
        insert.Vsum.Value = RecordChecksum.Vector(id, blob);
        if (insert.Command.ExecuteScalar() is not long)
        {
            // The id exists: the slot stays free for the next record.
            return false;
        }

        if (fromFreeList)
        {
            _takenFree.Add(slot);
            TakeFree();
        }
        else
        {
            _nextSlot++;
        }

        _touched = true;
        _derived |= metadataJson is not null || document is not null;
        _wroteDocument |= document is not null;
        _inserted.Add(slot);
        _rows.Add((slot, embedding));
        return true;
    }

    /// <summary>The next free slot this batch has not taken yet, in the stack's pop order (the stack itself is left as it is).</summary>
    private bool TryPeekFree(out int slot)
    {
        if (!_freeStarted)
        {
            _free = state.FreeSlots.GetEnumerator();
            _freeStarted = true;
            _freeExhausted = !_free.MoveNext();
        }

        if (_freeExhausted)
        {
            slot = 0;
            return false;
        }

        slot = _free.Current;
        return true;
    }

    /// <summary>Takes the peeked free slot (after its record was inserted).</summary>
    private void TakeFree() => _freeExhausted = !_free.MoveNext();

    /// <summary>
    /// Replaces a record's fields. Its filter rows and document index entry are dropped here and rebuilt for
    /// every record of the batch at once in <see cref="Finish"/>. A null <paramref name="document"/> or <paramref name="uri"/>
    /// keeps the stored one.
    /// </summary>
    public void Replace(string id, StoredRecord existing, float[]? embedding, Dictionary<string, object?>? metadataUpdate, string? document, string? uri)
    {
        state.DocumentTally.RecordsReplaced();
        var metadataJson = metadataUpdate is null
            ? existing.MetadataJson
            : MetadataCodec.Encode(MetadataCodec.Merge(MetadataCodec.Decode(existing.MetadataJson), metadataUpdate));
        store.WriteBytes += ((embedding?.Length ?? 0) * sizeof(float)) + (document?.Length ?? 0) + (metadataJson?.Length ?? 0) + (uri?.Length ?? 0);
        if (state.FilterRowsKept)
        {
            var delete = store.WriteCommand("DELETE FROM record_meta WHERE rid = $rid");
            delete.Parameters.AddWithValue("$rid", existing.Rid);
            delete.ExecuteNonQuery();
        }
        if (existing.Document is not null)
        {
            UnindexDocument(existing.Rid);
        }

        var command = store.WriteCommand(embedding is null
            ? "UPDATE records SET seq = $seq, document = $doc, metadata = $meta, uri = $uri, psum = $psum WHERE rid = $rid"
            : "UPDATE records SET seq = $seq, document = $doc, metadata = $meta, uri = $uri, psum = $psum, embedding = $emb, vsum = $vsum WHERE rid = $rid");
        var newDocument = document ?? existing.Document;
        var newUri = uri ?? existing.Uri;
        command.Parameters.AddWithValue("$seq", _seq);
        command.Parameters.AddWithValue("$doc", (object?)newDocument ?? DBNull.Value);
        command.Parameters.AddWithValue("$meta", (object?)metadataJson ?? DBNull.Value);
        command.Parameters.AddWithValue("$uri", (object?)newUri ?? DBNull.Value);
        command.Parameters.AddWithValue("$psum", RecordChecksum.Payload(id, newDocument, metadataJson, newUri));
        command.Parameters.AddWithValue("$rid", existing.Rid);
        if (embedding is not null)
        {
            var blob = ToBlob(embedding);
            command.Parameters.AddWithValue("$emb", blob);
            command.Parameters.AddWithValue("$vsum", RecordChecksum.Vector(id, blob));
            _rows.Add((existing.Slot, embedding));
        }

        command.ExecuteNonQuery();
        _cleared.Add((existing.Slot, existing.MetadataJson));
        _touched = true;
        _derived |= metadataJson is not null || newDocument is not null;
        _wroteDocument |= newDocument is not null;
    }

    public void Remove(StoredRecord existing)
    {
        state.DocumentTally.RecordsReplaced();
        if (existing.Document is not null)
        {
            UnindexDocument(existing.Rid);
        }

        foreach (var sql in (ReadOnlySpan<string>)["DELETE FROM record_meta WHERE rid = $rid", "DELETE FROM records WHERE rid = $rid"])
        {
            if (!state.FilterRowsKept && sql.Contains("record_meta", StringComparison.Ordinal))
            {
                continue;
            }

            var command = store.WriteCommand(sql);
            command.Parameters.AddWithValue("$rid", existing.Rid);
            command.ExecuteNonQuery();
        }

        _removed.Add(existing.Slot);
        _cleared.Add((existing.Slot, existing.MetadataJson));
    }

    /// <summary>The SQL that ends the batch: its filter rows and document index entries, and the collection row.</summary>
    public void Finish()
    {
        if (_derived)
        {
            // Set-based: the filter rows and document index entries of every record this batch wrote (they
            // carry its sequence number), two statements per batch instead of two per record. A batch whose
            // records hold neither metadata nor a document has none: it skips both.
            IndexBatch();
        }

        // Only a batch that stored a vector fixes the dimension (an update matching no id does not); the catalog row's
        // checksum covers it, so it is rewritten with it.
        var fixesDimension = state.Dimension is null && _rows.Count > 0 && _dimension is not null;
        long csum = 0;
        if (fixesDimension)
        {
            // The metadata text exactly as stored (once per collection: the first batch with a vector).
            var stored = store.WriteCommand("SELECT metadata FROM collections WHERE id = $c");
            stored.Parameters.AddWithValue("$c", state.Id);
            csum = RecordChecksum.CollectionRow(state, _dimension, state.Name, state.Configuration.EfSearch, stored.ExecuteScalar() as string);
        }

        var command = store.WriteCommand(fixesDimension
            ? "UPDATE collections SET last_seq = $seq, dimension = $dim, csum = $csum WHERE id = $c"
            : "UPDATE collections SET last_seq = $seq WHERE id = $c");
        command.Parameters.AddWithValue("$seq", _seq);
        if (fixesDimension)
        {
            command.Parameters.AddWithValue("$dim", _dimension!.Value);
            command.Parameters.AddWithValue("$csum", csum);
        }

        command.Parameters.AddWithValue("$c", state.Id);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// The last steps before the commit, with the collection's lock held exclusively: the batch's filter rows are read
    /// for the in-memory filter index when one exists now (a reader may have built it, from the rows committed before
    /// this batch, while the batch inserted), and the arena is made to hold the batch's slots.
    /// </summary>
    public void Seal()
    {
        if (_touched && state.FilterIndex is not null)
        {
            _filterRows = _derived ? ReadFilterRows() : [];
        }

        ReserveArena();
    }

    /// <summary>
    /// Makes the arena hold every slot the batch writes, its space allocated on disk, while the transaction can still
    /// roll back: a full disk fails the batch here (<see cref="ChromaStorageFullException"/>) instead of faulting on a
    /// mapped page in <see cref="Apply"/>, after the commit.
    /// </summary>
    private void ReserveArena()
    {
        if (_rows.Count == 0 || state.ArenaInvalid)
        {
            return;
        }

        long slots = 0;
        foreach (var (slot, _) in _rows)
        {
            slots = Math.Max(slots, slot + 1L);
        }

        var path = folder.ArenaPath(state.Uuid);
        var dimension = state.Dimension ?? _dimension!.Value;
        var bytes = state.Arena?.BytesToHold(slots) ?? VectorArena.HeaderSize + (Math.Max(VectorArena.MinCapacity, slots) * ((dimension + 15) & ~15) * sizeof(float));
        try
        {
            if (state.Arena is null)
            {
                Internal.OwnerOnly.CreateFolder(Path.GetDirectoryName(path)!);
                _createdArena = state.Arena = VectorArena.Create(path, dimension, Math.Max(VectorArena.MinCapacity, slots));
                state.Arena.Cold = state.Configuration.VectorStorage != VectorStorage.Float32;
            }
            else
            {
                state.Arena.Reserve(slots);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw StorageErrors.Map(ex, path, bytes);
        }
    }

    /// <summary>The transaction failed: delete the arena this batch created, if any (its slots were never taken from the collection). Idempotent.</summary>
    public void Abandon()
    {
        if (_abandoned)
        {
            return;
        }

        _abandoned = true;
        if (_createdArena is { } arena && ReferenceEquals(state.Arena, arena))
        {
            state.Arena = null;
            arena.Dispose();
            try
            {
                VectorArena.Delete(folder.ArenaPath(state.Uuid));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind, it is unclean and rejected (then replaced) on the next load.
            }
        }
    }

    /// <summary>The transaction committed: make the batch visible in memory and in the arena.</summary>
    public void Apply()
    {
        // The slots the batch chose become taken: its free ones were the top of the free list, in pop order.
        for (var i = 0; i < _takenFree.Count; i++)
        {
            var taken = state.FreeSlots.Pop();
            System.Diagnostics.Debug.Assert(taken == _takenFree[i], "the free list changed under a write batch");
        }

        state.NextSlot = _nextSlot;
        state.LastSeq = _seq;
        state.LastChain = _chain;
        if (state.Dimension is null && _dimension is not null && _rows.Count > 0)
        {
            state.Dimension = _dimension;
        }

        foreach (var slot in _removed)
        {
            state.SetLive(slot, false);
            state.FreeSlots.Push(slot);
        }

        foreach (var slot in _inserted)
        {
            state.SetLive(slot, true);
        }

        foreach (var (slot, _) in _cleared)
        {
            state.Replaced(slot);
        }

        state.Count += _inserted.Count - _removed.Count;
        if (_documentsPending)
        {
            store.Documents?.Written(state.Id);
        }

        ApplyFilterIndex();
        if (_rows.Count == 0)
        {
            state.Indexer?.OnWritten([], _removed);
            return;
        }

        try
        {
            if (state.Arena is null)
            {
                // Only when the arena was invalid before the batch (ReserveArena skipped it): rebuilt on next access.
                state.ArenaInvalid = true;
                return;
            }

            foreach (var (slot, vector) in _rows)
            {
                state.Arena.WriteVector(slot, vector, state.Configuration.Space);
            }

            state.Indexer?.OnWritten(_rows.ConvertAll(r => r.Slot), _removed);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The batch is durable in SQLite; the arena is derived. Rebuild it from SQLite on next access.
            state.ArenaInvalid = true;
        }
    }

    /// <summary>
    /// Writes the filter rows of the batch's records from their metadata JSON when the collection keeps them
    /// (<see cref="CollectionState.FilterRowsKept"/>): scalars as elem = 0, each array element as elem = 1; strings in s,
    /// integers and floats in n (REAL, so they compare numerically), bools in b. Then indexes their documents in the
    /// FTS5 trigram table — unless the collection's documents are indexed after the batch (<see cref="CollectionState.DocumentsDeferred"/>):
    /// then they stay pending (scanned exactly by <c>where_document</c>) until the store's background document indexer takes them.
    /// </summary>
    private void IndexBatch()
    {
        if (state.FilterRowsKept)
        {
            var meta = store.WriteCommand("INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b) " + FilterRows.Derived("r.collection_id = $c AND r.seq = $seq"));
            meta.Parameters.AddWithValue("$c", state.Id);
            meta.Parameters.AddWithValue("$seq", _seq);
            meta.ExecuteNonQuery();
        }

        if (state.DocumentsDeferred)
        {
            _documentsPending |= _wroteDocument;
            return;
        }

        var documents = store.WriteCommand("""
            INSERT INTO documents_fts(rowid, document)
            SELECT rid, document FROM records WHERE collection_id = $c AND seq = $seq AND document IS NOT NULL
            """);
        documents.Parameters.AddWithValue("$c", state.Id);
        documents.Parameters.AddWithValue("$seq", _seq);
        documents.ExecuteNonQuery();
    }

    /// <summary>
    /// The filter rows of this batch's records, derived from their metadata by the statement that writes <c>record_meta</c>
    /// (inside the transaction; whether or not the collection keeps the rows in SQLite).
    /// </summary>
    private List<MetadataFilterIndex.Row> ReadFilterRows()
    {
        var command = store.WriteCommand("SELECT slot, key, elem, s, n, b FROM (" + FilterRows.Derived("r.collection_id = $c AND r.seq = $seq", "r.slot AS slot") + ")");
        command.Parameters.AddWithValue("$c", state.Id);
        command.Parameters.AddWithValue("$seq", _seq);
        var rows = new List<MetadataFilterIndex.Row>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(MetadataFilterIndex.ReadRow(reader));
        }

        return rows;
    }

    /// <summary>Brings the in-memory filter index (if built) in step with the committed batch, or drops it past its budget.</summary>
    private void ApplyFilterIndex()
    {
        if (state.FilterIndex is not { } index || (_cleared.Count == 0 && _filterRows is null))
        {
            return;
        }

        state.FilterIndexSaved = false;
        try
        {
            var bytes = index.Apply(_cleared, _filterRows ?? [], state.NextSlot);
            if (bytes > filterIndexBudget)
            {
                state.FilterIndex = null;
                state.FilterIndexOverBudget = true;
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or OutOfMemoryException)
        {
            // The batch is durable; the index is derived. Filter in SQL from now on rather than trust it.
            state.FilterIndex = null;
            state.FilterIndexOverBudget = true;
        }
    }

    /// <summary>Takes a record's stored document out of the FTS5 index, when the index holds it (<see cref="PendingDocuments"/>), before the record changes.</summary>
    private void UnindexDocument(long rid)
    {
        var command = store.WriteCommand(PendingDocuments.UnindexStatement);
        command.Parameters.AddWithValue("$rid", rid);
        command.ExecuteNonQuery();
    }

    private static byte[] ToBlob(ReadOnlySpan<float> vector) => MemoryMarshal.AsBytes(vector).ToArray();

    /// <summary>
    /// The insert of <see cref="TryInsert"/>, prepared once per batch: its parameters are created once and only their
    /// values change per record (instead of ten parameter objects and a blob array per record). The blob buffer is
    /// reused: SQLite copies a bound blob when the statement runs.
    /// </summary>
    private sealed class InsertStatement
    {
        private readonly SqliteParameter _id;
        private readonly SqliteParameter _slot;
        private readonly SqliteParameter _document;
        private readonly SqliteParameter _metadata;
        private readonly SqliteParameter _embedding;
        private readonly SqliteParameter _uri;
        private readonly SqliteParameter _psum;
        private byte[] _blob = [];

        public InsertStatement(WriteSession store, long collection, long seq)
        {
            Command = store.WriteCommand("""
                INSERT INTO records(collection_id, id, slot, seq, document, metadata, embedding, psum, vsum, uri)
                VALUES ($c, $id, $slot, $seq, $doc, $meta, $emb, $psum, $vsum, $uri)
                ON CONFLICT(collection_id, id) DO NOTHING RETURNING rid
                """);
            Command.Parameters.AddWithValue("$c", collection);
            Command.Parameters.AddWithValue("$seq", seq);
            _id = Command.Parameters.Add("$id", SqliteType.Text);
            _slot = Command.Parameters.Add("$slot", SqliteType.Integer);
            _document = Command.Parameters.Add("$doc", SqliteType.Text);
            _metadata = Command.Parameters.Add("$meta", SqliteType.Text);
            _embedding = Command.Parameters.Add("$emb", SqliteType.Blob);
            _uri = Command.Parameters.Add("$uri", SqliteType.Text);
            _psum = Command.Parameters.Add("$psum", SqliteType.Integer);
            Vsum = Command.Parameters.Add("$vsum", SqliteType.Integer);
        }

        public SqliteCommand Command { get; }

        public SqliteParameter Vsum { get; }

        /// <summary>Sets one record's values (all but <see cref="Vsum"/>); returns the embedding's bytes as they will be stored.</summary>
        public ReadOnlySpan<byte> Row(string id, int slot, string? document, string? metadataJson, float[] embedding, string? uri)
        {
            var bytes = MemoryMarshal.AsBytes(embedding.AsSpan());
            if (_blob.Length != bytes.Length)
            {
                _blob = new byte[bytes.Length];
                _embedding.Value = _blob;
            }

            bytes.CopyTo(_blob);
            _id.Value = id;
            _slot.Value = slot;
            _document.Value = (object?)document ?? DBNull.Value;
            _metadata.Value = (object?)metadataJson ?? DBNull.Value;
            _uri.Value = (object?)uri ?? DBNull.Value;
            _psum.Value = RecordChecksum.Payload(id, document, metadataJson, uri);
            return _blob;
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"RecordWriter(seq {_seq}, {_inserted.Count} inserted, {_removed.Count} removed)");
}
