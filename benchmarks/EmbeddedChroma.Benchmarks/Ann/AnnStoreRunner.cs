using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann --engine store</c>: the same data through the public API of a <see cref="ChromaStore"/> in a temporary folder
/// (deleted at the end). One collection in the metric's space with M, efConstruction and ef from the options; the base
/// rows are added in batches of <see cref="BatchSize"/> with ids <c>i&lt;n&gt;</c> and metadata
/// <c>{ bucket: n % 1000, group: "g" + n % 10 }</c> (no documents). Timed: the <c>Add</c> calls alone
/// (<c>ingest_seconds</c>) and from the first <c>Add</c> until <see cref="Collection.WaitForIndex"/> returns, i.e. the
/// background graph has linked every record (<c>index_ready_seconds</c>). Then, per ef (set with
/// <see cref="Collection.Modify"/>) and per selectivity S of <c>--filter-selectivity</c> (a comma list; 1 = unfiltered),
/// the query set runs single-threaded through <see cref="Collection.Query"/> (k = 10, ids only) with
/// <c>Where.Lt("bucket", S·1000)</c> when S &lt; 1; the truth is exact over the admitted rows (n % 1000 &lt; S·1000).
/// <c>--distinct-filters 1</c> makes every query's filter JSON unique (<c>Where.Lt("bucket", S·1000 − 0.5 + i·1e-9)</c> for the
/// i-th call, the same admitted rows since buckets are integers), so the store's per-filter cache never answers and each
/// query pays the filter evaluation; <c>--exact-scan-limit N</c> sets <see cref="ChromaStoreOptions.FilteredExactScanLimit"/>.
/// Finally the store is closed and reopened 3 times (<c>--reopen-rounds</c>), timing <c>Open</c> + <c>GetClient</c> + <c>GetCollection</c> + the first query.
/// </summary>
internal static class AnnStoreRunner
{
    private const int BatchSize = 1_000;
    private const int Buckets = 1_000;
    internal const string CollectionName = "ann";

    internal sealed record Setup(
        string Metric, DistanceSpace Space, float[] Data, int Count, int Dimension, int Stride, float[] Queries, int QueryCount,
        string? TruthPath, int M, int EfConstruction, int[] Efs, double[] Selectivities, string? JsonPath)
    {
        /// <summary>A unique filter per query call (defeats the allowed-slot cache; same admitted rows).</summary>
        public bool DistinctFilters { get; init; }

        /// <summary><see cref="ChromaStoreOptions.FilteredExactScanLimit"/>, or 0 for the default.</summary>
        public int ExactScanLimit { get; init; }

        /// <summary>How many times the closed store is reopened and timed (<c>--reopen-rounds</c>, default 3).</summary>
        public int ReopenRounds { get; init; } = 3;

        /// <summary>
        /// <c>--keep-store PATH</c>: build the store in this (new) folder and leave it there, for <c>reopen</c> in a fresh
        /// process; null: a temporary folder, deleted at the end.
        /// </summary>
        public string? KeepStore { get; init; }

        /// <summary><c>--vector-storage float32|float16</c>: the collection's <see cref="CollectionConfiguration.VectorStorage"/>.</summary>
        public VectorStorage VectorStorage { get; init; } = VectorStorage.Float32;
    }

