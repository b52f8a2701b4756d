using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>quant-paired --base B.fbin --queries Q.fbin --n 100000 --folder DIR [--storages float32,float16,int8]
/// [--ef 32,48,64,96] [--m 16] [--ef-construction 100] [--seconds 6] [--slice 25] [--json OUT]</c>: one store per
/// <c>vector_storage</c> over the first n rows (cosine), all open in this process, and per ef their query passes
/// through <see cref="Collection.Query"/> alternate in slices of 25 queries (<c>--slice</c>) (<see cref="MeasureInterleaved"/>), so load
/// drift on a shared machine hits every storage alike; the QPS ratio to the first storage is the median of per-slice
/// ratios. The stores are kept in DIR/&lt;storage&gt; and reused by a later run (built when missing); the
/// truth is exact cosine over the n rows. Ends with each storage's QPS at recall 0.95 (linear between the efs around it),
/// then each storage at the smallest ef of the sweep reaching <c>--at-recall</c> (0.95), interleaved again: the ratio at equal recall.
/// </summary>
internal static class QuantPairedCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "quant-paired";

    /// <summary>The first <paramref name="n"/> base rows (padded stride) and the queries (dense), each unit-normalized (cosine).</summary>
    internal static (float[] Data, int Count, int Dimension, int Stride, float[] Queries, int QueryCount) ReadNormalized(string basePath, string queriesPath, int n)
    {
        var (data, count, dimension, stride) = BigAnnFiles.ReadFbin(basePath, maxCount: n);
        var (queries, queryCount, _, _) = BigAnnFiles.ReadFbin(queriesPath, paddingMultiple: 1);
        for (int i = 0; i < count; i++)
        {
            VectorMath.Normalize(data.AsSpan(i * stride, dimension), data.AsSpan(i * stride, dimension));
        }

        for (int q = 0; q < queryCount; q++)
        {
            VectorMath.Normalize(queries.AsSpan(q * dimension, dimension), queries.AsSpan(q * dimension, dimension));
        }

        return (data, count, dimension, stride, queries, queryCount);
    }

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        string basePath = options.String("base");
        string queriesPath = options.String("queries");
        int n = options.Int("n", 100_000);
        string folder = Path.GetFullPath(options.String("folder"));
        string[] storages = options.String("storages", "float32,float16,int8").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int[] efs = options.IntList("ef", "32,48,64,96");
        int m = options.Int("m", 16);
        int efConstruction = options.Int("ef-construction", 100);
        double seconds = options.Double("seconds", 6);
        int slice = options.Int("slice", 25);
        if (slice < 1)
        {
            throw new ArgumentException($"--slice must be at least 1 query; got {slice}.");
        }
        string jsonPath = options.String("json", "");
        double targetRecall = options.Double("at-recall", 0.95);
        options.ThrowIfUnused();

        var (data, count, dimension, stride, queries, queryCount) = ReadNormalized(basePath, queriesPath, n);

        var clock = Stopwatch.StartNew();
        int[] truth = AnnDataGenerator.ExactTruth(new ArrayVectorRows(data, dimension, stride), DistanceSpace.Cosine, queries, dimension, AnnRunner.K);
        Console.WriteLine($"truth: {count} × {dimension} cosine, {queryCount} queries, {clock.Elapsed.TotalSeconds:F1} s");
        var queryLists = Enumerable.Range(0, queryCount).Select(q => new[] { queries.AsSpan(q * dimension, dimension).ToArray() }).ToArray();

        var stores = new List<ChromaStore>();
        var collections = new List<Collection>();
        try
        {
            foreach (string name in storages)
            {
                VectorStorage storage = CollectionConfiguration.ParseVectorStorage(name);
                string directory = Path.Combine(folder, name);
                clock.Restart();
                if (Directory.Exists(directory))
                {
                    string key = ChromaStore.RecoverAdminKey(directory);
                    var store = ChromaStore.Open(directory);
                    stores.Add(store);
                    Collection collection = store.GetClient(key).GetCollection(AnnStoreRunner.CollectionName);
                    collection.Query(queryLists[0], AnnRunner.K, include: Include.None);
                    collections.Add(collection);
                    Console.WriteLine($"{name}: reopened in {clock.Elapsed.TotalSeconds:F2} s (graph from file: {collection.Indexer?.LoadedFromFile ?? false}), rows in memory {collection.RowsMemoryBytes / 1048576.0:F1} MiB");
                }
                else
                {
                    Directory.CreateDirectory(folder);
                    var store = ChromaStore.Create(directory, out string key);
                    stores.Add(store);
                    Collection collection = store.GetClient(key).CreateCollection(AnnStoreRunner.CollectionName, new CollectionOptions
                    {
                        Configuration = new CollectionConfiguration
                        {
                            Space = DistanceSpace.Cosine, MaxNeighbors = m, EfConstruction = efConstruction, EfSearch = efs[0], VectorStorage = storage,
                        },
                    });
                    var setup = new AnnStoreRunner.Setup("cosine", DistanceSpace.Cosine, data, count, dimension, stride, queries, queryCount, null, m, efConstruction, efs, [1.0], null);
                    var (ingest, ready) = AnnStoreRunner.Ingest(collection, setup);
                    collections.Add(collection);
                    Console.WriteLine($"{name}: built, Add calls {ingest:F1} s, index ready {ready:F1} s, rows in memory {collection.RowsMemoryBytes / 1048576.0:F1} MiB");
                }
            }

            var results = new List<(string Storage, int Ef, double Recall, double Qps, double Ratio)>();
            using var writer = string.IsNullOrEmpty(jsonPath) ? null : new StreamWriter(jsonPath, append: true);
            foreach (int ef in efs)
            {
                foreach (Collection collection in collections)
                {
                    collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
                }

                double load = LoadAverage();
                var searches = collections.Select(c => (AnnRunner.IndexedSearch)((q, slots) => AnnStoreRunner.Search(c, queryLists[q], null, slots))).ToArray();
                var measured = MeasureInterleaved(searches, queryCount, truth, seconds, slice);
                for (int s = 0; s < storages.Length; s++)
                {
                    var (recall, qps, passes, ratio) = measured[s];
                    results.Add((storages[s], ef, recall, qps, ratio));
                    Console.WriteLine($"{storages[s],-8} ef {ef,4}  recall@10 {recall:F4}  {qps,8:F0} QPS  ratio to {storages[0]} {ratio:F2}  ({passes} slices, load {load:F2})");
                    writer?.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["command"] = "quant-paired", ["n"] = count, ["dim"] = dimension, ["m"] = m, ["ef_construction"] = efConstruction, ["ef"] = ef,
                        ["vector_storage"] = storages[s], ["recall_at_10"] = recall, ["qps"] = qps, ["qps_ratio_to_first"] = ratio, ["paired_with"] = string.Join('+', storages),
                        ["slices"] = passes, ["load_average_1m"] = load, ["rows_memory_bytes"] = collections[s].RowsMemoryBytes,
                    }));
                }
            }

            // QPS at recall 0.95: linear in (recall, QPS) between the two efs around it, per storage; ratio to the first's.
            double? firstQps = null;
            foreach (string storage in storages)
            {
                var curve = results.Where(r => r.Storage == storage).OrderBy(r => r.Ef).ToList();
                int above = curve.FindIndex(r => r.Recall >= 0.95);
                double? qps = above switch
                {
                    < 0 => null,
                    0 => curve[0].Qps,
                    _ => curve[above - 1].Qps + ((0.95 - curve[above - 1].Recall) / (curve[above].Recall - curve[above - 1].Recall) * (curve[above].Qps - curve[above - 1].Qps)),
                };
                firstQps ??= qps;
                Console.WriteLine(qps is null
                    ? $"{storage,-8} at recall 0.95: not reached"
                    : string.Create(CultureInfo.InvariantCulture, $"{storage,-8} at recall 0.95: {qps:F0} QPS, {qps / firstQps:F2}× {storages[0]}{(above == 0 ? " (the first ef is already above)" : "")}"));
            }

            // The fair figure under load: each storage at the smallest ef of the sweep reaching the target recall, and
            // those settings interleaved again slice by slice (a ratio of QPS measured together, not of two efs' passes).
            var chosen = storages.Select(storage => results.Where(r => r.Storage == storage && r.Recall >= targetRecall).OrderBy(r => r.Ef).FirstOrDefault()).ToArray();
            if (chosen.All(c => c.Storage is not null))
            {
                for (int s = 0; s < storages.Length; s++)
                {
                    collections[s].Modify(configuration: new CollectionConfigurationUpdate { EfSearch = chosen[s].Ef });
                }

                double load = LoadAverage();
                var searches = collections.Select(c => (AnnRunner.IndexedSearch)((q, slots) => AnnStoreRunner.Search(c, queryLists[q], null, slots))).ToArray();
                var measured = MeasureInterleaved(searches, queryCount, truth, seconds, slice);
                for (int s = 0; s < storages.Length; s++)
                {
                    var (recall, qps, slices, ratio) = measured[s];
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{storages[s],-8} at recall >= {targetRecall}: ef {chosen[s].Ef,4}  recall@10 {recall:F4}  {qps,8:F0} QPS  ratio to {storages[0]} {ratio:F2}  ({slices} slices, load {load:F2})"));
                    writer?.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["command"] = "quant-paired", ["phase"] = "at_recall", ["target_recall"] = targetRecall, ["n"] = count, ["dim"] = dimension, ["ef"] = chosen[s].Ef,
                        ["vector_storage"] = storages[s], ["recall_at_10"] = recall, ["qps"] = qps, ["qps_ratio_to_first"] = ratio, ["slices"] = slices, ["load_average_1m"] = load,
                    }));
                }
            }
        }
        finally
        {
            foreach (ChromaStore store in stores)
            {
                store.Dispose();
            }
        }

        return 0;
    }

    /// <summary>
    /// Recall@10 from one whole pass per storage (also the warm-up); then, for at least <paramref name="seconds"/>, slices of
    /// <paramref name="sliceQueries"/> queries (<c>--slice</c>, 25 by default) alternate between the storages (the order
    /// rotating every slice), so a load change on a shared machine hits them within milliseconds of each other. Short
    /// slices also make each storage's walk start in caches the other storage's rows just filled: at 59k × 384 (float32
    /// rows 86 MiB, int8 rows 27 MiB) that cost int8 more than float32 (see README → Memory as a choice). Per storage: QPS over every slice, and the
    /// median over slices of its QPS / the first storage's on the same queries.
    /// </summary>
    private static (double Recall, double Qps, int Slices, double RatioToFirst)[] MeasureInterleaved(AnnRunner.IndexedSearch[] searches, int queryCount, int[] truth, double seconds, int sliceQueries)
    {
        int storages = searches.Length;
        Span<int> slots = stackalloc int[AnnRunner.K];
        var recall = new double[storages];
        for (int e = 0; e < storages; e++)
        {
            long hits = 0;
            for (int q = 0; q < queryCount; q++)
            {
                int n = searches[e](q, slots);
                ReadOnlySpan<int> expected = truth.AsSpan(q * AnnRunner.K, AnnRunner.K);
                foreach (int slot in slots[..n])
                {
                    hits += expected.Contains(slot) ? 1 : 0;
                }
            }

            recall[e] = hits / (double)(queryCount * AnnRunner.K);
        }

        var elapsed = new double[storages];
        var queries = new long[storages];
        var ratios = Enumerable.Range(0, storages).Select(_ => new List<double>()).ToArray();
        var sliceSeconds = new double[storages];
        var total = Stopwatch.StartNew();
        int start = 0;
        for (int round = 0; total.Elapsed.TotalSeconds < seconds; round++)
        {
            int end = Math.Min(queryCount, start + sliceQueries);
            for (int i = 0; i < storages; i++)
            {
                int e = (i + round) % storages;
                long began = Stopwatch.GetTimestamp();
                for (int q = start; q < end; q++)
                {
                    searches[e](q, slots);
                }

                sliceSeconds[e] = Stopwatch.GetElapsedTime(began).TotalSeconds;
                elapsed[e] += sliceSeconds[e];
                queries[e] += end - start;
            }

            for (int e = 0; e < storages; e++)
            {
                ratios[e].Add(sliceSeconds[0] / sliceSeconds[e]);
            }

            start = end == queryCount ? 0 : end;
        }

        return Enumerable.Range(0, storages).Select(e => (recall[e], queries[e] / elapsed[e], ratios[e].Count, ratios[e].Order().ElementAt(ratios[e].Count / 2))).ToArray();
    }

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
}
