using System.Diagnostics;
using Cloud.Unum.USearch;
using System.Text.Json;
using System.Text.Json.Serialization;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann</c>: builds an index over big-ann-benchmarks files (timed, with the given thread count), then for each ef
/// runs the query set single-threaded (after a warm-up, whole passes for at least 2 s) and appends one JSON line: engine, ef, recall@10, QPS, build time and threads,
/// index bytes and the process's peak working set. <c>--engine exact</c> runs <see cref="ExactScan"/> as reference;
/// <c>--engine usearch</c> runs USearch (<see cref="USearchEngine"/>; <c>usearch-f16</c> and <c>usearch-i8</c> store its
/// vectors in USearch's own half or int8 quantization) and <c>--engine hnswlib</c> native hnswlib 0.6.2
/// (<see cref="HnswlibEngine"/>, <c>--hnswlib-lib PATH</c>, default benchmarks/native/build/libhnswlib_shim.so) with the
/// same M, efConstruction and ef. <c>index_bytes</c> is vectors + links for hnsw and hnswlib (USearch: its <c>memory_usage</c>).
/// </summary>
/// <remarks>
/// <para>The truth file holds squared-L2 neighbours; for <c>--metric cosine|ip</c> the truth is recomputed exactly in that
/// metric. Cosine normalizes base rows and queries first, as the store does on write.</para>
/// <para><c>--filter-selectivity S</c> (0 &lt; S &lt; 1) admits a seeded random subset of round(S·n) slots
/// (<c>--filter-seed</c>, default 1): the truth is then recomputed by brute force over the admitted slots, HNSW and
/// exact get the subset as a <see cref="SlotFilter"/> bitmap and USearch as a filter callback.</para>
/// </remarks>
internal static class AnnRunner
{
    internal const int K = 10;
    private const double WarmupSeconds = 0.5;
    private const double MinimumSeconds = 2.0;
    private const double PairedSeconds = 6.0;

    /// <summary>One query: writes up to <see cref="K"/> slots, best first, and returns how many.</summary>
    private delegate int AnnSearch(ReadOnlySpan<float> query, Span<int> slots);