    public static int Run(Setup setup)
    {
        foreach (double s in setup.Selectivities)
        {
            if (s is <= 0 or > 1 || Math.Abs((s * Buckets) - Math.Round(s * Buckets)) > 1e-9)
            {
                throw new ArgumentException($"--filter-selectivity for the store must be multiples of 1/{Buckets} in (0, 1]; got {s}.");
            }
        }

        int k = AnnRunner.K;
        int dimension = setup.Dimension;
        var rows = new ArrayVectorRows(setup.Data, dimension, setup.Stride);

        // Truth per selectivity: the ibin file for unfiltered l2, otherwise exact over the admitted rows.
        var truths = new Dictionary<double, (int[] Truth, int TruthK)>();
        foreach (double s in setup.Selectivities)
        {
            if (s >= 1.0 && setup.Space == DistanceSpace.L2 && !string.IsNullOrEmpty(setup.TruthPath))
            {
                var (truth, truthCount, truthK) = BigAnnFiles.ReadIbin(setup.TruthPath);
                if (truthCount != setup.QueryCount || truthK < k)
                {
                    throw new InvalidDataException($"Truth has {truthCount} × {truthK}; need {setup.QueryCount} × ≥{k}.");
                }

                truths[s] = (truth, truthK);
            }
            else
            {
                truths[s] = (AnnDataGenerator.ExactTruth(rows, setup.Space, setup.Queries, dimension, k, Admitted(setup.Count, s)), k);
            }
        }

        // One single-element query list per query, built once so the timed loop allocates only inside the store.
        var queryLists = new float[setup.QueryCount][][];
        for (int q = 0; q < setup.QueryCount; q++)
        {
            queryLists[q] = [setup.Queries.AsSpan(q * dimension, dimension).ToArray()];
        }

        string folder = setup.KeepStore ?? Path.Combine(Path.GetTempPath(), "ann-store-" + Guid.NewGuid().ToString("N"));
        var json = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        using var writer = string.IsNullOrEmpty(setup.JsonPath) ? null : new StreamWriter(setup.JsonPath, append: true);
        void Emit(StoreResult result)
        {
            writer?.WriteLine(JsonSerializer.Serialize(result, json));
            writer?.Flush();
        }

        StoreResult Result(string phase, int ef, double selectivity) => new(
            "store", phase, setup.Metric, setup.Count, dimension, setup.M, setup.EfConstruction, ef, selectivity,
            null, null, 0, 0, PeakRss(), LoadAverage())
        {
            VectorStorage = CollectionConfiguration.VectorStorageName(setup.VectorStorage),
        };

        try
        {
            string adminKey;
            double ingestSeconds;
            double indexReadySeconds;
            double closeSeconds;
            var options = setup.ExactScanLimit > 0 ? new ChromaStoreOptions { FilteredExactScanLimit = setup.ExactScanLimit } : null;
            using (ChromaStore store = ChromaStore.Create(folder, out adminKey, options))
            {
                Collection collection = store.GetClient(adminKey).CreateCollection(CollectionName, new CollectionOptions
                {
                    Configuration = new CollectionConfiguration
                    {
                        Space = setup.Space,
                        MaxNeighbors = setup.M,
                        EfConstruction = setup.EfConstruction,
                        EfSearch = setup.Efs[0],
                        VectorStorage = setup.VectorStorage,
                    },
                });

                double loadBefore = LoadAverage();
                (ingestSeconds, indexReadySeconds) = Ingest(collection, setup);
                var graph = collection.Indexer?.Graph;
                Console.WriteLine(
                    $"store ingest: {setup.Count} × {dimension} {setup.Metric}, M = {setup.M}, efConstruction = {setup.EfConstruction}: " +
                    $"Add calls {ingestSeconds:F2} s ({setup.Count / ingestSeconds:F0} records/s), index ready {indexReadySeconds:F2} s " +
                    $"({setup.Count / indexReadySeconds:F0} records/s); graph {(graph is null ? "absent" : $"{graph.MemoryBytes / (1024.0 * 1024):F1} MiB")}; " +
                    $"load {loadBefore:F2} → {LoadAverage():F2}");
                Emit(Result("ingest", 0, 1.0) with
                {
                    IngestSeconds = ingestSeconds, IndexReadySeconds = indexReadySeconds, RowsMemoryBytes = collection.RowsMemoryBytes, GraphMemoryBytes = graph?.MemoryBytes,
                });

                // The filter alone: Get(where, ids only) resolves the same Where in SQLite that every filtered Query resolves first.
                foreach (double s in setup.Selectivities.Where(s => s < 1.0))
                {
                    Where where = Where.Lt("bucket", (int)Math.Round(s * Buckets));
                    double load = LoadAverage();
                    var (calls, matched, seconds) = TimeFilter(collection, where);
                    Console.WriteLine($"store   filter {s:G3}: Get(where) {seconds * 1000 / calls:F2} ms per call ({matched} ids, {calls} calls)  (load {load:F2})");
                    Emit(Result("filter_get", 0, s) with { FilterGetMilliseconds = seconds * 1000 / calls, LoadAverage1m = load });
                }

                foreach (int ef in setup.Efs)
                {
                    collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
                    foreach (double s in setup.Selectivities)
                    {
                        Where? where = s < 1.0 ? Where.Lt("bucket", (int)Math.Round(s * Buckets)) : null;
                        var (truth, truthK) = truths[s];
                        double load = LoadAverage();
                        long call = 0;
                        var (recall, qps) = AnnRunner.Measure(
                            (q, slots) => Search(collection, queryLists[q], where is not null && setup.DistinctFilters ? Where.Lt("bucket", Math.Round(s * Buckets) - 0.5 + (++call * 1e-9)) : where, slots),
                            setup.QueryCount,
                            truth,
                            truthK);
                        Console.WriteLine($"store   ef {ef,4}  filter {s:G3}  recall@10 {recall:F4}  {qps,10:F0} QPS  (load {load:F2})");
                        Emit(Result("query", ef, s) with
                        {
                            DistinctFilters = setup.DistinctFilters ? true : null,
                            ExactScanLimit = setup.ExactScanLimit > 0 ? setup.ExactScanLimit : null,
                            RecallAt10 = recall, Qps = qps, IngestSeconds = ingestSeconds, IndexReadySeconds = indexReadySeconds, LoadAverage1m = load,
                        });
                    }
                }

                var closing = Stopwatch.StartNew();
                store.Dispose();
                closeSeconds = closing.Elapsed.TotalSeconds;
            }

            int reopenRounds = setup.ReopenRounds;
            var reopenSeconds = new double[reopenRounds];
            bool allLoadedFromFile = true;
            for (int round = 0; round < reopenRounds; round++)
            {
                double load = LoadAverage();
                var stopwatch = Stopwatch.StartNew();
                using ChromaStore store = ChromaStore.Open(folder);
                double opened = stopwatch.Elapsed.TotalSeconds;
                Collection collection = store.GetClient(adminKey).GetCollection(CollectionName);
                double found = stopwatch.Elapsed.TotalSeconds;
                QueryResult first = collection.Query(queryLists[0], k, include: Include.None);
                reopenSeconds[round] = stopwatch.Elapsed.TotalSeconds;
                bool loaded = collection.Indexer?.LoadedFromFile ?? false;
                allLoadedFromFile &= loaded;
                Console.WriteLine(
                    $"store reopen {round + 1}: {reopenSeconds[round]:F3} s to the first query ({first.Ids[0].Count} results; open {opened:F3} s, " +
                    $"collection {found - opened:F3} s, first query with the collection's load {reopenSeconds[round] - found:F3} s), " +
                    $"graph loaded from file: {loaded} (load {load:F2})");
            }

            double median = reopenSeconds.Order().ElementAt(reopenRounds / 2);
            Emit(Result("reopen", 0, 1.0) with
            {
                IngestSeconds = ingestSeconds, IndexReadySeconds = indexReadySeconds, CloseSeconds = closeSeconds, ReopenSeconds = median,
                ReopenRunsSeconds = reopenSeconds, GraphLoadedFromFile = allLoadedFromFile,
            });
            Console.WriteLine($"store close {closeSeconds:F2} s; reopen median {median:F3} s");
        }
        finally
        {
            if (setup.KeepStore is null && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        return 0;
    }

    /// <summary>
    /// <c>reopen --folder PATH --queries Q.fbin</c>: in this (fresh) process, recovers an admin key (not timed), then
    /// times <c>Open</c>, <c>GetCollection</c> and the first query of a store kept by <c>--keep-store</c>: a cold
    /// reopen, JIT included, as after an application restart.
    /// </summary>
    public static int Reopen(AnnArguments options)
    {
        string folder = options.String("folder");
        string queriesPath = options.String("queries");
        string jsonPath = options.String("json", "");
        string label = options.String("label", "");
        options.ThrowIfUnused();
        var (queries, _, dimension, _) = BigAnnFiles.ReadFbin(queriesPath, paddingMultiple: 1);
        string key = ChromaStore.RecoverAdminKey(folder);
        var steps = new List<string>();
        Internal.OpenTrace.Observer = (step, elapsed) => steps.Add($"{step} {elapsed.TotalMilliseconds:F0} ms");
        var stopwatch = Stopwatch.StartNew();
        using ChromaStore store = ChromaStore.Open(folder);
        double opened = stopwatch.Elapsed.TotalSeconds;
        Collection collection = store.GetClient(key).GetCollection(CollectionName);
        double found = stopwatch.Elapsed.TotalSeconds;
        QueryResult first = collection.Query([queries.AsSpan(0, dimension).ToArray()], AnnRunner.K, include: Include.None);
        double total = stopwatch.Elapsed.TotalSeconds;
        Console.WriteLine(
            $"cold reopen: {total:F3} s to the first query ({first.Ids[0].Count} results; open {opened:F3} s, collection {found - opened:F3} s, " +
            $"first query with the collection's load {total - found:F3} s), graph loaded from file: {collection.Indexer?.LoadedFromFile ?? false}; steps: {string.Join(", ", steps)}");
        Internal.OpenTrace.Observer = null;

        // Then every query twice (warm), and the process's resident memory while querying: what this collection costs to
        // serve after a restart (the harness's own copy of the base rows is not in this process).
        int queryCount = queries.Length / dimension;
        var lists = Enumerable.Range(0, queryCount).Select(q => new[] { queries.AsSpan(q * dimension, dimension).ToArray() }).ToArray();
        double qps = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            var timer = Stopwatch.StartNew();
            foreach (var list in lists)
            {
                collection.Query(list, AnnRunner.K, include: Include.None);
            }

            qps = queryCount / timer.Elapsed.TotalSeconds;
        }

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long rss = process.WorkingSet64;
        var storage = collection.Configuration.VectorStorage;
        Console.WriteLine(
            $"reopened {CollectionConfiguration.VectorStorageName(storage)}: rows in memory {collection.RowsMemoryBytes / 1048576.0:F1} MiB, graph {(collection.Indexer?.Graph?.MemoryBytes ?? 0) / 1048576.0:F1} MiB, " +
            $"RSS while querying {rss / 1048576.0:F1} MiB, {qps:F0} QPS at ef {collection.Configuration.EfSearch}");
        if (!string.IsNullOrEmpty(jsonPath))
        {
            File.AppendAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["engine"] = "store", ["phase"] = "reopen_rss", ["label"] = label, ["vector_storage"] = CollectionConfiguration.VectorStorageName(storage),
                ["rows_memory_bytes"] = collection.RowsMemoryBytes, ["graph_memory_bytes"] = collection.Indexer?.Graph?.MemoryBytes, ["rss_bytes"] = rss,
                ["ef"] = collection.Configuration.EfSearch, ["qps"] = qps, ["cold_reopen_seconds"] = total, ["load_avg_1m"] = LoadAverage(),
            }) + Environment.NewLine);
        }

        return 0;
    }

    /// <summary>Adds every base row in batches; returns the time in <c>Add</c> and the time until the graph has caught up.</summary>
    internal static (double IngestSeconds, double IndexReadySeconds) Ingest(Collection collection, Setup setup)
    {
        var addTime = new Stopwatch();
        var total = Stopwatch.StartNew();
        for (int start = 0; start < setup.Count; start += BatchSize)
        {
            int size = Math.Min(BatchSize, setup.Count - start);
            var ids = new string[size];
            var embeddings = new float[size][];
            var metadatas = new IReadOnlyDictionary<string, MetadataValue?>?[size];
            for (int i = 0; i < size; i++)
            {
                int n = start + i;
                ids[i] = "i" + n.ToString(CultureInfo.InvariantCulture);
                embeddings[i] = setup.Data.AsSpan(n * setup.Stride, setup.Dimension).ToArray();
                metadatas[i] = new Dictionary<string, MetadataValue?> { ["bucket"] = n % Buckets, ["group"] = "g" + (n % 10).ToString(CultureInfo.InvariantCulture) };
            }

            addTime.Start();
            collection.Add(ids, embeddings, metadatas);
            addTime.Stop();
        }

        collection.WaitForIndex();
        return (addTime.Elapsed.TotalSeconds, total.Elapsed.TotalSeconds);
    }

    /// <summary>Mean time of <c>Get(where, ids only)</c>: one warm-up call, then calls for at least 1 s.</summary>
    private static (int Calls, int Matched, double Seconds) TimeFilter(Collection collection, Where where)
    {
        int matched = collection.Get(where: where, include: Include.None).Count;
        int calls = 0;
        var stopwatch = Stopwatch.StartNew();
        do
        {
            collection.Get(where: where, include: Include.None);
            calls++;
        }
        while (stopwatch.Elapsed.TotalSeconds < 1.0);

        return (calls, matched, stopwatch.Elapsed.TotalSeconds);
    }

    internal static int Search(Collection collection, float[][] query, Where? where, Span<int> slots)
    {
        IReadOnlyList<string> ids = collection.Query(query, AnnRunner.K, where, include: Include.None).Ids[0];
        int n = Math.Min(ids.Count, slots.Length);
        for (int i = 0; i < n; i++)
        {
            slots[i] = int.Parse(ids[i].AsSpan(1), CultureInfo.InvariantCulture);
        }

        return n;
    }

    /// <summary>Rows whose bucket (n % 1000) is below S·1000: the rows <c>Where.Lt("bucket", S·1000)</c> admits.</summary>
    private static ulong[] Admitted(int count, double selectivity)
    {
        int limit = (int)Math.Round(selectivity * Buckets);
        var bits = new ulong[(count + 63) / 64];
        for (int n = 0; n < count; n++)
        {
            if (n % Buckets < limit)
            {
                bits[n >> 6] |= 1UL << (n & 63);
            }
        }

        return bits;
    }

    private static long PeakRss()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>The 1-minute load average (<c>/proc/loadavg</c>), or −1 where there is none.</summary>
    private static double LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private sealed record StoreResult(
        [property: JsonPropertyName("engine")] string Engine,
        [property: JsonPropertyName("phase")] string Phase,
        [property: JsonPropertyName("metric")] string Metric,
        [property: JsonPropertyName("n")] int Count,
        [property: JsonPropertyName("dim")] int Dimension,
        [property: JsonPropertyName("m")] int M,
        [property: JsonPropertyName("ef_construction")] int EfConstruction,
        [property: JsonPropertyName("ef")] int Ef,
        [property: JsonPropertyName("filter_selectivity")] double FilterSelectivity,
        [property: JsonPropertyName("ingest_seconds")] double? IngestSeconds,
        [property: JsonPropertyName("index_ready_seconds")] double? IndexReadySeconds,
        [property: JsonPropertyName("recall_at_10")] double RecallAt10,
        [property: JsonPropertyName("qps")] double Qps,
        [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes,
        [property: JsonPropertyName("load_avg_1m")] double LoadAverage1m)
    {
        [JsonPropertyName("distinct_filters")]
        public bool? DistinctFilters { get; init; }

        [JsonPropertyName("exact_scan_limit")]
        public int? ExactScanLimit { get; init; }

        [JsonPropertyName("filter_get_ms")]
        public double? FilterGetMilliseconds { get; init; }

        [JsonPropertyName("close_seconds")]
        public double? CloseSeconds { get; init; }

        [JsonPropertyName("reopen_seconds")]
        public double? ReopenSeconds { get; init; }

        [JsonPropertyName("reopen_runs_seconds")]
        public double[]? ReopenRunsSeconds { get; init; }

        [JsonPropertyName("graph_loaded_from_file")]
        public bool? GraphLoadedFromFile { get; init; }

        [JsonPropertyName("vector_storage")]
        public string? VectorStorage { get; init; }

        [JsonPropertyName("rows_memory_bytes")]
        public long? RowsMemoryBytes { get; init; }

        [JsonPropertyName("graph_memory_bytes")]
        public long? GraphMemoryBytes { get; init; }

        [JsonPropertyName("rss_bytes")]
        public long? RssBytes { get; init; }
    }
}
