using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann</c>: builds an index over big-ann-benchmarks files (timed, with the given thread count), then for each ef
/// runs the query set single-threaded (after a warm-up, whole passes for at least 2 s) and appends one JSON line: engine, ef, recall@10, QPS, build time and threads,
/// index bytes and the process's peak working set. <c>--engine exact</c> runs <see cref="ExactScan"/> as reference.
/// </summary>
/// <remarks>
/// The truth file holds squared-L2 neighbours; for <c>--metric cosine|ip</c> the truth is recomputed exactly in that
/// metric. Cosine normalizes base rows and queries first, as the store does on write.
/// </remarks>
internal static class AnnRunner
{
    private const int K = 10;
    private const double WarmupSeconds = 0.5;
    private const double MinimumSeconds = 2.0;

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
        string? jsonPath = options.String("json", "");
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

        var rows = new ArrayVectorRows(data, dimension, stride);
        int[] truth;
        int truthK;
        if (space == DistanceSpace.L2 && !string.IsNullOrEmpty(truthPath))
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
            truth = AnnDataGenerator.ExactTruth(rows, space, queryData, dimension, K);
        }

        ulong[] all = AnnDataGenerator.AllSlots(count);
        var results = new List<AnnResult>();
        if (engine == "exact")
        {
            var exact = new ExactScanIndex(rows, space);
            results.Add(Measure("exact", exact, 0, queryData, queryCount, dimension, all, truth, truthK, 0, 0, 0, metric, count, m: 0, efConstruction: 0));
        }
        else if (engine == "hnsw")
        {
            using HnswIndex index = HnswIndex.Create(rows, space, new HnswParameters(M: m, EfConstruction: efConstruction, InitialCapacity: count));
            double buildSeconds = Build(index, count, threads);
            long indexBytes = index.MemoryBytes;
            Console.WriteLine($"build: {count} × {dimension} {metric}, M = {m}, efConstruction = {efConstruction}, {threads} thread(s): {buildSeconds:F2} s, {indexBytes / (1024.0 * 1024):F1} MiB graph, max level {index.MaxLevel}");
            foreach (int ef in efs)
            {
                results.Add(Measure("hnsw", index, ef, queryData, queryCount, dimension, all, truth, truthK, buildSeconds, threads, indexBytes, metric, count, m, efConstruction));
            }
        }
        else
        {
            throw new ArgumentException($"--engine must be hnsw or exact; got '{engine}'.");
        }

        var json = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
        using var writer = string.IsNullOrEmpty(jsonPath) ? null : new StreamWriter(jsonPath, append: true);
        foreach (AnnResult result in results)
        {
            Console.WriteLine($"{result.Engine,-6} ef {result.Ef,4}  recall@10 {result.RecallAt10:F4}  {result.Qps,10:F0} QPS");
            writer?.WriteLine(JsonSerializer.Serialize(result, json));
        }

        return 0;
    }

    /// <summary>Inserts slots [0, count) from <paramref name="threads"/> threads pulling from a shared counter.</summary>
    private static double Build(HnswIndex index, int count, int threads)
    {
        int next = -1;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            int slot;
            while ((slot = Interlocked.Increment(ref next)) < count)
            {
                index.Insert(slot);
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

    private static AnnResult Measure(
        string engine, IVectorIndex index, int ef, float[] queries, int queryCount, int dimension, ulong[] all, int[] truth, int truthK,
        double buildSeconds, int buildThreads, long indexBytes, string metric, int count, int m, int efConstruction)
    {
        var destination = new Neighbor[K];
        var hnsw = index as HnswIndex;

        // Warm-up for at least WarmupSeconds: tiered compilation promotes the search loop to optimized code only
        // after ~30 calls plus a 100 ms delay, so a short run at small ef would otherwise be timed in tier 0.
        var warmup = Stopwatch.StartNew();
        for (int q = 0; warmup.Elapsed.TotalSeconds < WarmupSeconds; q = (q + 1) % queryCount)
        {
            Search(index, hnsw, ef, queries.AsSpan(q * dimension, dimension), all, destination);
        }

        // Timed: whole passes over the query set until MinimumSeconds have elapsed; recall from the first pass.
        var found = new int[queryCount * K];
        long searched = 0;
        var stopwatch = Stopwatch.StartNew();
        do
        {
            for (int q = 0; q < queryCount; q++)
            {
                int n = Search(index, hnsw, ef, queries.AsSpan(q * dimension, dimension), all, destination);
                if (searched < queryCount)
                {
                    for (int i = 0; i < K; i++)
                    {
                        found[(q * K) + i] = i < n ? destination[i].Slot : -1;
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

        using var process = Process.GetCurrentProcess();
        return new AnnResult(
            engine, metric, count, dimension, m, efConstruction, ef, hits / (double)(queryCount * K), searched / seconds,
            buildSeconds, buildThreads, indexBytes, process.PeakWorkingSet64);
    }

    private static int Search(IVectorIndex index, HnswIndex? hnsw, int ef, ReadOnlySpan<float> query, ulong[] all, Span<Neighbor> destination) =>
        hnsw is null
            ? index.Search(query, K, SlotFilter.FromBitmap(all), destination)
            : hnsw.Search(query, K, ef, SlotFilter.FromBitmap(all), destination);

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
        [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes);
}