    public static int Run(AnnArguments options)
    {
        string basePath = options.String("base");
        string queriesPath = options.String("queries");
        string? truthPath = options.String("truth", "");
        string metric = options.String("metric", "l2");
        string engine = options.String("engine", "hnsw");
        int m = options.Int("m", 16);
        int efConstruction = options.Int("ef-construction", 128);
        int[] efs = options.IntList("ef", "10,16,32,64,128,256");
        int threads = options.Int("threads", 1);
        string selectivityText = options.String("filter-selectivity", "1");
        int filterSeed = options.Int("filter-seed", 1);
        string? jsonPath = options.String("json", "");
        bool distinctFilters = options.Int("distinct-filters", 0) != 0;
        int exactScanLimit = options.Int("exact-scan-limit", 0);
        VectorStorage vectorStorage = CollectionConfiguration.ParseVectorStorage(engine == "store" ? options.String("vector-storage", "float32") : "float32");
        int reopenRounds = engine == "store" ? options.Int("reopen-rounds", 3) : 3;
        string? keepStore = engine == "store" ? options.String("keep-store", "") : null;
        string? hnswlibPath = engine.Contains("hnswlib", StringComparison.Ordinal) ? options.String("hnswlib-lib", "") : null;
        options.ThrowIfUnused();

        DistanceSpace space = metric switch
        {
            "l2" => DistanceSpace.L2,
            "cosine" => DistanceSpace.Cosine,
            "ip" => DistanceSpace.InnerProduct,
            _ => throw new ArgumentException($"--metric must be l2, cosine or ip; got '{metric}'."),
        };

        var (data, count, dimension, stride) = BigAnnFiles.ReadFbin(basePath);
        var (queryData, queryCount, queryDimension, _) = BigAnnFiles.ReadFbin(queriesPath, paddingMultiple: 1);
        if (queryDimension != dimension)
        {
            throw new InvalidDataException($"Queries have {queryDimension} dimensions; the base has {dimension}.");
        }

        if (space == DistanceSpace.Cosine)
        {
            for (int i = 0; i < count; i++)
            {
                Span<float> row = data.AsSpan(i * stride, dimension);
                VectorMath.Normalize(row, row);
            }

            for (int q = 0; q < queryCount; q++)
            {
                Span<float> query = queryData.AsSpan(q * dimension, dimension);
                VectorMath.Normalize(query, query);
            }
        }

        if (engine == "store")
        {
            double[] selectivities = selectivityText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            return AnnStoreRunner.Run(new AnnStoreRunner.Setup(
                metric, space, data, count, dimension, stride, queryData, queryCount, truthPath, m, efConstruction, efs, selectivities, jsonPath)
            {
                DistinctFilters = distinctFilters,
                ExactScanLimit = exactScanLimit,
                ReopenRounds = reopenRounds,
                VectorStorage = vectorStorage,
                KeepStore = string.IsNullOrEmpty(keepStore) ? null : Path.GetFullPath(keepStore),
            });
        }

        double selectivity = double.Parse(selectivityText, System.Globalization.CultureInfo.InvariantCulture);
        var rows = new ArrayVectorRows(data, dimension, stride);
        bool filtered = selectivity < 1.0;
        ulong[] admitted = filtered ? AnnDataGenerator.RandomSubset(count, selectivity, filterSeed) : AnnDataGenerator.AllSlots(count);
        int[] truth;
        int truthK;
        if (space == DistanceSpace.L2 && !filtered && !string.IsNullOrEmpty(truthPath))
        {
            (truth, int truthCount, truthK) = BigAnnFiles.ReadIbin(truthPath);
            if (truthCount != queryCount || truthK < K)
            {
                throw new InvalidDataException($"Truth has {truthCount} × {truthK}; need {queryCount} × ≥{K}.");
            }
        }
        else
        {
            truthK = K;
            truth = AnnDataGenerator.ExactTruth(rows, space, queryData, dimension, K, admitted);
        }

        var results = new List<AnnResult>();
        AnnResult Result(string name, int ef, (double Recall, double Qps) measured, double buildSeconds, int buildThreads, long indexBytes, int resultM, int resultEfConstruction)
        {
            using var process = Process.GetCurrentProcess();
            return new AnnResult(
                name, metric, count, dimension, resultM, resultEfConstruction, ef, measured.Recall, measured.Qps, buildSeconds, buildThreads,
                indexBytes, process.PeakWorkingSet64, selectivity);
        }

        // One engine: built, then measured ef by ef. Several ("hnsw+hnswlib+usearch"): all built in this process one
        // after another, then per ef their query passes alternate (see MeasurePaired), so load drift on a shared
        // machine hits them alike.
        string[] engines = engine.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var built = new List<BuiltEngine>();
        try
        {
            foreach (string name in engines)
            {
                built.Add(BuildEngine(name, space, metric, data, count, dimension, stride, m, efConstruction, threads, filtered, admitted, hnswlibPath));
            }

            if (built.Count == 1)
            {
                BuiltEngine only = built[0];
                foreach (int ef in only.Name == "exact" ? [0] : efs)
                {
                    only.SetEf(ef);
                    results.Add(Result(only.Name, ef, Measure(only.Search, queryData, queryCount, dimension, truth, truthK), only.BuildSeconds, only.BuildThreads, only.IndexBytes, only.M, only.EfConstruction));
                }
            }
            else
            {
                foreach (int ef in efs)
                {
                    foreach (BuiltEngine e in built)
                    {
                        e.SetEf(ef);
                    }

                    var measured = MeasurePaired(built.Select(e => e.Search).ToArray(), queryData, queryCount, dimension, truth, truthK);
                    for (int e = 0; e < built.Count; e++)
                    {
                        BuiltEngine b = built[e];
                        results.Add(Result(b.Name, ef, (measured[e].Recall, measured[e].Qps), b.BuildSeconds, b.BuildThreads, b.IndexBytes, b.M, b.EfConstruction) with
                        {
                            PairedWith = engine,
                            PairedSlices = measured[e].Slices,
                            QpsRatioToFirst = measured[e].RatioToFirst,
                        });
                    }
                }
            }
        }
        finally
        {
            foreach (BuiltEngine b in built)
            {
                b.Resource?.Dispose();
            }
        }

        var json = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
        using var writer = string.IsNullOrEmpty(jsonPath) ? null : new StreamWriter(jsonPath, append: true);
        foreach (AnnResult result in results)
        {
            Console.WriteLine($"{result.Engine,-7} ef {result.Ef,4}  filter {result.FilterSelectivity:G3}  recall@10 {result.RecallAt10:F4}  {result.Qps,10:F0} QPS");
            writer?.WriteLine(JsonSerializer.Serialize(result, json));
        }

        return 0;
    }

    /// <summary>A built index ready to query: its search, ef setter, build figures and what to dispose.</summary>
    private sealed record BuiltEngine(string Name, AnnSearch Search, Action<int> SetEf, double BuildSeconds, int BuildThreads, long IndexBytes, int M, int EfConstruction, IDisposable? Resource);

