using EmbeddedChroma.Engine;
using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

// add / upsert / update / delete: validate everything first, then one SQLite transaction, then the arena.
public sealed partial class Collection
{
    /// <summary>
    /// Adds records. Ids that already exist are left unchanged (Chroma ignores them). The first add fixes
    /// the collection's dimension. The batch is all or nothing.
    /// </summary>
    /// <param name="ids">Unique, non-empty ids (no duplicates within the batch).</param>
    /// <param name="embeddings">One finite embedding per id, or <see langword="null"/> to have the collection's embedding generator embed <paramref name="documents"/>.</param>
    /// <param name="metadatas">Optional metadata per id (string, integer, float, bool or non-empty arrays of one of those).</param>
    /// <param name="documents">Optional document per id.</param>
    /// <param name="uris">Optional uri per id (Chroma's <c>uris</c>; a <see langword="null"/> entry stores none).</param>
    /// <exception cref="ChromaValidationException">Any record is invalid; nothing is written.</exception>
    public void Add(IReadOnlyList<string> ids, IReadOnlyList<float[]>? embeddings = null, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null, IReadOnlyList<string?>? documents = null, IReadOnlyList<string?>? uris = null) =>
        WriteSync(RecordWriteMode.Add, ChromaActions.Add, ids, embeddings, metadatas, documents, uris);

    /// <summary>
    /// Inserts new ids; for existing ids replaces the embedding, merges metadata keys (a null value removes
    /// a key) and replaces the document and the uri when one is given.
    /// </summary>
    /// <exception cref="ChromaValidationException">Any record is invalid; nothing is written.</exception>
    public void Upsert(IReadOnlyList<string> ids, IReadOnlyList<float[]>? embeddings = null, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null, IReadOnlyList<string?>? documents = null, IReadOnlyList<string?>? uris = null) =>
        WriteSync(RecordWriteMode.Upsert, ChromaActions.Upsert, ids, embeddings, metadatas, documents, uris);

