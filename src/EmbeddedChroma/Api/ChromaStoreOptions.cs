using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmbeddedChroma;

/// <summary>
/// Limits and settings of a store. The per-request limits guard the process against requests that would exhaust
/// its memory; each one, when exceeded, is a <see cref="ChromaValidationException"/> naming the limit. The resource
/// caps (<see cref="MaxCollections"/>, <see cref="MaxDatabases"/>, <see cref="MaxTenants"/>) bound what a store may
/// hold; creating past one is a <see cref="ChromaLimitExceededException"/>.
/// </summary>
public sealed record ChromaStoreOptions
{
    /// <summary>Default of <see cref="MaxBatchSize"/>: 10,000 records per add / upsert / update / delete / get-by-ids call (Chroma's server allows 5,461).</summary>
    public const int DefaultMaxBatchSize = 10_000;

    /// <summary>Most records in one write call or ids in one selector.</summary>
    public int MaxBatchSize { get; init; } = DefaultMaxBatchSize;

    /// <summary>Largest <c>n_results</c> of one query (default 10,000).</summary>
    public int MaxResults { get; init; } = 10_000;

    /// <summary>Most query embeddings in one query call (default 1,000).</summary>
    public int MaxQueryEmbeddings { get; init; } = 1_000;

    /// <summary>Largest embedding dimension (default 65,536).</summary>
    public int MaxDimension { get; init; } = 65_536;

    /// <summary>Largest document, in UTF-16 characters (default 1,048,576).</summary>
    public int MaxDocumentLength { get; init; } = 1 << 20;

    /// <summary>Largest record id, in characters (default 1,024).</summary>
    public int MaxIdLength { get; init; } = 1_024;

    /// <summary>Most keys in one metadata object (default 256).</summary>
    public int MaxMetadataKeys { get; init; } = 256;

    /// <summary>Largest metadata string value (or array element) in characters (default 65,536).</summary>
    public int MaxMetadataValueLength { get; init; } = 65_536;

    /// <summary>Longest metadata array (default 1,024 elements).</summary>
    public int MaxMetadataArrayLength { get; init; } = 1_024;

    /// <summary>
    /// Live records from which a collection gets an HNSW graph (default 5,000); below it, queries scan exactly,
    /// which is faster there and exact. The graph is built and kept up to date in the background.
    /// </summary>
    public int HnswThreshold { get; init; } = 5_000;

    /// <summary>
    /// A filtered query on a collection with a graph scans exactly when the filter allows at most this many records
    /// (default 1,024). Above it the planner compares the collection's measured costs of that scan, of a scan of the
    /// allowed records' sign sketch (one bit per component, the best few re-ranked exactly) and of a graph walk (over the
    /// allowed records, reached through disallowed neighbours, or through every node), and takes the cheapest.
    /// </summary>
    public int FilteredExactScanLimit { get; init; } = 1_024;

    /// <summary>Benchmarks and tests: forces one plan for filtered queries on a graph (default: the cost model chooses).</summary>
    internal Internal.FilteredPlan FilteredPlan { get; init; }