    private static BuiltEngine BuildEngine(
        string engine, DistanceSpace space, string metric, float[] data, int count, int dimension, int stride, int m, int efConstruction, int threads,
        bool filtered, ulong[] admitted, string? hnswlibPath)
    {
        var rows = new ArrayVectorRows(data, dimension, stride);
        if (engine == "exact")
        {
            var neighbors = new Neighbor[K];
            AnnSearch search = SearchWith(neighbors, (query, destination) => ExactScan.Search(rows, space, query, K, SlotFilter.FromBitmap(admitted), destination));
            return new BuiltEngine("exact", search, _ => { }, 0, 0, 0, 0, 0, null);
        }

        if (engine is "hnsw" or "hnsw-repaired")
        {
            HnswIndex index = HnswIndex.Create(rows, space, new HnswParameters(M: m, EfConstruction: efConstruction, InitialCapacity: count));
            double buildSeconds = Build(index.Insert, count, threads);
            if (engine == "hnsw-repaired")
            {
                // The reachability repair the store's indexer runs once caught up (HnswIndex.RepairReachability): its cost
                // beside the build's, and (paired with plain "hnsw", same seed) its effect on recall and QPS.
                var repairWatch = Stopwatch.StartNew();
                ReachabilityRepair repair = index.RepairReachability();
                double repairSeconds = repairWatch.Elapsed.TotalSeconds;
                Console.WriteLine($"repair: {repairSeconds * 1000:F1} ms ({repairSeconds / buildSeconds:P3} of the build), {repair.Unreached} unreached, " +
                    $"{repair.LinksAdded} links added, {repair.Remaining} remaining");

                // Again, with nothing left to repair: the check the indexer runs at every catch-up (one flood).
                repairWatch.Restart();
                repair = index.RepairReachability();
                Console.WriteLine($"repair again: {repairWatch.Elapsed.TotalMilliseconds:F2} ms, {repair.Unreached} unreached");
            }

            // Vectors + links, the basis hnswlib's figure uses: the graph's own bytes plus the rows it reads (the
            // arena's 64-byte aligned rows, stride × 4 bytes each; the store keeps them whether or not there is a graph).
            long graphBytes = index.MemoryBytes;
            long indexBytes = graphBytes + ((long)count * stride * sizeof(float));
            Console.WriteLine($"build: {count} × {dimension} {metric}, M = {m}, efConstruction = {efConstruction}, {threads} thread(s): {buildSeconds:F2} s, " +
                $"{graphBytes / (1024.0 * 1024):F1} MiB graph, {indexBytes / (double)count:F0} B/vector with the rows, max level {index.MaxLevel}");
            var neighbors = new Neighbor[K];
            int currentEf = 10;
            AnnSearch search = SearchWith(neighbors, (query, destination) => index.Search(query, K, currentEf, SlotFilter.FromBitmap(admitted), destination));
            return new BuiltEngine(engine, search, ef => currentEf = ef, buildSeconds, threads, indexBytes, m, efConstruction, index);
        }

        if (USearchEngine.TryParseEngine(engine, out ScalarKind quantization))
        {
            USearchEngine index = USearchEngine.Create(space, dimension, m, efConstruction, count, threads, quantization);
            double buildSeconds = Build(slot => index.Add((ulong)slot, rows.GetRow(slot)), count, threads);
            if (index.Count != count)
            {
                throw new InvalidOperationException($"USearch holds {index.Count} vectors after adding {count}.");
            }

            long indexBytes = index.MemoryBytes;
            long vectorBytes = (long)count * dimension * USearchEngine.BytesPerComponent(quantization);
            Console.WriteLine($"build {engine}: {count} × {dimension} {metric}, M = {m}, efConstruction = {efConstruction}, {threads} thread(s): {buildSeconds:F2} s, " +
                $"memory_usage {indexBytes / (1024.0 * 1024):F1} MiB ({(indexBytes - vectorBytes) / (1024.0 * 1024):F1} MiB besides the vectors), " +
                $"serialized {index.SerializedBytes / (1024.0 * 1024):F1} MiB, ISA {index.HardwareAcceleration}");
            var keys = new ulong[K];
            var distances = new float[K];
            AnnSearch search = (query, slots) =>
            {
                int n = filtered ? index.FilteredSearch(query, admitted, keys, distances) : index.Search(query, keys, distances);
                for (int i = 0; i < n; i++)
                {
                    slots[i] = (int)keys[i];
                }

                return n;
            };
            return new BuiltEngine(engine, search, index.SetExpansionSearch, buildSeconds, threads, indexBytes, m, efConstruction, index);
        }

        if (engine == "hnswlib")
        {
            if (filtered)
            {
                throw new ArgumentException("--engine hnswlib runs unfiltered only (the shim has no filter callback).");
            }

            string library = string.IsNullOrEmpty(hnswlibPath) ? HnswlibEngine.DefaultLibraryPath() : hnswlibPath;
            HnswlibEngine index = HnswlibEngine.Create(library, space, dimension, m, efConstruction, count);
            var stopwatch = Stopwatch.StartNew();
            index.AddAll(data, count, stride, threads);
            double buildSeconds = stopwatch.Elapsed.TotalSeconds;
            if (index.Count != count)
            {
                throw new InvalidOperationException($"hnswlib holds {index.Count} vectors after adding {count}.");
            }

            long indexBytes = index.IndexBytes;
            Console.WriteLine($"build: {count} × {dimension} {metric}, M = {m}, efConstruction = {efConstruction}, {threads} thread(s): {buildSeconds:F2} s, " +
                $"{indexBytes / (1024.0 * 1024):F1} MiB vectors + links, {indexBytes / (double)count:F0} B/vector ({library})");
            var labels = new long[K];
            var distances = new float[K];
            AnnSearch search = (query, slots) =>
            {
                int n = index.Search(query, labels, distances);
                for (int i = 0; i < n; i++)
                {
                    slots[i] = (int)labels[i];
                }

                return n;
            };
            return new BuiltEngine("hnswlib", search, index.SetEf, buildSeconds, threads, indexBytes, m, efConstruction, index);
        }

        throw new ArgumentException($"--engine must be hnsw, hnsw-repaired, hnswlib, usearch (usearch-f16, usearch-i8: USearch's own quantized storage), store or exact, or several of hnsw/hnsw-repaired/hnswlib/usearch* joined by '+'; got '{engine}'.");
    }

