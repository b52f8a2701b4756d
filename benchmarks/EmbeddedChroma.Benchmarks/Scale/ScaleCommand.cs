using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>scale</c> and <c>scale-ingest</c>: how each cost of a store grows with its size, through the public API only
/// (issue #17). One run = one size; benchmarks/scale.sh runs 10k, 100k, 300k (and 1M on a quiet machine) and plots.
/// <code>
/// scale        --data DIR (an ann-gen folder: base.fbin, queries.fbin) [--n N (first N base rows; default all)]
///              [--queries 500] [--efs 10,16,24,32,48,64,96,128,192,256,384,512] [--folder DIR] [--json OUT]
///              [--filtered-queries 200] [--filter-buckets 1,10,100,500] [--anchor none|hnswlib] [--hnswlib-lib PATH]
///              [--anchor-threads 2] [--documents on|off] [--metadata on|off] [--maintenance on|off]
/// scale-ingest --data DIR [--n N] [--pace caught-up|none] [--index on|off] [--json OUT]
/// </code>
/// <para>Data: the base rows in order, unit-normalized (the collection is cosine; the truth is exact cosine top-10 over
/// all N rows), each added with id <c>i&lt;n&gt;</c>, metadata <c>{ bucket: n % 1000, group: "g" + n % 10, source:
/// "s" + n % 97 }</c> and a ~200-character English-like document drawn from a fixed word list (deterministic per n),
/// in batches of 1,000 (<see cref="BatchSize"/>). The store keeps Chroma's default M = 16, ef_construction = 100.</para>
/// <para><c>scale</c> measures, in this order: durable ingest (wall time of the Add calls, p50/p99/max per Add, every
/// graph checkpoint's duration seen through the "embeddedchroma.checkpoint.duration" histogram); time from the first
/// Add until <see cref="Collection.GetIndexingStatus"/> reports nothing unindexed; per ef, single-threaded query p50/p99
/// and recall@10 (k = 10, ids only) and the smallest ef reaching 0.95 and 0.99; the working set after the queries
/// (the benchmark's own copy of the base rows freed first, with its breakdown); close; bytes on disk; the store alone in
/// a fresh child process (<see cref="ScaleOpenCommand"/>: open → first query by step, resident memory by mapping, the
/// first <c>where_document</c> read); bytes on disk per file kind; reopen to the first
/// query (Open + GetClient + GetCollection + Query) and whether the graph was loaded rather than rebuilt; backup
/// time and size; deleting 20 % of the records (every fifth id); <see cref="Collection.Compact"/> and the time until
/// the graph is ready again; bytes on disk after. One JSON line per run.</para>
/// <para>Also (issue #17's remaining columns): filtered queries (<see cref="FilteredQueries"/>: <c>bucket $lt b</c>
/// for each <c>--filter-buckets</c> bound b, i.e. b/1000 of the rows, at the ef reaching recall 0.95 and the next ef,
/// against exact filtered top-10 and an unfiltered pass at the same ef); with <c>--anchor hnswlib</c>, native hnswlib
/// built from the same vectors in this process after the store's memory was measured, and query passes alternating
/// store / hnswlib per ef (<see cref="HnswlibAnchor"/>); with <c>--documents off</c> (and <c>--metadata off</c>) a
/// store without documents (metadata) for the disk goal, whose SQLite file is broken down by table
/// (<see cref="SqliteBreakdown"/>); <c>--maintenance off</c> skips backup, delete and compaction.</para>
/// <para><c>scale-ingest</c> measures only the writers' side of checkpoints: with <c>--pace caught-up</c> (the default)
/// every Add waits until the index reports nothing unindexed before it starts, which is exactly when the background
/// worker saves the graph, so each checkpoint meets an Add: the adversarial case for a writer stall. Reports Add
/// latency p50/p99/max, the longest Add that overlapped a checkpoint, every checkpoint's duration, and the writer stall
/// proper: each batch's wait for the collection's write lock (p50/p99/max, and the longest overlapping a checkpoint), with
/// the five longest waits and the GC pause time inside each (sampled every millisecond), and the GC pause time and gen-2
/// collections from the first Add to index ready.
/// With <c>--index off</c> the store's <see cref="ChromaStoreOptions.HnswThreshold"/> is set past N, so no graph is
/// built while (or after) the records arrive: the durable write path alone (use with <c>--pace none</c>). With
/// <c>--storage float16|int8</c> the collection's graph walks compact rows (<c>vector_storage</c>).</para>
/// </summary>
internal static partial class ScaleCommand
{
    private const int BatchSize = 1_000;
    private const int K = 10;
    internal const string CollectionName = "scale";

