using EmbeddedChroma.Engine;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// A collection of records (id, embedding, metadata, document), with ChromaDB's operations. Obtained from
/// a <see cref="ChromaClient"/>; every call re-checks the caller's key.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Writes (add, upsert, update, delete, modify) are serialized store-wide and are all or
/// nothing; reads and queries run concurrently and see a whole write batch or none of it.</para>
/// <para>The properties (<see cref="Name"/>, <see cref="Metadata"/>, <see cref="Configuration"/>, <see cref="Dimension"/>)
/// never read the store: they are a snapshot taken when the handle was obtained, refreshed by each call of this
/// handle that passes the key check (and by its own <see cref="Modify"/>). So a handle whose key was revoked or
/// disabled shows nothing newer than its last allowed call, and property getters never throw. Changes made through
/// another handle show after this handle's next call, or in a new handle from <see cref="ChromaClient.GetCollection(string, Microsoft.Extensions.AI.IEmbeddingGenerator{string, Microsoft.Extensions.AI.Embedding{float}})"/>.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Chroma's own name for the concept.")]
public sealed partial class Collection
{
    // Size: About 530 lines over three partial files, about half of them XML docs of the public surface. What is left
    // is the public type's job: the key gate, validation and result shaping; the engine work is in
    // Engine.CollectionEngine.

    private readonly ChromaClient _client;
    private readonly CollectionEngine _engine;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _generator;

    /// <summary>What the properties show: see the remarks on the type.</summary>
    private volatile Snapshot _snapshot;

    internal Collection(ChromaClient client, CollectionEngine engine, IEmbeddingGenerator<string, Embedding<float>>? generator)
    {
        _client = client;
        _engine = engine;
        // A generator given by the caller wins; otherwise the one the collection remembers (resolved on first use).
        _generator = generator ?? EmbeddingFunctions.For(engine.State.Configuration.EmbeddingFunction);
        _snapshot = Snapshot.Of(engine.State);
    }

    /// <summary>The engine's state of the collection (read only here: the engine changes it).</summary>
    private CollectionState State => _engine.State;

    private ChromaStore Store => _client.Store;

    private StoreLimits Limits => Store.Limits;

    /// <summary>The collection's id.</summary>
    public Guid Id => State.Uuid;

    /// <summary>The collection's name, as of this handle's last allowed call (see the remarks on the type).</summary>
    public string Name => _snapshot.Name;

    /// <summary>The tenant it belongs to.</summary>
    public string Tenant => State.Tenant;

    /// <summary>The database it belongs to.</summary>
    public string Database => State.Database;

    /// <summary>The collection's metadata, or <see langword="null"/>, as of this handle's last allowed call (see the remarks on the type).</summary>
    public IReadOnlyDictionary<string, MetadataValue>? Metadata => _snapshot.Typed;

    /// <summary>The index configuration, as of this handle's last allowed call (see the remarks on the type).</summary>
    public CollectionConfiguration Configuration => _snapshot.Configuration;

    /// <summary>
    /// The embedding dimension, fixed by the first add; <see langword="null"/> before it (as of this handle's last
    /// allowed call, see the remarks on the type).
    /// </summary>
    public int? Dimension => _snapshot.Dimension;

    /// <summary>Checks the store is open, the key may do <paramref name="action"/> here, and the collection still exists; then refreshes the properties.</summary>
    private void Gate(string action)
    {
        _client.Gate(action, new ResourceRef(State.Tenant, State.Database, State.Name));
        ThrowIfDeleted();
        Refresh();
    }

    /// <summary>Takes a new snapshot for the properties; call only after the key check passed. Allocates only when something changed.</summary>
    private void Refresh()
    {
        if (!_snapshot.IsCurrent(State))
        {
            _snapshot = Snapshot.Of(State);
        }
    }

    private sealed record Snapshot(string Name, IReadOnlyDictionary<string, object>? Metadata, IReadOnlyDictionary<string, MetadataValue>? Typed, CollectionConfiguration Configuration, int? Dimension)
    {
        public static Snapshot Of(CollectionState state) => new(state.Name, state.Metadata, MetadataCodec.Typed(state.Metadata), state.Configuration, state.Dimension);

        /// <summary>True when <paramref name="state"/> still holds the same objects (each change replaces them).</summary>
        public bool IsCurrent(CollectionState state) =>
            ReferenceEquals(Name, state.Name) && ReferenceEquals(Metadata, state.Metadata)
            && ReferenceEquals(Configuration, state.Configuration) && Dimension == state.Dimension;
    }

    private void ThrowIfDeleted() => _engine.ThrowIfDeleted();

