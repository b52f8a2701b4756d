using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace EmbeddedChroma.Internal;

/// <summary>
/// The store's metrics and traces: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named
/// <see cref="Name"/>, following OpenTelemetry's database semantic conventions where one exists
/// (<c>db.client.operation.duration</c>, <c>db.system.name</c>, <c>db.namespace</c>, <c>db.collection.name</c>,
/// <c>db.operation.name</c>, <c>error.type</c>). No OpenTelemetry dependency: an application's exporter (or a
/// <see cref="MeterListener"/>/<see cref="ActivityListener"/>) subscribes by name.
/// <code>
///  public call ──► Start(op, tenant, database, collection) ──► null when nothing listens (cost: three flag reads)
///                                                         └─► Operation: span started, timestamp taken
///             ◄── Dispose(): duration + count recorded (error.type on failure), span stopped
/// </code>
/// What is observed is names, counts, durations and the query plan: never a key, a document, a vector, metadata or
/// an id (the tags are built here from names the store validated, so a caller's text cannot slip in).
/// </summary>
internal static class Telemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "EmbeddedChroma";

    /// <summary>The value of <c>db.system.name</c>.</summary>
    public const string SystemName = "embeddedchroma";

    /// <summary>Tag names (OpenTelemetry semantic conventions first, then ours under <c>embeddedchroma.</c>).</summary>
    public static class Tags
    {
        public const string System = "db.system.name";
        public const string Namespace = "db.namespace";
        public const string Collection = "db.collection.name";
        public const string Operation = "db.operation.name";
        public const string BatchSize = "db.operation.batch.size";
        public const string ReturnedRows = "db.response.returned_rows";
        public const string ErrorType = "error.type";
        public const string Outcome = "embeddedchroma.outcome";
        public const string Plan = "embeddedchroma.query.plan";
        public const string Filtered = "embeddedchroma.query.filtered";
        public const string File = "embeddedchroma.file";
        public const string Automatic = "embeddedchroma.automatic";
        public const string ReadOnly = "embeddedchroma.read_only";

        /// <summary>The key id of an authenticated key: its public half, as the key-ring counter records it (never the secret).</summary>
        public const string KeyId = "key.id";
    }

    /// <summary>Values of <c>db.operation.name</c>: one per public operation (the async contract shares its sync twin's).</summary>
    public static class Ops
    {
        public const string Add = "add";
        public const string Upsert = "upsert";
        public const string Update = "update";
        public const string Delete = "delete";
        public const string Get = "get";
        public const string Query = "query";
        public const string Count = "count";
        public const string Modify = "modify";
        public const string Compact = "compact";
        public const string CreateCollection = "create_collection";
        public const string GetOrCreateCollection = "get_or_create_collection";
        public const string GetCollection = "get_collection";
        public const string ListCollections = "list_collections";
        public const string CountCollections = "count_collections";
        public const string DeleteCollection = "delete_collection";
        public const string CreateDatabase = "create_database";
        public const string GetDatabase = "get_database";
        public const string ListDatabases = "list_databases";
        public const string DeleteDatabase = "delete_database";
        public const string CreateTenant = "create_tenant";
        public const string GetTenant = "get_tenant";
        public const string ListTenants = "list_tenants";
        public const string DeleteTenant = "delete_tenant";
        public const string Heartbeat = "heartbeat";
        public const string Backup = "backup";
        public const string VerifyIntegrity = "verify_integrity";
        public const string CreateStore = "create_store";
        public const string OpenStore = "open_store";
        public const string Authenticate = "authenticate";
        public const string GetClient = "get_client";
        public const string BuildIndex = "build_index";
    }

    /// <summary>Values of <see cref="Tags.Plan"/>: how a query was answered (see <c>Engine.QueryPlanner</c>).</summary>
    public static class Plans
    {
        /// <summary>Exact scan over every live record (no graph: a small collection, or the graph not built yet).</summary>
        public const string Exact = "exact";

        /// <summary>Exact scan over just the records the filter allows (few of them).</summary>
        public const string Filtered = "filtered";

        /// <summary>The HNSW graph walk (with the filter applied inside it when there is one), plus an exact scan of records not linked yet.</summary>
        public const string Graph = "graph";
    }

    private static readonly string? Version = typeof(Telemetry).Assembly.GetName().Version?.ToString(3);

    /// <summary>The activity source: a span per public operation.</summary>
    public static readonly ActivitySource Source = new(Name, Version);

    /// <summary>The meter: every instrument of the store.</summary>
    public static readonly Meter Meter = new(Name, Version);

    private static readonly Histogram<double> Duration = Meter.CreateHistogram(
        "db.client.operation.duration",
        unit: "s",
        description: "Duration of EmbeddedChroma operations (public calls), by operation, collection and error type.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] });

    private static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        "embeddedchroma.operations", unit: "{operation}", description: "Public operations by operation, collection and outcome (success or error).");

    /// <summary>Gated key-ring calls by key id (public), action and outcome; never the secret.</summary>
    public static readonly Counter<long> KeyRingCalls = Meter.CreateCounter<long>(
        "embeddedchroma.keyring.calls", unit: "{call}", description: "Gated calls by key id, action and outcome.");

    private static readonly Counter<long> Rebuilds = Meter.CreateCounter<long>(
        "embeddedchroma.rebuilds", unit: "{rebuild}", description: "Derived files (vector arena, HNSW graph) rebuilt from SQLite because they were missing, damaged or stale.");

    private static readonly Histogram<double> Compactions = Meter.CreateHistogram<double>(
        "embeddedchroma.compaction.duration", unit: "s", description: "Duration of collection compactions (manual and automatic).");

    private static readonly Histogram<double> Checkpoints = Meter.CreateHistogram<double>(
        "embeddedchroma.checkpoint.duration", unit: "s", description: "Duration of background HNSW graph checkpoints (saves while the store is open).");

    private static readonly Histogram<double> WriterWaits = Meter.CreateHistogram<double>(
        "embeddedchroma.collection.write_wait", unit: "s", description: "Time a write batch waited for its collection's write lock (queries, the background indexer or another writer holding it).");

    /// <summary>Open stores: each yields its loaded collections' figures for the observable gauges.</summary>
    private static readonly ConcurrentDictionary<object, Func<IEnumerable<CollectionFigures>>> Stores = new(ReferenceEqualityComparer.Instance);