    /// <summary>
    /// How long writes must pause before the background document indexer takes pending documents (<see cref="Engine.DocumentIndexer"/>):
    /// long enough to stay out of a stream of batches, short enough that documents written in one burst are indexed soon
    /// after. <see cref="Timeout.InfiniteTimeSpan"/>: only when a <c>where_document</c> read (<see cref="DocumentIndexOnRead"/>) or BuildIndex asks.
    /// </summary>
    internal TimeSpan DocumentIndexQuietPeriod { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Whether a <c>where_document</c> read has the collection's pending documents indexed at once (tests turn it off to keep them pending).</summary>
    internal bool DocumentIndexOnRead { get; init; } = true;

    /// <summary>
    /// Threads one <see cref="Collection.Query(IReadOnlyList{float[]}, int, Where?, WhereDocument?, IReadOnlyList{string}?, Include, int?)"/> call with several query embeddings may use to answer them
    /// (default: the processor count); 1 answers them one after another on the calling thread. Results are the same
    /// either way.
    /// </summary>
    public int MaxQueryParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Compact a collection automatically, in the background after a delete commits, once its freed vector slots
    /// reach both <see cref="AutoCompactionMinDeadSlots"/> and <see cref="AutoCompactionDeadFraction"/> of its
    /// allocated slots (default true). See <see cref="Collection.Compact()"/> for what compaction does.
    /// </summary>
    public bool AutoCompaction { get; init; } = true;

    /// <summary>
    /// Share of a collection's allocated slots that must be freed (deleted and not yet reused) before it is compacted
    /// automatically; strictly between 0 and 1 (default 0.5).
    /// </summary>
    public double AutoCompactionDeadFraction { get; init; } = 0.5;

    /// <summary>Fewest freed slots for an automatic compaction (default 10,000), so small collections are not rewritten for little gain.</summary>
    public int AutoCompactionMinDeadSlots { get; init; } = 10_000;

    /// <summary>Default of <see cref="FilterIndexMemoryBudget"/>: 256 MiB per collection.</summary>
    public const long DefaultFilterIndexMemoryBudget = 256L << 20;

    /// <summary>
    /// Most bytes (estimated) the in-memory metadata filter index of one collection may hold (default 256 MiB).
    /// The index is built on a collection's first query with a <c>where</c> filter and makes metadata filters
    /// cost microseconds instead of an SQLite query; a collection whose index would exceed the budget evaluates
    /// its filters in SQLite instead (same results, slower) until it is next loaded. 0 disables the index.
    /// Roughly: 8 bytes per record for each common numeric key, 4 for each common string key plus its distinct
    /// strings, 1 for each common bool key; rare keys and array values cost per value present.
    /// </summary>
    public long FilterIndexMemoryBudget { get; init; } = DefaultFilterIndexMemoryBudget;

    /// <summary>
    /// Receives the store's warnings and errors: a derived file (vector arena, HNSW graph) found damaged, stale or
    /// missing and rebuilt from SQLite, with the reason; a failure of a background task (graph maintenance,
    /// automatic compaction). No message ever contains a key or record contents. Discards everything by default.
    /// </summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Default of <see cref="MaxCollections"/>, <see cref="MaxDatabases"/> and <see cref="MaxTenants"/>: 10,000.</summary>
    public const int DefaultMaxCatalogEntries = 10_000;

    /// <summary>
    /// Most collections in the whole store, over all tenants and databases (default 10,000). Every collection
    /// opened keeps in-memory state, a lock, a memory-mapped arena and possibly an HNSW graph, so the cap is per
    /// store (per process). Creating one more throws <see cref="ChromaLimitExceededException"/>;
    /// <see cref="ChromaClient.GetOrCreateCollection"/> of an existing collection still works at the cap, and deleting
    /// a collection makes room again.
    /// </summary>
    public int MaxCollections { get; init; } = DefaultMaxCatalogEntries;

    /// <summary>Most databases in the whole store, the default database included (default 10,000).</summary>
    public int MaxDatabases { get; init; } = DefaultMaxCatalogEntries;

    /// <summary>Most tenants in the store, the default tenant included (default 10,000).</summary>
    public int MaxTenants { get; init; } = DefaultMaxCatalogEntries;

    /// <summary>
    /// Opens the store for reading only (default false), for a store on read-only media (a read-only mount, an
    /// immutable folder) or beside a process that must not be disturbed. The folder's lock is taken shared: any number
    /// of read-only opens may run together, but none beside a writer. SQLite is opened read-only (immutable on
    /// read-only media, which needs a cleanly closed store: no write-ahead log left to replay). Every write — records,
    /// collections, databases, tenants, compaction, key management — throws <see cref="ChromaReadOnlyException"/>.
    /// Nothing is written to the store folder: vector arenas and HNSW graphs are rebuilt from SQLite's embeddings into
    /// a private temporary folder (deleted on close), key usage counters are kept in memory only, and denials are not
    /// audited. The key gate still applies; a key with a usage quota is refused with <see cref="ChromaReadOnlyException"/>
    /// (its uses could not be counted). <see cref="ChromaStore.Create"/> refuses this option.
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>Clock for key expiry and usage times; <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The copy of these options the layers below the public API use (see <see cref="Internal.StoreLimits"/>).</summary>
    internal Internal.StoreLimits ToLimits() => new()
    {
        MaxBatchSize = MaxBatchSize,
        MaxResults = MaxResults,
        MaxQueryEmbeddings = MaxQueryEmbeddings,
        MaxDimension = MaxDimension,
        MaxDocumentLength = MaxDocumentLength,
        MaxIdLength = MaxIdLength,
        MaxMetadataKeys = MaxMetadataKeys,
        MaxMetadataValueLength = MaxMetadataValueLength,
        MaxMetadataArrayLength = MaxMetadataArrayLength,
        HnswThreshold = HnswThreshold,
        FilteredExactScanLimit = FilteredExactScanLimit,
        FilteredPlan = FilteredPlan,
        MaxQueryParallelism = MaxQueryParallelism,
        AutoCompaction = AutoCompaction,
        AutoCompactionDeadFraction = AutoCompactionDeadFraction,
        AutoCompactionMinDeadSlots = AutoCompactionMinDeadSlots,
        FilterIndexMemoryBudget = FilterIndexMemoryBudget,
        MaxCollections = MaxCollections,
        MaxDatabases = MaxDatabases,
        MaxTenants = MaxTenants,
        ReadOnly = ReadOnly,
        Logger = Logger,
        TimeProvider = TimeProvider,
    };

    internal void Validate()
    {
        Positive(MaxBatchSize, nameof(MaxBatchSize));
        Positive(MaxResults, nameof(MaxResults));
        Positive(MaxQueryEmbeddings, nameof(MaxQueryEmbeddings));
        Positive(MaxDimension, nameof(MaxDimension));
        Positive(MaxDocumentLength, nameof(MaxDocumentLength));
        Positive(MaxIdLength, nameof(MaxIdLength));
        Positive(MaxMetadataKeys, nameof(MaxMetadataKeys));
        Positive(MaxMetadataValueLength, nameof(MaxMetadataValueLength));
        Positive(MaxMetadataArrayLength, nameof(MaxMetadataArrayLength));
        Positive(HnswThreshold, nameof(HnswThreshold));
        Positive(FilteredExactScanLimit, nameof(FilteredExactScanLimit));
        Positive(MaxQueryParallelism, nameof(MaxQueryParallelism));
        Positive(AutoCompactionMinDeadSlots, nameof(AutoCompactionMinDeadSlots));
        if (!(AutoCompactionDeadFraction is > 0 and < 1))
        {
            throw new ChromaValidationException($"ChromaStoreOptions.{nameof(AutoCompactionDeadFraction)} must be between 0 and 1 (exclusive), got {AutoCompactionDeadFraction}.");
        }

        if (FilterIndexMemoryBudget < 0)
        {
            throw new ChromaValidationException($"ChromaStoreOptions.{nameof(FilterIndexMemoryBudget)} must be zero (disabled) or positive, got {FilterIndexMemoryBudget}.");
        }

        Positive(MaxCollections, nameof(MaxCollections));
        Positive(MaxDatabases, nameof(MaxDatabases));
        Positive(MaxTenants, nameof(MaxTenants));
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(Logger);
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ChromaValidationException($"ChromaStoreOptions.{name} must be positive, got {value}.");
        }
    }
}
