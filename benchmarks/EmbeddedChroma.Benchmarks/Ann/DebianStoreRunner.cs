using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann-debian --data DIR --ef 32,64 --plans auto,exact,walk,twohop,sketch,sketchwalk --json OUT [--m 16 --ef-construction 128 --queries N --metric cosine|l2] [--keep-store DIR] [--filtered-ef 16,24,…]</c>:
/// filtered search on real text (the data set of <see cref="DebianDataGenerator"/>) through a <see cref="ChromaStore"/>'s
/// public API. One store is built (every record with its id, description and metadata, in batches of 1,000, cosine; with
/// <c>--keep-store</c>, the store an earlier run kept there is reused instead, so runs and builds share one graph), then
/// closed and reopened once per plan with <see cref="ChromaStoreOptions.FilteredPlan"/> forced (the graph loaded
/// from its file, so every plan walks the same graph). Per plan and ef: the unfiltered query set, then each filter of
/// <c>filters.jsonl</c> (its <c>where</c>, evaluated once and then served from the store's allowed-slot cache, so the
/// figures are the search's); single-threaded, k = 10, ids only; 0.3 s warm-up, then passes over the query set for
/// at least 1 s; p50/p99 wall latency and the p50 of the calling thread's CPU time (what a query costs when it need not wait for a core) over every timed call, recall@10 from the first pass against the exact top 10 among
/// the rows the store's own <c>Get(where)</c> returns; then the filtered ÷ unfiltered cost measured paired (slices of the
/// two alternating: the median of per-slice ratios of summed times, and the ratio of the two sides' median latencies, the
/// p50 the ≤ 2× goal is stated in; both immune to load drift on a shared machine). One JSON line per
/// (plan, ef, filter). With <c>--filtered-ef</c>, each filter is run at each of those ef (the query's <c>efSearch</c>) and
/// paired against the unfiltered query at the collection's ef: the cost of buying a filter's recall with its own ef.
/// </summary>
/// <remarks>The pre-cost-model planner (exact scan up to max(4,096, n/10) allowed rows, else <c>walk</c>) is not a plan
/// of its own: its figure for a filter is the <c>exact</c> or <c>walk</c> line that rule picks (the same code paths).</remarks>
internal static class DebianStoreRunner
{
    private const int BatchSize = 1_000;
    private const string CollectionName = "debian";
    private const double WarmupSeconds = 0.3;
    private const double MinimumSeconds = 1.0;