#pragma warning disable IDE0052 // kept alive by the meter; held here so their creation is explicit
    private static readonly ObservableGauge<long> Records = Meter.CreateObservableGauge(
        "embeddedchroma.collection.records", () => Observe(static f => f.Records), unit: "{record}", description: "Live records per loaded collection.");

    private static readonly ObservableGauge<long> Bytes = Meter.CreateObservableGauge(
        "embeddedchroma.collection.size", () => Observe(static f => f.VectorBytes), unit: "By", description: "Bytes of the memory-mapped vector arena per loaded collection.");

    private static readonly ObservableGauge<long> IndexLinked = Meter.CreateObservableGauge(
        "embeddedchroma.index.linked", () => Observe(static f => f.Linked), unit: "{record}", description: "Records linked into the HNSW graph per loaded collection (0 without a graph).");

    private static readonly ObservableGauge<long> IndexPending = Meter.CreateObservableGauge(
        "embeddedchroma.index.pending", () => Observe(static f => f.Pending), unit: "{record}", description: "Writes not yet linked into the HNSW graph per loaded collection (index build progress: 0 when caught up).");
#pragma warning restore IDE0052

    /// <summary>
    /// Starts observing a public operation: a span (when a listener samples it) and the duration/count metrics (when
    /// enabled). Null when nothing listens, so the call costs three flag reads. Dispose the result when the operation
    /// ends; report a failure first with <see cref="Failed"/> (in an exception filter, so the stack is not unwound).
    /// </summary>
    /// <param name="operation">The operation's name (<c>db.operation.name</c>).</param>
    /// <param name="tenant">Tenant, or null.</param>
    /// <param name="database">Database, or null.</param>
    /// <param name="collection">Collection, or null; a name that is not a valid collection name is not recorded (see <see cref="SafeName"/>).</param>
    public static Operation? Start(string operation, string? tenant, string? database, string? collection)
    {
        var traced = Source.HasListeners();
        if (!traced && !Duration.Enabled && !Operations.Enabled)
        {
            return null;
        }

        return new Operation(operation, tenant, database, collection, traced);
    }

    /// <summary>Records <paramref name="exception"/> as the outcome of <paramref name="operation"/>; returns false (for an exception filter).</summary>
    public static bool Failed(Operation? operation, Exception exception)
    {
        operation?.Fail(exception);
        return false;
    }

    /// <summary>Sets the query plan on the current operation's span (called once per query call).</summary>
    public static void QueryPlan(string plan, bool filtered)
    {
        if (Activity.Current is { } activity && ReferenceEquals(activity.Source, Source))
        {
            activity.SetTag(Tags.Plan, plan);
            activity.SetTag(Tags.Filtered, filtered);
        }
    }

    /// <summary>A derived file was rebuilt (<paramref name="file"/>: "arena" or "graph").</summary>
    public static void Rebuilt(string file, string collection)
    {
        if (Rebuilds.Enabled)
        {
            Rebuilds.Add(1, new TagList { { Tags.System, SystemName }, { Tags.Collection, SafeName(collection) }, { Tags.File, file } });
        }
    }

    /// <summary>A compaction ended (successfully or not: <paramref name="errorType"/>).</summary>
    public static void Compacted(TimeSpan elapsed, string tenant, string database, string collection, bool automatic, string? errorType)
    {
        if (Compactions.Enabled)
        {
            var tags = new TagList { { Tags.System, SystemName }, { Tags.Namespace, Namespace(tenant, database) }, { Tags.Collection, SafeName(collection) }, { Tags.Automatic, automatic } };
            if (errorType is not null)
            {
                tags.Add(Tags.ErrorType, errorType);
            }

            Compactions.Record(elapsed.TotalSeconds, tags);
        }
    }

    /// <summary>A compaction failed: recorded with its <c>error.type</c>; returns false (for an exception filter).</summary>
    public static bool CompactionFailed(TimeSpan elapsed, string tenant, string database, string collection, bool automatic, Exception exception)
    {
        Compacted(elapsed, tenant, database, collection, automatic, ErrorType(exception));
        return false;
    }

    /// <summary>A background graph checkpoint ended.</summary>
    public static void Checkpointed(TimeSpan elapsed, string collection)
    {
        if (Checkpoints.Enabled)
        {
            Checkpoints.Record(elapsed.TotalSeconds, new TagList { { Tags.System, SystemName }, { Tags.Collection, SafeName(collection) } });
        }
    }

    /// <summary>A write batch got its collection's write lock after <paramref name="elapsed"/>.</summary>
    public static void WriterWaited(TimeSpan elapsed)
    {
        if (WriterWaits.Enabled)
        {
            WriterWaits.Record(elapsed.TotalSeconds, new TagList { { Tags.System, SystemName } });
        }
    }

    /// <summary>Registers an open store's collection figures for the observable gauges; dispose the result on close.</summary>
    public static IDisposable RegisterStore(Func<IEnumerable<CollectionFigures>> figures)
    {
        var handle = new Registration();
        Stores[handle] = figures;
        return handle;
    }

    private sealed class Registration : IDisposable
    {
        public void Dispose() => Stores.TryRemove(this, out _);
    }

    private static List<Measurement<long>> Observe(Func<CollectionFigures, long> value)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var figures in Stores.Values)
        {
            foreach (var f in figures())
            {
                measurements.Add(new Measurement<long>(value(f), new TagList
                {
                    { Tags.System, SystemName }, { Tags.Namespace, Namespace(f.Tenant, f.Database) }, { Tags.Collection, SafeName(f.Collection) },
                }));
            }
        }

        return measurements;
    }

    /// <summary>The length of a list the caller gave (0 for null: validation reports that).</summary>
    public static int CountOf<T>(IReadOnlyCollection<T>? list) => list?.Count ?? 0;

    /// <summary><c>db.namespace</c>: "tenant/database" (either may be null).</summary>
    public static string? Namespace(string? tenant, string? database) =>
        tenant is null ? null : database is null ? SafeName(tenant) : string.Concat(SafeName(tenant), "/", SafeName(database));

    /// <summary>
    /// A name as recorded in a tag: itself when it has the shape of a valid tenant/database/collection name (3–512 of
    /// [a-zA-Z0-9._-], no key-shaped text), otherwise "(invalid)", so a caller's arbitrary text (or a key pasted as a
    /// name) never reaches a span or a metric.
    /// </summary>
    public static string? SafeName(string? name)
    {
        if (name is null)
        {
            return null;
        }

        if (name.Length is < 3 or > 512)
        {
            return Invalid;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return Invalid;
            }
        }

        return ApiKeyScanner.ContainsKeyShaped(name) ? Invalid : name;
    }

    private const string Invalid = "(invalid)";

    /// <summary><c>error.type</c>: the exception's full type name (a low-cardinality value; never its message).</summary>
    public static string ErrorType(Exception exception) => exception.GetType().FullName ?? exception.GetType().Name;

    /// <summary>One observed public operation (see <see cref="Start"/>).</summary>
    internal sealed class Operation : IDisposable
    {
        private readonly string _operation;
        private readonly string? _namespace;
        private readonly string? _collection;
        private readonly long _started;
        private readonly Activity? _activity;
        private string? _errorType;

        public Operation(string operation, string? tenant, string? database, string? collection, bool traced)
        {
            _operation = operation;
            _namespace = Namespace(tenant, database);
            _collection = SafeName(collection);
            if (traced)
            {
                var target = _collection ?? _namespace;
                _activity = Source.StartActivity(operation, ActivityKind.Client);
                if (_activity is { IsAllDataRequested: true })
                {
                    // OpenTelemetry's database span name: "{db.operation.name} {target}".
                    _activity.DisplayName = target is null ? operation : string.Concat(operation, " ", target);
                    _activity.SetTag(Tags.System, SystemName);
                    _activity.SetTag(Tags.Operation, operation);
                    if (_namespace is not null)
                    {
                        _activity.SetTag(Tags.Namespace, _namespace);
                    }

                    if (_collection is not null)
                    {
                        _activity.SetTag(Tags.Collection, _collection);
                    }
                }
            }

            _started = Stopwatch.GetTimestamp();
        }

        /// <summary>The span, if one is recorded (tests).</summary>
        internal Activity? Activity => _activity;

        /// <summary>The number of records or query embeddings the call carries (<c>db.operation.batch.size</c>).</summary>
        public void BatchSize(int size) => _activity?.SetTag(Tags.BatchSize, size);

        /// <summary>The public key id of the key a call authenticated (<see cref="Tags.KeyId"/>; span only, never a metric tag).</summary>
        public void KeyId(string keyId) => _activity?.SetTag(Tags.KeyId, keyId);

        /// <summary>A store opened for reads only (<see cref="Tags.ReadOnly"/>; span only).</summary>
        public void ReadOnly(bool readOnly) => _activity?.SetTag(Tags.ReadOnly, readOnly);

        /// <summary>The number of records returned (<c>db.response.returned_rows</c>).</summary>
        public void ReturnedRows(int rows) => _activity?.SetTag(Tags.ReturnedRows, rows);

        public void Fail(Exception exception)
        {
            _errorType = ErrorType(exception);
            if (_activity is not null)
            {
                // The type only: a message may echo (escaped, capped) caller text, which a trace backend need not hold.
                _activity.SetStatus(ActivityStatusCode.Error, _errorType);
                _activity.SetTag(Tags.ErrorType, _errorType);
            }
        }

        public void Dispose()
        {
            var elapsed = Stopwatch.GetElapsedTime(_started);
            var tags = new TagList { { Tags.System, SystemName }, { Tags.Operation, _operation } };
            if (_namespace is not null)
            {
                tags.Add(Tags.Namespace, _namespace);
            }

            if (_collection is not null)
            {
                tags.Add(Tags.Collection, _collection);
            }

            if (_errorType is not null)
            {
                tags.Add(Tags.ErrorType, _errorType);
            }

            if (Duration.Enabled)
            {
                Duration.Record(elapsed.TotalSeconds, tags);
            }

            if (Operations.Enabled)
            {
                tags.Add(Tags.Outcome, _errorType is null ? "success" : "error");
                Operations.Add(1, tags);
            }

            _activity?.Dispose();
        }
    }
}

/// <summary>One loaded collection's figures for the observable gauges (read without locks: a gauge is a sample).</summary>
internal readonly record struct CollectionFigures(string Tenant, string Database, string Collection, long Records, long VectorBytes, long Linked, long Pending);