    /// <summary>
    /// Several engines at one ef: after a warm-up of each, whole passes over the query set alternate between the engines
    /// (the order rotating every round) for at least <see cref="PairedSeconds"/>. Per engine: recall of its first pass,
    /// QPS = median over its passes, and the median over rounds of its pass QPS / the first engine's pass QPS in the same round.
    /// </summary>
    private static (double Recall, double Qps, int Slices, double RatioToFirst)[] MeasurePaired(AnnSearch[] searches, float[] queries, int queryCount, int dimension, int[] truth, int truthK) =>
        MeasurePaired(searches.Select(search => (IndexedSearch)((q, slots) => search(queries.AsSpan(q * dimension, dimension), slots))).ToArray(), queryCount, truth, truthK);

    /// <summary>Like the overload over query rows, with each query given by its index in the query set.</summary>
    internal static (double Recall, double Qps, int Slices, double RatioToFirst)[] MeasurePaired(IndexedSearch[] searches, int queryCount, int[] truth, int truthK, double pairedSeconds = PairedSeconds)
    {
        int engines = searches.Length;
        var passQps = Enumerable.Range(0, engines).Select(_ => new List<double>()).ToArray();
        var recall = new double[engines];
        Span<int> slots = stackalloc int[K];
        var found = new int[queryCount * K];
        for (int e = 0; e < engines; e++)
        {
            var warmup = Stopwatch.StartNew();
            for (int q = 0; warmup.Elapsed.TotalSeconds < WarmupSeconds; q = (q + 1) % queryCount)
            {
                searches[e](q, slots);
            }
        }

        var total = Stopwatch.StartNew();
        for (int round = 0; total.Elapsed.TotalSeconds < pairedSeconds || round < 3; round++)
        {
            for (int i = 0; i < engines; i++)
            {
                int e = (i + round) % engines;
                var stopwatch = Stopwatch.StartNew();
                for (int q = 0; q < queryCount; q++)
                {
                    int n = searches[e](q, slots);
                    if (round == 0)
                    {
                        for (int j = 0; j < K; j++)
                        {
                            found[(q * K) + j] = j < n ? slots[j] : -1;
                        }
                    }
                }

                passQps[e].Add(queryCount / stopwatch.Elapsed.TotalSeconds);
                if (round == 0)
                {
                    long hits = 0;
                    for (int q = 0; q < queryCount; q++)
                    {
                        ReadOnlySpan<int> expected = truth.AsSpan(q * truthK, K);
                        foreach (int slot in found.AsSpan(q * K, K))
                        {
                            hits += slot >= 0 && expected.Contains(slot) ? 1 : 0;
                        }
                    }

                    recall[e] = hits / (double)(queryCount * K);
                }
            }
        }

        return Enumerable.Range(0, engines).Select(e => (
            recall[e],
            Median(passQps[e]),
            passQps[e].Count,
            Median(passQps[e].Zip(passQps[0], (a, b) => a / b).ToList()))).ToArray();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Inserts slots [0, count) from <paramref name="threads"/> threads pulling from a shared counter.</summary>
    internal static double Build(Action<int> insert, int count, int threads)
    {
        int next = -1;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            int slot;
            while ((slot = Interlocked.Increment(ref next)) < count)
            {
                insert(slot);
            }
        })).ToArray();
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        return stopwatch.Elapsed.TotalSeconds;
    }

    private delegate int NeighborSearch(ReadOnlySpan<float> query, Span<Neighbor> destination);

    private static AnnSearch SearchWith(Neighbor[] buffer, NeighborSearch search) => (query, slots) =>
    {
        int n = search(query, buffer);
        for (int i = 0; i < n; i++)
        {
            slots[i] = buffer[i].Slot;
        }

        return n;
    };

    /// <summary>One query by its index in the query set: writes up to <see cref="K"/> slots, best first, and returns how many.</summary>
    internal delegate int IndexedSearch(int query, Span<int> slots);

    private static (double Recall, double Qps) Measure(AnnSearch search, float[] queries, int queryCount, int dimension, int[] truth, int truthK) =>
        Measure((q, slots) => search(queries.AsSpan(q * dimension, dimension), slots), queryCount, truth, truthK);

    /// <summary>Recall@10 over the first pass and QPS over whole passes (single thread, after a warm-up).</summary>
    internal static (double Recall, double Qps) Measure(IndexedSearch search, int queryCount, int[] truth, int truthK)
    {
        Span<int> slots = stackalloc int[K];

        // Warm-up for at least WarmupSeconds: tiered compilation promotes the search loop to optimized code only
        // after ~30 calls plus a 100 ms delay, so a short run at small ef would otherwise be timed in tier 0.
        var warmup = Stopwatch.StartNew();
        for (int q = 0; warmup.Elapsed.TotalSeconds < WarmupSeconds; q = (q + 1) % queryCount)
        {
            search(q, slots);
        }

        // Timed: whole passes over the query set until MinimumSeconds have elapsed; recall from the first pass.
        var found = new int[queryCount * K];
        long searched = 0;
        var stopwatch = Stopwatch.StartNew();
        do
        {
            for (int q = 0; q < queryCount; q++)
            {
                int n = search(q, slots);
                if (searched < queryCount)
                {
                    for (int i = 0; i < K; i++)
                    {
                        found[(q * K) + i] = i < n ? slots[i] : -1;
                    }
                }
            }

            searched += queryCount;
        }
        while (stopwatch.Elapsed.TotalSeconds < MinimumSeconds);

        double seconds = stopwatch.Elapsed.TotalSeconds;
        long hits = 0;
        for (int q = 0; q < queryCount; q++)
        {
            ReadOnlySpan<int> expected = truth.AsSpan(q * truthK, K);
            foreach (int slot in found.AsSpan(q * K, K))
            {
                hits += slot >= 0 && expected.Contains(slot) ? 1 : 0;
            }
        }

        return (hits / (double)(queryCount * K), searched / seconds);
    }

    private sealed record AnnResult(
        [property: JsonPropertyName("engine")] string Engine,
        [property: JsonPropertyName("metric")] string Metric,
        [property: JsonPropertyName("n")] int Count,
        [property: JsonPropertyName("dim")] int Dimension,
        [property: JsonPropertyName("m")] int M,
        [property: JsonPropertyName("ef_construction")] int EfConstruction,
        [property: JsonPropertyName("ef")] int Ef,
        [property: JsonPropertyName("recall_at_10")] double RecallAt10,
        [property: JsonPropertyName("qps")] double Qps,
        [property: JsonPropertyName("build_seconds")] double BuildSeconds,
        [property: JsonPropertyName("build_threads")] int BuildThreads,
        [property: JsonPropertyName("index_bytes")] long IndexBytes,
        [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes,
        [property: JsonPropertyName("filter_selectivity")] double FilterSelectivity)
    {
        /// <summary>The engines measured together (passes alternating), or null for a run of one engine.</summary>
        [JsonPropertyName("paired_with")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? PairedWith { get; init; }

        [JsonPropertyName("paired_passes")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public int? PairedSlices { get; init; }

        /// <summary>Median over rounds of this engine's pass QPS / the first listed engine's in the same round.</summary>
        [JsonPropertyName("qps_ratio_to_first")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public double? QpsRatioToFirst { get; init; }
    }
}