    public static int Run(AnnArguments options)
    {
        string data = options.String("data");
        int[] efs = options.IntList("ef", "32,64");
        string[] plans = options.String("plans", "auto,exact,walk,twohop").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? jsonPath = options.String("json", "");
        int m = options.Int("m", 16);
        int efConstruction = options.Int("ef-construction", 128);
        int queryLimit = options.Int("queries", int.MaxValue);
        DistanceSpace space = options.String("metric", "cosine") switch
        {
            "cosine" => DistanceSpace.Cosine,
            "l2" => DistanceSpace.L2,
            string other => throw new ArgumentException($"--metric must be cosine or l2; got '{other}'."),
        };
        string kept = options.String("keep-store", "");
        int[] filteredEfs = options.IntList("filtered-ef", "0");
        if (filteredEfs.Any(ef => ef is < 0 or > CollectionConfiguration.MaxEfSearch))
        {
            throw new ArgumentException($"--filtered-ef takes ef values from 1 to {CollectionConfiguration.MaxEfSearch} (0: the collection's ef); got {string.Join(',', filteredEfs)}.");
        }
        options.ThrowIfUnused();

        var (vectors, count, dimension, stride) = BigAnnFiles.ReadFbin(Path.Combine(data, "base.fbin"));
        var (queryData, queryCount, _, _) = BigAnnFiles.ReadFbin(Path.Combine(data, "queries.fbin"), paddingMultiple: 1);
        queryCount = Math.Min(queryCount, queryLimit);
        var records = File.ReadLines(Path.Combine(data, "records.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var filters = File.ReadLines(Path.Combine(data, "filters.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        if (records.Count != count)
        {
            throw new InvalidDataException($"records.jsonl has {records.Count} lines; base.fbin {count} rows.");
        }

        var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            rowOf[(string)records[i]["id"]!] = i;
        }

        var queries = new float[queryCount][][];
        for (int q = 0; q < queryCount; q++)
        {
            queries[q] = [queryData.AsSpan(q * dimension, dimension).ToArray()];
        }

        string folder = kept.Length > 0 ? Path.GetFullPath(kept) : Path.Combine(Path.GetTempPath(), "ann-debian-" + Guid.NewGuid().ToString("N"));
        bool reuse = kept.Length > 0 && Directory.Exists(folder);
        using var writer = string.IsNullOrEmpty(jsonPath) ? null : new StreamWriter(jsonPath, append: true);
        var json = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        try
        {
            string adminKey;
            var admittedRows = new Dictionary<string, ulong[]>(StringComparer.Ordinal);
            adminKey = reuse ? ChromaStore.RecoverAdminKey(folder) : string.Empty;
            using (ChromaStore store = reuse ? ChromaStore.Open(folder) : ChromaStore.Create(folder, out adminKey))
            {
                Collection collection = reuse ? store.GetClient(adminKey).GetCollection(CollectionName) : store.GetClient(adminKey).CreateCollection(CollectionName, new CollectionOptions
                {
                    Configuration = new CollectionConfiguration { Space = space, MaxNeighbors = m, EfConstruction = efConstruction, EfSearch = efs[0] },
                });
                var stopwatch = Stopwatch.StartNew();
                for (int start = 0; start < count && !reuse; start += BatchSize)
                {
                    int size = Math.Min(BatchSize, count - start);
                    var ids = new string[size];
                    var embeddings = new float[size][];
                    var documents = records[start].ContainsKey("document") ? new string[size] : null;
                    var metadatas = new IReadOnlyDictionary<string, MetadataValue?>?[size];
                    for (int i = 0; i < size; i++)
                    {
                        JsonObject record = records[start + i];
                        ids[i] = (string)record["id"]!;
                        if (documents is not null)
                        {
                            documents[i] = (string)record["document"]!;
                        }
                        embeddings[i] = vectors.AsSpan((start + i) * stride, dimension).ToArray();
                        metadatas[i] = Metadata(record["metadata"]!.AsObject());
                    }

                    collection.Add(ids, embeddings, metadatas, documents);
                }

                if (reuse && collection.Count() != count)
                {
                    throw new InvalidDataException($"--keep-store {folder} holds {collection.Count()} records; {data} has {count}: a store kept for another data set.");
                }

                collection.WaitForIndex();
                PrintDegrees(collection, count);
                Console.WriteLine(reuse
                    ? $"ann-debian: reusing the store kept in {folder} ({collection.Count()} records)"
                    : $"ann-debian: {count} × {dimension} ingested and indexed in {stopwatch.Elapsed.TotalSeconds:F1} s (M {m}, efConstruction {efConstruction})");
                foreach (JsonObject filter in filters)
                {
                    string name = (string)filter["name"]!;
                    var bits = new ulong[(count + 63) / 64];
                    foreach (string id in collection.Get(where: Where.Parse(filter["where"]!.ToJsonString()), include: Include.None).Ids)
                    {
                        int row = rowOf[id];
                        bits[row >> 6] |= 1UL << (row & 63);
                    }

                    admittedRows[name] = bits;
                }
            }

            // Truth per filter (and unfiltered): exact top 10 over the admitted rows (cosine: the rows are unit length, as MiniLM's are).
            var rows = new ArrayVectorRows(vectors, dimension, stride);
            float[] flatQueries = queryData.AsSpan(0, queryCount * dimension).ToArray();
            var truths = new Dictionary<string, int[]>(StringComparer.Ordinal) { [""] = AnnDataGenerator.ExactTruth(rows, space, flatQueries, dimension, AnnRunner.K) };
            foreach (var (name, bits) in admittedRows)
            {
                truths[name] = AnnDataGenerator.ExactTruth(rows, space, flatQueries, dimension, AnnRunner.K, bits);
            }

            foreach (string plan in plans)
            {
                FilteredPlan forced = plan switch
                {
                    "auto" => FilteredPlan.Auto,
                    "exact" => FilteredPlan.Exact,
                    "walk" => FilteredPlan.Walk,
                    "twohop" => FilteredPlan.TwoHop,
                    "sketch" => FilteredPlan.Sketch,
                    "sketchwalk" => FilteredPlan.SketchWalk,
                    _ => throw new ArgumentException($"--plans: unknown plan '{plan}' (auto, exact, walk, twohop, sketch, sketchwalk)."),
                };
                using ChromaStore store = ChromaStore.Open(folder, new ChromaStoreOptions { FilteredPlan = forced });
                Collection collection = store.GetClient(adminKey).GetCollection(CollectionName);
                foreach (int ef in efs)
                {
                    collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
                    Measure(collection, rowOf, queries, null, truths[""], out double recall, out double p50, out double p99, out double qps, out double cpuP50);
                    double unfilteredCpu = cpuP50;
                    double unfilteredP50 = p50;
                    Emit(new DebianResult(plan, ef, "(none)", "none", 1.0, recall, p50, p99, qps, 1.0, LoadAverage()) { CpuP50Ms = cpuP50, CpuP50RatioToUnfiltered = 1.0 });
                    foreach (JsonObject filter in filters)
                    {
                        string name = (string)filter["name"]!;
                        Where where = Where.Parse(filter["where"]!.ToJsonString());
                        foreach (int filteredEf in filteredEfs)
                        {
                            int? efSearch = filteredEf > 0 ? filteredEf : null;
                            Measure(collection, rowOf, queries, where, truths[name], out recall, out p50, out p99, out qps, out cpuP50, efSearch);
                            var (paired, pairedP50) = MeasurePaired(collection, queries, where, efSearch);
                            Emit(new DebianResult(plan, ef, name, (string)filter["family"]!, (double)filter["selectivity"]!, recall, p50, p99, qps, p50 / unfilteredP50, LoadAverage())
                            {
                                CpuP50Ms = cpuP50, CpuP50RatioToUnfiltered = cpuP50 / unfilteredCpu, PairedRatioToUnfiltered = paired, PairedP50RatioToUnfiltered = pairedP50, FilteredEf = efSearch,
                            });
                        }
                    }

                    Console.WriteLine($"  planner costs after {plan} at ef {ef}: {collection.Engine.Planner.Costs}");
                }
            }
        }
        finally
        {
            if (kept.Length == 0 && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        return 0;

        void Emit(DebianResult result)
        {
            Console.WriteLine($"{result.Plan,-7} ef {result.Ef,4}  {result.Filter,-28} {(result.FilteredEf is { } fe ? $"fef {fe,3}" : "       ")} {result.Selectivity,7:P2}  recall@10 {result.RecallAt10:F4}  p50 {result.P50Ms,7:F3} ms ×{result.P50RatioToUnfiltered,5:F2}  cpu p50 {result.CpuP50Ms,7:F3} ms ×{result.CpuP50RatioToUnfiltered,5:F2}  paired ×{result.PairedRatioToUnfiltered ?? 1,5:F2} (p50 ×{result.PairedP50RatioToUnfiltered ?? 1,5:F2})  p99 {result.P99Ms,7:F3} ms  (load {result.LoadAverage1m:F1})");
            writer?.WriteLine(JsonSerializer.Serialize(result, json));
            writer?.Flush();
        }
    }

    /// <summary>The level-0 out-degree of the graph's nodes (how full their lists are: what a filtered walk has to go on).</summary>
    private static void PrintDegrees(Collection collection, int count)
    {
        if (collection.Indexer?.Graph is not { } graph)
        {
            return;
        }

        Span<int> links = stackalloc int[1024];
        var degrees = new List<int>(count);
        for (int slot = 0; slot < count; slot++)
        {
            if (graph.Contains(slot))
            {
                degrees.Add(graph.GetLinks(slot, 0, links));
            }
        }

        degrees.Sort();
        int full = degrees.Count(d => d == degrees[^1]);
        Console.WriteLine($"ann-debian: level-0 degree over {degrees.Count} nodes: mean {degrees.Average():F1}, p10 {degrees[degrees.Count / 10]}, p50 {degrees[degrees.Count / 2]}, p90 {degrees[degrees.Count * 9 / 10]}, max {degrees[^1]} ({full} nodes at the max)");
    }

    private static Dictionary<string, MetadataValue?> Metadata(JsonObject metadata)
    {
        var result = new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            result[key] = value!.GetValueKind() switch
            {
                JsonValueKind.String => (string)value!,
                JsonValueKind.Number => (long)value!,
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new InvalidDataException($"Unexpected metadata value for {key}."),
            };
        }

        return result;
    }

    private static void Measure(Collection collection, Dictionary<string, int> rowOf, float[][][] queries, Where? where, int[] truth, out double recall, out double p50, out double p99, out double qps, out double cpuP50, int? efSearch = null)
    {
        int k = AnnRunner.K;
        var warmup = Stopwatch.StartNew();
        for (int q = 0; warmup.Elapsed.TotalSeconds < WarmupSeconds; q = (q + 1) % queries.Length)
        {
            collection.Query(queries[q], k, where, include: Include.None, efSearch: efSearch);
        }

        var latencies = new List<long>();
        var cpu = new List<long>();
        long hits = 0;
        var total = Stopwatch.StartNew();
        bool first = true;
        do
        {
            for (int q = 0; q < queries.Length; q++)
            {
                long cpuStart = ThreadCpuNanoseconds();
                long start = Stopwatch.GetTimestamp();
                var ids = collection.Query(queries[q], k, where, include: Include.None, efSearch: efSearch).Ids[0];
                latencies.Add(Stopwatch.GetTimestamp() - start);
                cpu.Add(ThreadCpuNanoseconds() - cpuStart);
                if (first)
                {
                    ReadOnlySpan<int> expected = truth.AsSpan(q * k, k);
                    foreach (string id in ids)
                    {
                        hits += expected.Contains(rowOf[id]) ? 1 : 0;
                    }
                }
            }

            first = false;
        }
        while (total.Elapsed.TotalSeconds < MinimumSeconds);

        latencies.Sort();
        cpu.Sort();
        cpuP50 = cpu[cpu.Count / 2] / 1e6;
        double toMs = 1000.0 / Stopwatch.Frequency;
        recall = hits / (double)(queries.Length * k);
        p50 = latencies[latencies.Count / 2] * toMs;
        p99 = latencies[(int)(latencies.Count * 0.99)] * toMs;
        qps = latencies.Count / total.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The filtered query's cost as a ratio to the unfiltered one, measured together: slices of <see cref="PairedSlice"/>
    /// queries alternate between unfiltered and filtered (the same queries, the order swapping every slice) for at least
    /// <see cref="PairedSeconds"/>. Returned: the median over slices of filtered time ÷ unfiltered time (a ratio of means: it
    /// weighs the slow queries in), and the ratio of the two sides' median single-query latencies over all slices (the p50
    /// the goal is stated in). A load change on a shared machine (other processes, a noisy neighbour of the virtual
    /// machine) then hits both sides within milliseconds, where two sequential passes seconds apart can differ by half (seen:
    /// the same plan and filter at 1.5× in one run and 2.4× in the next, on a machine at load 2).
    /// </summary>
    private static (double MeanRatio, double P50Ratio) MeasurePaired(Collection collection, float[][][] queries, Where where, int? efSearch = null)
    {
        int k = AnnRunner.K;
        var ratios = new List<double>();
        var latencies = new[] { new List<long>(), new List<long>() };
        var total = Stopwatch.StartNew();
        for (int slice = 0; total.Elapsed.TotalSeconds < PairedSeconds || ratios.Count < 8; slice++)
        {
            int first = slice * PairedSlice % queries.Length;
            var elapsed = new long[2];
            for (int side = 0; side < 2; side++)
            {
                int filter = (side == 0) == (slice % 2 == 0) ? 1 : 0;
                for (int i = 0; i < PairedSlice; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    collection.Query(queries[(first + i) % queries.Length], k, filter == 1 ? where : null, include: Include.None, efSearch: filter == 1 ? efSearch : null);
                    long one = Stopwatch.GetTimestamp() - start;
                    elapsed[filter] += one;
                    latencies[filter].Add(one);
                }
            }

            ratios.Add(elapsed[1] / (double)Math.Max(1, elapsed[0]));
        }

        ratios.Sort();
        latencies[0].Sort();
        latencies[1].Sort();
        return (ratios[ratios.Count / 2], latencies[1][latencies[1].Count / 2] / (double)Math.Max(1, latencies[0][latencies[0].Count / 2]));
    }

    private const int PairedSlice = 25;
    private const double PairedSeconds = 2.0;

    /// <summary>The calling thread's CPU time (Linux <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>).</summary>
    private static long ThreadCpuNanoseconds()
    {
        Span<long> time = stackalloc long[2];
        unsafe
        {
            fixed (long* pointer = time)
            {
                _ = ClockGetTime(3, pointer);
            }
        }

        return (time[0] * 1_000_000_000L) + time[1];
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern unsafe int ClockGetTime(int clock, long* time);

    private static double LoadAverage()
    {
        string text = File.ReadAllText("/proc/loadavg");
        return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
    }

    private sealed record DebianResult(
        [property: JsonPropertyName("plan")] string Plan,
        [property: JsonPropertyName("ef")] int Ef,
        [property: JsonPropertyName("filter")] string Filter,
        [property: JsonPropertyName("family")] string Family,
        [property: JsonPropertyName("selectivity")] double Selectivity,
        [property: JsonPropertyName("recall_at_10")] double RecallAt10,
        [property: JsonPropertyName("p50_ms")] double P50Ms,
        [property: JsonPropertyName("p99_ms")] double P99Ms,
        [property: JsonPropertyName("qps")] double Qps,
        [property: JsonPropertyName("p50_ratio_to_unfiltered")] double P50RatioToUnfiltered,
        [property: JsonPropertyName("load_avg_1m")] double LoadAverage1m)
    {
        /// <summary>Median CPU time of the calling thread per query (immune to waiting for a core on a loaded machine).</summary>
        [JsonPropertyName("cpu_p50_ms")]
        public double CpuP50Ms { get; init; }

        [JsonPropertyName("cpu_p50_ratio_to_unfiltered")]
        public double CpuP50RatioToUnfiltered { get; init; }

        /// <summary>Median over interleaved slices of filtered ÷ unfiltered time (see <c>MeasurePaired</c>); null for the unfiltered line.</summary>
        [JsonPropertyName("paired_ratio_to_unfiltered")]
        public double? PairedRatioToUnfiltered { get; init; }

        /// <summary>Filtered ÷ unfiltered median single-query latency, the two interleaved (see <c>MeasurePaired</c>); null for the unfiltered line.</summary>
        [JsonPropertyName("paired_p50_ratio_to_unfiltered")]
        public double? PairedP50RatioToUnfiltered { get; init; }

        /// <summary>The ef the filtered queries ran at when <c>--filtered-ef</c> set one (the unfiltered side stays at <see cref="Ef"/>); null: <see cref="Ef"/>.</summary>
        [JsonPropertyName("filtered_ef")]
        public int? FilteredEf { get; init; }
    }
}