    /// <summary>
    /// Adds a batch of records (as <see cref="Add(IReadOnlyList{string}, IReadOnlyList{float[]}?, IReadOnlyList{IReadOnlyDictionary{string, MetadataValue?}?}?, IReadOnlyList{string?}?, IReadOnlyList{string?}?)"/>:
    /// documents without embeddings are embedded by the collection's generator first), reporting the records written
    /// to <paramref name="progress"/> (<see cref="ChromaProgress"/>: operation <c>"add"</c>, unit <c>"records"</c>, at
    /// most about a hundred reports) and stopping when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <remarks>
    /// All or nothing, cancellation included: a batch cancelled before its commit writes no record (the transaction
    /// rolls back, as for any failed batch); once the last record is written the commit is not interrupted, and the
    /// final report (<c>Total</c> of <c>Total</c>) follows it. An exception thrown by the progress callback fails the
    /// batch the same way and reaches the caller unchanged.
    /// </remarks>
    /// <exception cref="ChromaValidationException">Any record is invalid; nothing is written.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the batch committed; nothing is written.
    /// Besides <see cref="ChromaException"/>s it is the one exception a call lets through.</exception>
    public void Add(RecordBatch batch, IProgress<ChromaProgress>? progress = null, CancellationToken cancellationToken = default) =>
        AddAsync(batch, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Like <see cref="Add(RecordBatch, IProgress{ChromaProgress}?, CancellationToken)"/>: inserts new ids and updates existing ones (operation <c>"upsert"</c>).</summary>
    /// <exception cref="ChromaValidationException">Any record is invalid; nothing is written.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the batch committed; nothing is written.</exception>
    public void Upsert(RecordBatch batch, IProgress<ChromaProgress>? progress = null, CancellationToken cancellationToken = default) =>
        UpsertAsync(batch, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// Updates existing records; ids that do not exist are ignored. Metadata keys merge (a null value
    /// removes the key); an embedding, document or uri given replaces the old one (a <see langword="null"/> entry keeps it).
    /// </summary>
    /// <exception cref="ChromaValidationException">Any record is invalid; nothing is written.</exception>
    public void Update(IReadOnlyList<string> ids, IReadOnlyList<float[]>? embeddings = null, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null, IReadOnlyList<string?>? documents = null, IReadOnlyList<string?>? uris = null) =>
        WriteSync(RecordWriteMode.Update, ChromaActions.Update, ids, embeddings, metadatas, documents, uris);

    /// <summary>
    /// The synchronous writes: documents without embeddings go through the collection's embedding generator (as the
    /// asynchronous calls do, key checked first), everything else is written directly.
    /// </summary>
    private void WriteSync(
        RecordWriteMode mode,
        string action,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        IReadOnlyList<string?>? documents,
        IReadOnlyList<string?>? uris)
    {
        if (embeddings is null && documents is not null && _generator is not null && ids is not null)
        {
            WriteAsync(mode, action, new RecordBatch { Ids = ids, Metadatas = metadatas, Documents = documents, Uris = uris }, null, CancellationToken.None)
                .GetAwaiter().GetResult();
            return;
        }

        Write(mode, action, ids!, embeddings, metadatas, documents, uris);
    }

    /// <summary>Observes the write (unless <paramref name="gated"/>: the text write that gated it observes it), then runs it.</summary>
    private void Write(
        RecordWriteMode mode,
        string action,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        IReadOnlyList<string?>? documents,
        IReadOnlyList<string?>? uris,
        bool generated = false,
        bool gated = false,
        ProgressReporter? progress = null)
    {
        using var op = gated ? null : Observe(OperationName(mode));
        try
        {
            op?.BatchSize(Telemetry.CountOf(ids));
            WriteCore(mode, action, ids, embeddings, metadatas, documents, uris, generated, gated, progress);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void WriteCore(
        RecordWriteMode mode,
        string action,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        IReadOnlyList<string?>? documents,
        IReadOnlyList<string?>? uris,
        bool generated = false,
        bool gated = false,
        ProgressReporter? progress = null)
    {
        if (!gated)
        {
            // A text write checked the key before embedding (WriteAsync): one call counts once in usage and limits.
            Gate(action);
        }

        var normalized = ValidateRecords(mode, ids, metadatas, documents, uris);
        Validation.SameLength(embeddings, ids.Count, "embeddings");
        var operation = mode.ToString().ToLowerInvariant();
        if (embeddings is null && mode != RecordWriteMode.Update)
        {
            throw new ChromaValidationException(
                _generator is null ? $"{operation}: embeddings are required (collection '{Echo.Text(State.Name)}' has no embedding generator)."
                : documents is null ? $"{operation}: neither embeddings nor documents were given."
                : $"{operation}: embeddings are missing; call {mode}Async or {mode}TextsAsync to generate them from the documents.");
        }

        if (embeddings is null && documents is not null && _generator is not null && !generated)
        {
            throw new ChromaValidationException($"{operation}: documents changed without embeddings; call UpdateAsync or UpdateTextsAsync to regenerate their embeddings.");
        }

        var dimension = embeddings is null ? (int?)null : Validation.Embeddings(embeddings, State.Dimension, Limits);
        progress?.ThrowIfCancellationRequested();
        _engine.Write(mode, ids, dimension, embeddings, normalized, documents, uris, progress);
        Refresh(); // the first add fixes the dimension
    }

    /// <summary>
    /// Checks everything of a batch but its embeddings (ids, list lengths, metadata, documents, uris) and returns the normalized
    /// metadata. A text write runs it before embedding too, so an invalid batch never has its texts sent to the generator.
    /// </summary>
    private Dictionary<string, object?>?[]? ValidateRecords(
        RecordWriteMode mode,
        IReadOnlyList<string> ids,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        IReadOnlyList<string?>? documents,
        IReadOnlyList<string?>? uris)
    {
        Validation.Ids(ids, Limits);
        Validation.SameLength(metadatas, ids.Count, "metadatas");
        Validation.SameLength(documents, ids.Count, "documents");
        Validation.SameLength(uris, ids.Count, "uris");
        Dictionary<string, object?>?[]? normalized = null;
        if (metadatas is not null)
        {
            normalized = new Dictionary<string, object?>?[ids.Count];
            for (var i = 0; i < ids.Count; i++)
            {
                normalized[i] = MetadataCodec.Normalize(metadatas[i], $"metadatas[{i}] (id '{Echo.Text(ids[i])}')", Limits, allowNullValues: mode != RecordWriteMode.Add);
            }
        }

        if (documents is not null)
        {
            Validation.Documents(documents, Limits);
        }

        if (uris is not null)
        {
            Validation.Uris(uris, ids, Limits);
        }

        return normalized;
    }

    /// <summary>
    /// Deletes records chosen by <paramref name="ids"/> and/or filters (all given selectors must match)
    /// and returns how many were deleted.
    /// </summary>
    /// <param name="ids">Only these ids (missing ids are skipped).</param>
    /// <param name="where">A metadata filter.</param>
    /// <param name="whereDocument">A document filter.</param>
    /// <param name="limit">
    /// At most this many (Chroma's <c>limit</c>): the first matching records in insertion order; needs
    /// <paramref name="where"/> or <paramref name="whereDocument"/>, as on Chroma's server. 0 deletes nothing.
    /// </param>
    /// <exception cref="ChromaValidationException">No selector was given; a limit without a filter; a negative limit.</exception>
    public int Delete(IReadOnlyList<string>? ids = null, Where? where = null, WhereDocument? whereDocument = null, int? limit = null)
    {
        using var op = Observe(Telemetry.Ops.Delete);
        try
        {
            return DeleteCore(ids, where, whereDocument, limit);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private int DeleteCore(IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument, int? limit)
    {
        Gate(ChromaActions.Delete);
        if (ids is null && where is null && whereDocument is null)
        {
            throw new ChromaValidationException("delete: give ids, where or where_document; deleting every record needs an explicit selector.");
        }

        RecordRules.DeleteLimit(limit, hasFilter: where is not null || whereDocument is not null);

        if (ids is not null)
        {
            Validation.Ids(ids, Limits);
        }

        return _engine.Delete(ids, where, whereDocument, limit, Store.Compactor.MaybeSchedule);
    }

    /// <summary>
    /// Reclaims the space of deleted records: live records move into a dense range of vector slots, the vector file
    /// is rewritten smaller (atomically: a temporary file renamed over it), the HNSW graph is rebuilt over the live
    /// records in the background (queries stay exact-correct meanwhile: records not yet linked are scanned exactly),
    /// and the SQLite file gives its free pages back and truncates its write-ahead log. A store created by an older
    /// version without incremental auto-vacuum is converted by a one-time <c>VACUUM</c> (a full rewrite of the file).
    /// No record, id, embedding, metadata or document changes; a process kill at any point loses nothing.
    /// </summary>
    /// <remarks>
    /// Writes to the store wait while it runs; queries keep running, except for a short swap at the end. A collection
    /// with no deleted records is left as it is (a no-op apart from the SQLite shrink). A collection that still keeps its
    /// filter rows in SQLite (written by an older version, or while the in-memory filter index was disabled) stops keeping
    /// them when that index answers its <c>where</c>, so later writes skip them. Compaction also runs
    /// automatically past the thresholds of <see cref="ChromaStoreOptions.AutoCompaction"/>.
    /// </remarks>
    /// <returns>What was reclaimed: slots and store-folder bytes before and after.</returns>
    /// <exception cref="ChromaNotFoundException">The collection was deleted.</exception>
    /// <exception cref="ChromaCorruptStoreException">The SQLite file is damaged.</exception>
    public CompactionResult Compact()
    {
        using var op = Observe(Telemetry.Ops.Compact);
        try
        {
            return CompactCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>
    /// <see cref="Compact()"/> reporting its work to <paramref name="progress"/> (<see cref="ChromaProgress"/>: operation
    /// <c>"compact"</c>, unit <c>"records"</c>: the records moved to lower slots, then the vectors copied into the new
    /// vector file) and stopping when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <remarks>
    /// Cancelled before its commit, a compaction rolls back: no slot moved, the temporary vector file is deleted, the
    /// store is exactly as before (the graph, detached only at the commit, stays). The commit and the short steps after it
    /// (the swap, giving SQLite's free pages back) are not interrupted; the final report (<c>Total</c> of <c>Total</c>)
    /// follows them.
    /// </remarks>
    /// <exception cref="ChromaNotFoundException">The collection was deleted.</exception>
    /// <exception cref="ChromaCorruptStoreException">The SQLite file is damaged.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the commit; nothing changed. Besides
    /// <see cref="ChromaException"/>s it is the one exception a call lets through.</exception>
    public CompactionResult Compact(IProgress<ChromaProgress>? progress, CancellationToken cancellationToken = default)
    {
        using var op = Observe(Telemetry.Ops.Compact);
        try
        {
            return CompactCore(ProgressReporter.Create(Telemetry.Ops.Compact, "records", progress, cancellationToken));
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private CompactionResult CompactCore(ProgressReporter? progress = null)
    {
        Gate(ChromaActions.Compact);
        progress?.ThrowIfCancellationRequested();
        return Store.Compact(_engine, progress);
    }
}