    public static bool Handles(string[] args) => args.Length > 0 && args[0] is "scale" or "scale-ingest";

    public static int Run(string[] args)
    {
        try
        {
            var options = new AnnArguments(args);
            return args[0] == "scale-ingest" ? RunIngest(options) : RunScale(options);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    private static int RunIngest(AnnArguments options)
    {
        var (data, n, dimension, stride) = LoadBase(options.String("data"), options.Int("n", 0));
        string pace = options.String("pace", "caught-up");
        string index = options.String("index", "on");
        string storage = options.String("storage", "float32");
        string? jsonPath = options.String("json", string.Empty);
        options.ThrowIfUnused();
        if (!Enum.TryParse<VectorStorage>(storage, ignoreCase: true, out var vectorStorage))
        {
            throw new ArgumentException("--storage is float32, float16 or int8.");
        }

        if (pace is not ("caught-up" or "none"))
        {
            throw new ArgumentException("--pace is caught-up or none.");
        }

        if (index is not ("on" or "off"))
        {
            throw new ArgumentException("--index is on or off.");
        }

        string folder = Path.Combine(Path.GetTempPath(), "scale-ingest-" + Guid.NewGuid().ToString("N"));
        try
        {
            var storeOptions = index == "off" ? new ChromaStoreOptions { HnswThreshold = n + 1 } : null;
            using var store = ChromaStore.Create(folder, out string adminKey, storeOptions);
            var collection = CreateCollection(store, adminKey, vectorStorage);
            using var checkpoints = new CheckpointWatch();
            var ingest = Ingest(collection, data, n, dimension, stride, pace == "caught-up", checkpoints);
            var result = new Dictionary<string, object?>
            {
                ["command"] = "scale-ingest",
                ["pace"] = pace,
                ["index"] = index,
                ["storage"] = storage,
                ["load_average"] = LoadAverage(),
                ["n"] = n,
                ["dim"] = dimension,
            };
            ingest.AddTo(result);
            result["rows_memory_bytes"] = collection.RowsMemoryBytes;
            result["rows_memory_over_float32"] = collection.RowsMemoryBytes / ((double)n * dimension * sizeof(float));
            Console.WriteLine(
                $"scale-ingest {n} × {dimension} (pace {pace}, index {index}, {storage}): {ingest.RecordsPerSecond:F0} records/s, index ready {ingest.IndexReadySeconds:F1} s, " +
                $"documents indexed {ingest.DocumentsIndexedSeconds:F1} s ({ingest.DocumentsPendingAtIndexReady} pending at index ready), " +
                $"CPU {ingest.CpuIngestSeconds:F1} s to ingest, {ingest.CpuReadySeconds:F1} s to ready (load {LoadAverage():F1}); Add p50 {ingest.AddP50Ms:F1} ms, " +
                $"p99 {ingest.AddP99Ms:F1} ms, max {ingest.AddMaxMs:F1} ms; {ingest.Checkpoints.Count} checkpoints (longest " +
                $"{(ingest.Checkpoints.Count == 0 ? 0 : ingest.Checkpoints.Max()):F1} ms); longest Add overlapping a checkpoint {ingest.MaxAddDuringCheckpointMs:F1} ms; " +
                $"write-lock wait p50 {Percentile(ingest.WaitMs, 0.5):F2} ms, p99 {Percentile(ingest.WaitMs, 0.99):F2} ms, max {ingest.WaitMaxMs:F2} ms " +
                $"(max overlapping a checkpoint {ingest.MaxWaitDuringCheckpointMs:F2} ms); GC pauses {ingest.GcPauseMs:F0} ms, {ingest.Gen2Collections} gen-2 collections; " +
                $"longest waits {JsonSerializer.Serialize(ingest.LongestWaits)}; rows in memory {collection.RowsMemoryBytes / 1048576.0:F1} MiB " +
                $"({result["rows_memory_over_float32"]:F3}× float32's rows)");
            Emit(jsonPath, result);
        }
        finally
        {
            DeleteFolder(folder);
        }

        return 0;
    }

    private static int RunScale(AnnArguments options)
    {
        string dataFolder = options.String("data");
        var (data, n, dimension, stride) = LoadBase(dataFolder, options.Int("n", 0));
        int queryLimit = options.Int("queries", 500);
        int[] efs = options.IntList("efs", "10,16,24,32,48,64,96,128,192,256,384,512");
        string folder = options.String("folder", Path.Combine(Path.GetTempPath(), "scale-" + Guid.NewGuid().ToString("N")));
        string? jsonPath = options.String("json", string.Empty);
        int filteredQueries = options.Int("filtered-queries", 200);
        int[] filterBuckets = options.IntList("filter-buckets", "1,10,100,500");
        string anchor = options.String("anchor", "none");
        string hnswlibPath = options.String("hnswlib-lib", string.Empty);
        int anchorThreads = options.Int("anchor-threads", 2);
        bool documents = OnOff(options, "documents");
        bool metadata = OnOff(options, "metadata");
        bool maintenance = OnOff(options, "maintenance");
        options.ThrowIfUnused();
        if (anchor is not ("none" or "hnswlib"))
        {
            throw new ArgumentException("--anchor is none or hnswlib.");
        }

        if (anchor == "hnswlib" && string.IsNullOrEmpty(hnswlibPath))
        {
            hnswlibPath = HnswlibEngine.DefaultLibraryPath();
        }

        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new ArgumentException($"--folder {folder} must be new or empty.");
        }

        var (queryData, queryCount, queryDimension, _) = BigAnnFiles.ReadFbin(Path.Combine(dataFolder, "queries.fbin"), paddingMultiple: 1);
        if (queryDimension != dimension)
        {
            throw new ArgumentException($"queries.fbin has dimension {queryDimension}, base.fbin {dimension}.");
        }

        queryCount = Math.Min(queryCount, queryLimit);
        var queries = new float[queryCount][];
        for (int q = 0; q < queryCount; q++)
        {
            queries[q] = queryData.AsSpan(q * dimension, dimension).ToArray();
            Normalize(queries[q]);
        }

        var result = new Dictionary<string, object?>
        {
            ["command"] = "scale",
            ["n"] = n,
            ["dim"] = dimension,
            ["metric"] = "cosine",
            ["queries"] = queryCount,
            ["documents"] = documents,
            ["metadata"] = metadata,
            ["processors"] = Environment.ProcessorCount,
            ["load_avg_1m_start"] = LoadAverage(),
        };
        var stopwatch = Stopwatch.StartNew();
        Console.WriteLine($"scale {n} × {dimension}: exact truth for {queryCount} queries …");
        int[] truth = AnnDataGenerator.ExactTruth(new ArrayVectorRows(data, dimension, stride), DistanceSpace.Cosine, Flatten(queries, dimension), dimension, K);
        Console.WriteLine($"  truth {stopwatch.Elapsed.TotalSeconds:F1} s");
        var backupFolder = folder + "-backup";
        try
        {
            string adminKey;
            using (var store = ChromaStore.Create(folder, out adminKey, new ChromaStoreOptions { AutoCompaction = false }))
            {
                var collection = CreateCollection(store, adminKey);
                using (var checkpoints = new CheckpointWatch())
                {
                    var ingest = Ingest(collection, data, n, dimension, stride, pacedByIndex: false, checkpoints, documents, metadata);
                    ingest.AddTo(result);
                    Console.WriteLine(
                        $"  ingest {ingest.RecordsPerSecond:F0} records/s (Add p50 {ingest.AddP50Ms:F1} ms, p99 {ingest.AddP99Ms:F1} ms, max {ingest.AddMaxMs:F1} ms), " +
                        $"index ready {ingest.IndexReadySeconds:F1} s, documents indexed {ingest.DocumentsIndexedSeconds:F1} s, {ingest.Checkpoints.Count} checkpoints");
                }

                // The benchmark's own copy of the rows is not the store's memory: free it before measuring the working set.
                data = [];
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                var (curve, ef95, ef99) = QuerySweep(collection, queries, truth, efs);
                result["query_curve"] = curve;
                result["ef_recall_095"] = ef95?.Ef;
                result["query_p50_ms_095"] = ef95?.P50Ms;
                result["query_p99_ms_095"] = ef95?.P99Ms;
                result["recall_095"] = ef95?.Recall;
                result["qps_095"] = ef95?.Qps;
                result["ef_recall_099"] = ef99?.Ef;
                result["query_p50_ms_099"] = ef99?.P50Ms;
                result["query_p99_ms_099"] = ef99?.P99Ms;
                result["recall_099"] = ef99?.Recall;
                result["qps_099"] = ef99?.Qps;
                result["rss_querying_bytes"] = WorkingSet();
                result["rss_querying_in_process"] = ScaleOpenCommand.Memory(collection, dimension);
                result["vector_bytes_raw"] = (long)n * dimension * sizeof(float);
                result["graph_memory_bytes"] = collection.Indexer?.Graph?.MemoryBytes;
                Console.WriteLine(
                    $"  recall 0.95 at ef {ef95?.Ef} (p50 {ef95?.P50Ms:F2} ms, p99 {ef95?.P99Ms:F2} ms), 0.99 at ef {ef99?.Ef} " +
                    $"(p50 {ef99?.P50Ms:F2} ms, p99 {ef99?.P99Ms:F2} ms); working set {WorkingSet() / 1048576.0:F0} MiB");
                // Filtered queries and the hnswlib anchor need the rows again: after the memory figures above.
                if ((filteredQueries > 0 && metadata) || anchor == "hnswlib")
                {
                    var reloading = Stopwatch.StartNew();
                    (data, _, _, _) = LoadBase(dataFolder, n);
                    Console.WriteLine($"  rows reloaded for the filtered truth / anchor in {reloading.Elapsed.TotalSeconds:F1} s");
                    if (filteredQueries > 0 && metadata)
                    {
                        FilteredQueries(collection, data, n, dimension, stride, queries, Math.Min(filteredQueries, queryCount), filterBuckets, efs, ef95?.Ef, result);
                    }

                    if (anchor == "hnswlib")
                    {
                        HnswlibAnchor(collection, hnswlibPath, data, n, dimension, stride, queries, truth, efs, anchorThreads, result);
                    }

                    data = [];
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                }

                if (ef95 is { } chosen)
                {
                    collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = chosen.Ef });
                }

                var closing = Stopwatch.StartNew();
                store.Dispose();
                result["close_seconds"] = closing.Elapsed.TotalSeconds;
            }

            result["disk_bytes"] = DiskBytes(folder);
            DiskReport(folder, n, dimension, result);

            // The store alone, in a fresh process: open → first query by step, resident memory by mapping, first where_document read.
            File.WriteAllText(folder + ".key", adminKey);
            if (ScaleOpenCommand.RunChild(dataFolder, folder, queryCount, result["ef_recall_095"] as int? ?? 64) is { } storeOnly)
            {
                result["store_only"] = storeOnly;
                result["rss_store_only_bytes"] = storeOnly.GetProperty("status_VmRSS").GetInt64();
                result["rss_store_only_over_vectors_and_graph"] = storeOnly.GetProperty("rss_over_vectors_and_graph").GetDouble();
                result["open_to_first_query_store_only_ms"] = storeOnly.GetProperty("open_to_first_query_ms").GetDouble();
            }

            var reopen = Stopwatch.StartNew();
            using (var store = ChromaStore.Open(folder, new ChromaStoreOptions { AutoCompaction = false }))
            {
                var client = store.GetClient(adminKey);
                var collection = client.GetCollection(CollectionName);
                var first = collection.Query([queries[0]], K, include: Include.None);
                result["reopen_first_query_seconds"] = reopen.Elapsed.TotalSeconds;
                result["reopen_graph_loaded"] = collection.Indexer?.LoadedFromFile ?? false;
                Console.WriteLine($"  reopen to first query {reopen.Elapsed.TotalSeconds:F3} s ({first.Ids[0].Count} results), graph loaded from file: {collection.Indexer?.LoadedFromFile}");

                if (!maintenance)
                {
                    result["load_avg_1m_end"] = LoadAverage();
                    result["total_seconds"] = stopwatch.Elapsed.TotalSeconds;
                    Emit(jsonPath, result);
                    return 0;
                }

                var backup = client.Backup(backupFolder);
                result["backup_seconds"] = backup.Elapsed.TotalSeconds;
                result["backup_bytes"] = backup.Bytes;
                DeleteFolder(backupFolder);
                Console.WriteLine($"  backup {backup.Elapsed.TotalSeconds:F2} s, {backup.Bytes / 1048576.0:F0} MiB");

                var deleting = Stopwatch.StartNew();
                int deleted = 0;
                var ids = new List<string>(BatchSize);
                for (int i = 0; i < n; i += 5)
                {
                    ids.Add(Id(i));
                    if (ids.Count == BatchSize || i + 5 >= n)
                    {
                        deleted += collection.Delete(ids);
                        ids.Clear();
                    }
                }

                double deleteSeconds = deleting.Elapsed.TotalSeconds;
                result["delete_20pct_seconds"] = deleteSeconds;
                result["deleted"] = deleted;
                var compacting = Stopwatch.StartNew();
                var compaction = collection.Compact();
                result["compact_seconds"] = compacting.Elapsed.TotalSeconds;
                WaitUntilIndexed(collection);
                result["compact_index_ready_seconds"] = compacting.Elapsed.TotalSeconds;
                result["compact_bytes_before"] = compaction.BytesBefore;
                result["compact_bytes_after"] = compaction.BytesAfter;
                Console.WriteLine(
                    $"  deleted {deleted} in {deleteSeconds:F1} s; compaction {result["compact_seconds"]:F2} s, graph ready again after " +
                    $"{compacting.Elapsed.TotalSeconds:F1} s; {compaction.BytesBefore / 1048576.0:F0} → {compaction.BytesAfter / 1048576.0:F0} MiB");
            }

            result["disk_bytes_after_compaction"] = DiskBytes(folder);
            result["load_avg_1m_end"] = LoadAverage();
            result["total_seconds"] = stopwatch.Elapsed.TotalSeconds;
            Emit(jsonPath, result);
        }
        finally
        {
            DeleteFolder(folder);
            DeleteFolder(backupFolder);
            File.Delete(folder + ".key");
        }