    /// <summary>Starts observing a call on this collection (span and metrics; null when nothing listens).</summary>
    private Telemetry.Operation? Observe(string operation) => Telemetry.Start(operation, State.Tenant, State.Database, State.Name);

    private static string OperationName(RecordWriteMode mode) => mode switch
    {
        RecordWriteMode.Add => Telemetry.Ops.Add,
        RecordWriteMode.Upsert => Telemetry.Ops.Upsert,
        _ => Telemetry.Ops.Update,
    };

    /// <summary>Number of records.</summary>
    public int Count()
    {
        using var op = Observe(Telemetry.Ops.Count);
        try
        {
            return CountCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private int CountCore()
    {
        Gate(ChromaActions.Count);
        return _engine.Count();
    }

    /// <summary>
    /// How many records the background HNSW index has not linked yet (Chroma's <c>indexing_status</c>, which Chroma's
    /// local server leaves unimplemented). Queries find unlinked records too, by scanning them exactly; the status
    /// tells how much of a query runs through the graph. Needs the key's permission to count records.
    /// </summary>
    /// <remarks>Not part of <see cref="IChromaCollection"/>: Chroma's local server cannot answer it, so code written against the contract could not rely on it.</remarks>
    /// <exception cref="ChromaNotFoundException">The collection was deleted.</exception>
    public IndexingStatus GetIndexingStatus()
    {
        Gate(ChromaActions.Count);
        var (total, unindexed) = _engine.IndexingStatus();
        return new IndexingStatus(total - unindexed, unindexed, total) { UnindexedDocuments = _engine.PendingDocumentCount() };
    }

    /// <summary>
    /// How the collection's vector file is used: live records and the slots allocated, whose difference is the dead
    /// slots deleted records left (reused by later writes; <see cref="Compact()"/> removes them). Needs the key's
    /// permission to count records.
    /// </summary>
    /// <remarks>Embedded only, like <see cref="GetIndexingStatus"/>: a server has no such notion to report.</remarks>
    /// <exception cref="ChromaNotFoundException">The collection was deleted.</exception>
    public CollectionSlots GetSlots()
    {
        Gate(ChromaActions.Count);
        var (records, allocated) = _engine.Slots();
        return new CollectionSlots(records, allocated);
    }

    /// <summary>
    /// Brings the indexes up to date now: waits until the background indexer has linked every record written so far,
    /// reporting to <paramref name="progress"/> (<see cref="ChromaProgress"/>: operation <c>"build_index"</c>, unit
    /// <c>"records"</c>: the records linked out of those pending when the call began, looked at every 20 ms) and
    /// returns the status reached. A collection below the store's HNSW threshold has no graph (an exact scan is faster
    /// there): the call returns at once, every record counted as indexed. Then indexes, in the calling thread, the
    /// documents not yet in the document index (<see cref="IndexingStatus.UnindexedDocuments"/>). Needs the key's
    /// permission to count records.
    /// </summary>
    /// <remarks>
    /// Cancelling stops the wait, not the index: the background indexer keeps linking, queries stay exact-correct
    /// meanwhile (records not linked yet are scanned exactly), and closing the store saves the graph so the next open
    /// resumes from it. A background indexer that failed has dropped its graph (queries scan exactly; the next open
    /// rebuilds it): see <see cref="ChromaStore.GetStatus"/>'s <c>IndexFailures</c>.
    /// </remarks>
    /// <exception cref="ChromaNotFoundException">The collection was deleted.</exception>
    /// <exception cref="ChromaStoreClosedException">The store was closed meanwhile.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the index caught up. Besides
    /// <see cref="ChromaException"/>s it is the one exception a call lets through.</exception>
    public IndexingStatus BuildIndex(IProgress<ChromaProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var op = Observe(Telemetry.Ops.BuildIndex);
        try
        {
            Gate(ChromaActions.Count);
            _engine.BuildIndex(ProgressReporter.Create(Telemetry.Ops.BuildIndex, "records", progress, cancellationToken));
            var (total, unindexed) = _engine.IndexingStatus();
            return new IndexingStatus(total - unindexed, unindexed, total) { UnindexedDocuments = _engine.PendingDocumentCount() };
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>
    /// Renames the collection, replaces its metadata, and/or changes <c>ef_search</c> or <c>vector_storage</c>. The distance
    /// space, <c>ef_construction</c> and <c>max_neighbors</c> cannot change.
    /// </summary>
    /// <remarks>
    /// A new <see cref="CollectionConfigurationUpdate.VectorStorage"/> is recorded at once (a reopen uses it) and the graph is
    /// rebuilt for it in the background: until it is, the records not linked yet are scanned exactly, so results stay
    /// correct, and <see cref="GetIndexingStatus"/> counts them as unindexed (<see cref="BuildIndex"/> waits for them). The
    /// same storage again changes nothing.
    /// </remarks>
    /// <param name="name">A new name, or <see langword="null"/> to keep it.</param>
    /// <param name="metadata">New metadata that replaces the old, or <see langword="null"/> to keep it.</param>
    /// <param name="configuration">A configuration change, or <see langword="null"/>.</param>
    /// <exception cref="ChromaConflictException">Another collection of the database has the new name.</exception>
    /// <exception cref="ChromaValidationException">The name or metadata is invalid, a fixed setting would change, or the
    /// vector storage is unknown.</exception>
    /// <exception cref="ChromaReadOnlyException">The store was opened for reads only.</exception>
    public void Modify(string? name = null, IReadOnlyDictionary<string, MetadataValue?>? metadata = null, CollectionConfigurationUpdate? configuration = null)
    {
        using var op = Observe(Telemetry.Ops.Modify);
        try
        {
            ModifyCore(name, metadata, configuration);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void ModifyCore(string? name = null, IReadOnlyDictionary<string, MetadataValue?>? metadata = null, CollectionConfigurationUpdate? configuration = null)
    {
        if (name is not null)
        {
            Names.Validate(name, "collection");
        }

        var normalized = MetadataCodec.Normalize(metadata, $"collection '{Echo.Text(State.Name)}'", Limits, allowNullValues: false, scalarsOnly: true);
        var current = State.Configuration;
        var updated = current;
        if (configuration is not null)
        {
            if (configuration.Space is { } space && space != current.Space)
            {
                throw new ChromaValidationException($"The distance space of collection '{Echo.Text(State.Name)}' cannot be changed (it is '{CollectionConfiguration.SpaceName(current.Space)}').");
            }

            if (configuration.EfConstruction is { } efc && efc != current.EfConstruction)
            {
                throw new ChromaValidationException($"ef_construction of collection '{Echo.Text(State.Name)}' cannot be changed after creation.");
            }

            if (configuration.MaxNeighbors is { } m && m != current.MaxNeighbors)
            {
                throw new ChromaValidationException($"max_neighbors of collection '{Echo.Text(State.Name)}' cannot be changed after creation.");
            }

            if (configuration.EfSearch is { } efs)
            {
                updated = updated with { EfSearch = efs };
                updated.Validate();
            }

            if (configuration.VectorStorage is { } storage)
            {
                // A change rebuilds the compact rows and the graph in the background (CollectionEngine.ChangeStorage);
                // an unknown value is refused naming the allowed ones.
                updated = updated with { VectorStorage = storage };
                updated.Validate();
            }
        }

        Gate(ChromaActions.UpdateCollection);
        if (name is not null && name != State.Name)
        {
            // Collections are matched by name: the new name must be in the key's scope too, or a rename would move
            // the collection out of it (creating, in effect, a collection the key may not create).
            var renamed = new ResourceRef(State.Tenant, State.Database, name);
            if (!KeyRing.Covers(_client.Context.Record, renamed))
            {
                throw KeyRing.NotFound(renamed);
            }
        }

        Store.Catalog.Modify(_engine, name, normalized, updated);
        Refresh();
    }

    /// <summary>Waits until the background index has linked every write (tests and benchmarks).</summary>
    /// <exception cref="InvalidOperationException">The background indexer failed (its error is the inner exception).</exception>
    internal void WaitForIndex() => _engine.WaitForIndex();

    internal Storage.VectorIndexer? Indexer => State.Indexer;

    /// <summary>Benchmarks (the per-stage query profile): the engine behind this handle.</summary>
    internal CollectionEngine Engine => _engine;

    /// <summary>The collection's float32 arena and its compact rows, once loaded (tests).</summary>
    internal Storage.VectorArena? Arena => State.Arena;

    /// <summary>
    /// Bytes of the rows the graph walks, held in memory (benchmarks): the float16 copy of a float16 collection, else the
    /// float32 arena's rows (mapped), 0 before the first load.
    /// </summary>
    internal long RowsMemoryBytes => State.Arena is { } arena ? arena.Compact?.MemoryBytes ?? arena.Codes?.MemoryBytes ?? ((long)arena.SlotCount * arena.Stride * sizeof(float)) : 0;

    /// <inheritdoc/>
    public override string ToString() => $"Collection({Echo.Text(State.Tenant)}/{Echo.Text(State.Database)}/{Echo.Text(_snapshot.Name)})";
}