        return 0;
    }

    internal static Collection CreateCollection(ChromaStore store, string adminKey, VectorStorage storage = VectorStorage.Float32) =>
        store.GetClient(adminKey).CreateCollection(CollectionName, new CollectionOptions
        {
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine, VectorStorage = storage },
        });

    internal sealed record IngestResult(double Seconds, double IndexReadySeconds, double[] AddMs, List<double> Checkpoints, double MaxAddDuringCheckpointMs, int Count)
    {
        public double RecordsPerSecond => Count / Seconds;

        public double AddP50Ms => Percentile(AddMs, 0.50);

        public double AddP99Ms => Percentile(AddMs, 0.99);

        public double AddMaxMs => AddMs.Length == 0 ? 0 : AddMs.Max();

        /// <summary>Each write batch's wait for the collection's write lock (the writer stall proper).</summary>
        public double[] WaitMs { get; init; } = [];

        public double MaxWaitDuringCheckpointMs { get; init; }

        /// <summary>The five longest write-lock waits: how long, the GC pause inside each (sampled), and when (seconds from the first Add).</summary>
        public object[] LongestWaits { get; init; } = [];

        /// <summary>GC pause time and gen-2 collections from the first Add to index ready.</summary>
        public double GcPauseMs { get; init; }

        public int Gen2Collections { get; init; }

        /// <summary>CPU time of the whole process (every thread) from the first Add to the last one's return, and to index ready.</summary>
        public double CpuIngestSeconds { get; init; }

        public double CpuReadySeconds { get; init; }

        /// <summary>
        /// From the first Add to the moment the document (full-text) index holds every document: the background indexer
        /// catches up once writes pause and the graph has linked what was written, so this follows index ready.
        /// </summary>
        public double DocumentsIndexedSeconds { get; init; }

        /// <summary>CPU time of the whole process from the first Add to <see cref="DocumentsIndexedSeconds"/>.</summary>
        public double CpuDocumentsIndexedSeconds { get; init; }

        /// <summary>Documents the full-text index did not hold yet when the graph was ready.</summary>
        public long DocumentsPendingAtIndexReady { get; init; }

        public double WaitMaxMs => WaitMs.Length == 0 ? 0 : WaitMs.Max();

        public void AddTo(Dictionary<string, object?> result)
        {
            result["ingest_seconds"] = Seconds;
            result["ingest_records_per_second"] = RecordsPerSecond;
            result["index_ready_seconds"] = IndexReadySeconds;
            result["cpu_ingest_seconds"] = CpuIngestSeconds;
            result["cpu_ready_seconds"] = CpuReadySeconds;
            result["documents_indexed_seconds"] = DocumentsIndexedSeconds;
            result["cpu_documents_indexed_seconds"] = CpuDocumentsIndexedSeconds;
            result["documents_pending_at_index_ready"] = DocumentsPendingAtIndexReady;
            result["add_p50_ms"] = AddP50Ms;
            result["add_p99_ms"] = AddP99Ms;
            result["add_max_ms"] = AddMaxMs;
            result["add_max_during_checkpoint_ms"] = MaxAddDuringCheckpointMs;
            result["write_wait_p50_ms"] = Percentile(WaitMs, 0.50);
            result["write_wait_p99_ms"] = Percentile(WaitMs, 0.99);
            result["write_wait_max_ms"] = WaitMaxMs;
            result["write_wait_max_during_checkpoint_ms"] = MaxWaitDuringCheckpointMs;
            result["write_wait_longest"] = LongestWaits;
            result["gc_pause_ms"] = GcPauseMs;
            result["gen2_collections"] = Gen2Collections;
            result["checkpoint_ms"] = Checkpoints.Select(c => Math.Round(c, 2)).ToArray();
        }
    }

    /// <summary>
    /// Adds the rows in batches; with <paramref name="pacedByIndex"/>, each Add waits (untimed) until the index has
    /// linked everything, i.e. until the moment the background worker checkpoints.
    /// </summary>
    internal static IngestResult Ingest(Collection collection, float[] data, int n, int dimension, int stride, bool pacedByIndex, CheckpointWatch checkpoints, bool documents = true, bool metadata = true)
    {
        var adds = new List<(long Start, long End)>();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var pauseBefore = GC.GetTotalPauseDuration();
        int gen2Before = GC.CollectionCount(2);
        var started = Stopwatch.GetTimestamp();
        long inAdds = 0;
        for (int start = 0; start < n; start += BatchSize)
        {
            int size = Math.Min(BatchSize, n - start);
            var ids = new string[size];
            var embeddings = new float[size][];
            var metadatas = new IReadOnlyDictionary<string, MetadataValue?>?[size];
            var texts = new string[size];
            for (int i = 0; i < size; i++)
            {
                int row = start + i;
                ids[i] = Id(row);
                embeddings[i] = data.AsSpan(row * stride, dimension).ToArray();
                metadatas[i] = new Dictionary<string, MetadataValue?>
                {
                    ["bucket"] = row % 1000,
                    ["group"] = "g" + (row % 10).ToString(CultureInfo.InvariantCulture),
                    ["source"] = "s" + (row % 97).ToString(CultureInfo.InvariantCulture),
                };
                texts[i] = documents ? Document(row) : string.Empty;
            }

            if (pacedByIndex)
            {
                WaitUntilIndexed(collection);
            }

            long before = Stopwatch.GetTimestamp();
            collection.Add(ids, embeddings, metadata ? metadatas : null, documents ? texts : null);
            long after = Stopwatch.GetTimestamp();
            adds.Add((before, after));
            inAdds += after - before;
        }

        double seconds = pacedByIndex ? inAdds / (double)Stopwatch.Frequency : Stopwatch.GetElapsedTime(started).TotalSeconds;
        double cpuIngest = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        WaitUntilIndexed(collection);
        double cpuReady = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double ready = Stopwatch.GetElapsedTime(started).TotalSeconds;
        double gcPause = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds;
        int gen2 = GC.CollectionCount(2) - gen2Before;
        long pendingDocuments = collection.GetIndexingStatus().UnindexedDocuments;
        WaitUntilDocumentsIndexed(collection);
        double documentsIndexed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        double cpuDocumentsIndexed = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var windows = checkpoints.Windows();
        double duringCheckpoint = adds
            .Where(a => windows.Any(w => a.Start < w.End && a.End > w.Start))
            .Select(a => Stopwatch.GetElapsedTime(a.Start, a.End).TotalMilliseconds)
            .DefaultIfEmpty(0)
            .Max();
        var waits = checkpoints.WriteWaits();
        return new IngestResult(
            seconds,
            ready,
            adds.Select(a => Stopwatch.GetElapsedTime(a.Start, a.End).TotalMilliseconds).ToArray(),
            windows.Select(w => Stopwatch.GetElapsedTime(w.Start, w.End).TotalMilliseconds).ToList(),
            duringCheckpoint,
            n)
        {
            WaitMs = waits.Select(w => Stopwatch.GetElapsedTime(w.Start, w.End).TotalMilliseconds).ToArray(),
            LongestWaits = waits.OrderByDescending(w => w.End - w.Start).Take(5).Select(w => (object)new
            {
                ms = Math.Round(Stopwatch.GetElapsedTime(w.Start, w.End).TotalMilliseconds, 2),
                gc_pause_ms = Math.Round(checkpoints.GcPauseWithinMs(w.Start, w.End), 2),
                at_seconds = Math.Round(Stopwatch.GetElapsedTime(started, w.Start).TotalSeconds, 2),
            }).ToArray(),
            GcPauseMs = gcPause,
            Gen2Collections = gen2,
            CpuIngestSeconds = cpuIngest,
            CpuReadySeconds = cpuReady,
            DocumentsIndexedSeconds = documentsIndexed,
            CpuDocumentsIndexedSeconds = cpuDocumentsIndexed,
            DocumentsPendingAtIndexReady = pendingDocuments,
            MaxWaitDuringCheckpointMs = waits
                .Where(a => windows.Any(w => a.Start < w.End && a.End > w.Start))
                .Select(a => Stopwatch.GetElapsedTime(a.Start, a.End).TotalMilliseconds)
                .DefaultIfEmpty(0)
                .Max(),
        };
    }

    private sealed record CurvePoint(
        [property: JsonPropertyName("ef")] int Ef,
        [property: JsonPropertyName("recall_at_10")] double Recall,
        [property: JsonPropertyName("p50_ms")] double P50Ms,
        [property: JsonPropertyName("p99_ms")] double P99Ms,
        [property: JsonPropertyName("qps")] double Qps);

    /// <summary>Per ef (ascending), every query once, single-threaded; stops after the first ef past recall 0.995.</summary>
    private static (List<CurvePoint> Curve, CurvePoint? Ef95, CurvePoint? Ef99) QuerySweep(Collection collection, float[][] queries, int[] truth, int[] efs)
    {
        var curve = new List<CurvePoint>();
        var latencies = new double[queries.Length];
        foreach (int ef in efs.Order())
        {
            collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
            for (int q = 0; q < Math.Min(20, queries.Length); q++)
            {
                collection.Query([queries[q]], K, include: Include.None); // warm-up
            }

            int hits = 0;
            var all = Stopwatch.StartNew();
            for (int q = 0; q < queries.Length; q++)
            {
                long before = Stopwatch.GetTimestamp();
                var ids = collection.Query([queries[q]], K, include: Include.None).Ids[0];
                latencies[q] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
                var expected = truth.AsSpan(q * K, K);
                foreach (string id in ids)
                {
                    hits += expected.Contains(int.Parse(id.AsSpan(1), CultureInfo.InvariantCulture)) ? 1 : 0;
                }
            }

            var point = new CurvePoint(ef, hits / (double)(queries.Length * K), Percentile(latencies, 0.50), Percentile(latencies, 0.99), queries.Length / all.Elapsed.TotalSeconds);
            curve.Add(point);
            Console.WriteLine($"  ef {ef,4}: recall@10 {point.Recall:F4}, p50 {point.P50Ms:F3} ms, p99 {point.P99Ms:F3} ms, {point.Qps:F0} QPS");
            if (point.Recall >= 0.995)
            {
                break;
            }
        }

        return (curve, curve.FirstOrDefault(p => p.Recall >= 0.95), curve.FirstOrDefault(p => p.Recall >= 0.99));
    }

    internal static void WaitUntilIndexed(Collection collection)
    {
        while (collection.GetIndexingStatus().UnindexedRecords > 0)
        {
            Thread.Sleep(1);
        }
    }

    /// <summary>Waits until the full-text index holds every document (polled every 10 ms: the indexer works in chunks of ~1,000).</summary>
    internal static void WaitUntilDocumentsIndexed(Collection collection)
    {
        while (collection.GetIndexingStatus().UnindexedDocuments > 0)
        {
            Thread.Sleep(10);
        }
    }

    private static string Id(int row) => "i" + row.ToString(CultureInfo.InvariantCulture);

    private static readonly string[] Words =
    [
        "the", "store", "vector", "index", "query", "record", "graph", "search", "memory", "file", "collection", "metadata",
        "document", "embedding", "nearest", "neighbour", "distance", "cosine", "layer", "link", "batch", "write", "read",
        "open", "close", "backup", "compaction", "checkpoint", "filter", "tenant", "database", "key", "model", "text",
        "chunk", "wiki", "mailbox", "code", "page", "section", "answer", "question", "company", "project", "release",
        "server", "client", "process", "thread", "latency", "recall", "throughput", "disk", "cache", "journal", "of",
        "and", "to", "in", "for", "with", "on", "by", "from", "as", "is", "are", "was", "be", "this", "that", "it",
    ];

    /// <summary>About 200 characters of words chosen by a fixed generator per row (same text on every run).</summary>
    private static string Document(int row)
    {
        var builder = new StringBuilder(220);
        ulong state = ((ulong)(uint)row * 0x9E3779B97F4A7C15UL) + 1;
        while (builder.Length < 200)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            builder.Append(Words[(int)(state % (ulong)Words.Length)]);
        }

        return builder.Append('.').ToString();
    }

    /// <summary>The first <paramref name="limit"/> base rows (all when 0), unit-normalized in place.</summary>
    internal static (float[] Data, int Count, int Dimension, int Stride) LoadBase(string folder, int limit)
    {
        var (data, count, dimension, stride) = BigAnnFiles.ReadFbin(Path.Combine(folder, "base.fbin"), paddingMultiple: 1);
        if (limit > count)
        {
            throw new ArgumentException($"--n {limit} exceeds the {count} rows of {folder}/base.fbin.");
        }

        count = limit > 0 ? limit : count;
        if ((long)count * stride < data.Length)
        {
            data = data.AsSpan(0, count * stride).ToArray();
        }

        for (int row = 0; row < count; row++)
        {
            Normalize(data.AsSpan(row * stride, dimension));
        }

        return (data, count, dimension, stride);
    }

    internal static void Normalize(Span<float> row)
    {
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(row);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(row, norm, row);
        }
    }

    private static float[] Flatten(float[][] rows, int dimension)
    {
        var flat = new float[rows.Length * dimension];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i].CopyTo(flat, i * dimension);
        }

        return flat;
    }

    internal static double Percentile(double[] values, double p)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    /// <summary>Bytes per file kind: sqlite (database, WAL, shm), vectors (.vec), graph (.hnsw), filter (derived filter data), other.</summary>
    internal static Dictionary<string, long> DiskBytes(string folder)
    {
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            string name = file.Name;
            string kind = name.StartsWith("chroma.sqlite3", StringComparison.Ordinal) ? "sqlite"
                : name.EndsWith(".vec", StringComparison.Ordinal) ? "vectors"
                : name.EndsWith(".hnsw", StringComparison.Ordinal) ? "graph"
                : name.StartsWith("keyring", StringComparison.Ordinal) ? "keyring"
                : "other:" + Path.GetExtension(name);
            bytes[kind] = bytes.GetValueOrDefault(kind) + file.Length;
        }

        bytes["total"] = bytes.Values.Sum();
        return bytes;
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    internal static double LoadAverage()
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
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    internal static void Emit(string? path, Dictionary<string, object?> result)
    {
        string line = JsonSerializer.Serialize(result, JsonOptions);
        Console.WriteLine(line);
        if (!string.IsNullOrEmpty(path))
        {
            File.AppendAllText(path, line + "\n");
        }
    }

    private static void DeleteFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// From the store's public instruments: every background graph checkpoint's window
    /// ("embeddedchroma.checkpoint.duration") and every write batch's wait for its collection's write lock
    /// ("embeddedchroma.collection.write_wait").
    /// </summary>
    internal sealed class CheckpointWatch : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(long Start, long End)> _windows = [];
        private readonly List<(long Start, long End)> _waits = [];

        /// <summary>(timestamp, total GC pause so far in ticks), sampled about every millisecond, to tell GC pauses inside a wait.</summary>
        private readonly List<(long At, long PauseTicks)> _gcSamples = [];
        private readonly Thread _sampler;
        private volatile bool _stopping;

        public CheckpointWatch()
        {
            _sampler = new Thread(() =>
            {
                while (!_stopping)
                {
                    var sample = (Stopwatch.GetTimestamp(), GC.GetTotalPauseDuration().Ticks);
                    lock (_gcSamples)
                    {
                        _gcSamples.Add(sample);
                    }

                    Thread.Sleep(1);
                }
            })
            { IsBackground = true, Name = "gc-pause-sampler" };
            _sampler.Start();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "EmbeddedChroma" && instrument.Name is "embeddedchroma.checkpoint.duration" or "embeddedchroma.collection.write_wait")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, seconds, _, _) =>
            {
                long end = Stopwatch.GetTimestamp();
                var list = instrument.Name == "embeddedchroma.checkpoint.duration" ? _windows : _waits;
                lock (list)
                {
                    list.Add((end - (long)(seconds * Stopwatch.Frequency), end));
                }
            });
            _listener.Start();
        }

        /// <summary>
        /// GC pause time (ms) between the last sample at or before <paramref name="start"/> and the first at or after
        /// <paramref name="end"/>: an upper bound on the pause inside the window, at most a sampling interval's worth over.
        /// </summary>
        public double GcPauseWithinMs(long start, long end)
        {
            lock (_gcSamples)
            {
                int before = _gcSamples.FindLastIndex(s => s.At <= start);
                int after = _gcSamples.FindIndex(s => s.At >= end);
                if (before < 0 || after < 0)
                {
                    return double.NaN;
                }

                return TimeSpan.FromTicks(_gcSamples[after].PauseTicks - _gcSamples[before].PauseTicks).TotalMilliseconds;
            }
        }

        public List<(long Start, long End)> Windows()
        {
            lock (_windows)
            {
                return [.. _windows];
            }
        }

        public List<(long Start, long End)> WriteWaits()
        {
            lock (_waits)
            {
                return [.. _waits];
            }
        }

        public void Dispose()
        {
            _stopping = true;
            _sampler.Join();
            _listener.Dispose();
        }
    }
}
