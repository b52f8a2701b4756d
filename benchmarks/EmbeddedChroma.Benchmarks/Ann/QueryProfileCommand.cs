using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>query-profile --base B.fbin --queries Q.fbin [--n 10000] [--storages float32,int8] [--ef 16,64] [--seconds 4]
/// [--hnswlib 1] [--json OUT]</c>: where one <see cref="Collection.Query"/> (k = 10) spends its time outside the graph walk.
/// One store per <c>vector_storage</c> over the first n rows (cosine, M 16, ef_construction 100, no documents; built in a
/// temporary folder, deleted at the end), and hnswlib over the same rows in the same process. Per storage and ef, these
/// stages run interleaved in slices of 25 queries (the order rotating every slice, so load drift hits each alike), each
/// timed per query:
/// <list type="bullet">
/// <item><c>walk</c>: the graph alone (<c>HnswIndex.Search</c> on the normalized query, k = 10, or the re-rank's 2·k for a
/// quantized storage; no re-rank), no lock;</item>
/// <item><c>planner</c>: the engine's search under the read lock with a rented reader connection (normalize, plan, walk, re-rank);</item>
/// <item><c>rows</c>: under the read lock, the 10 result records' ids read from SQLite (<c>RecordReader.ReadSlots</c>, no columns);</item>
/// <item><c>count</c>: <see cref="Collection.Count()"/>, i.e. the key gate, telemetry and the read lock of a call that reads nothing;</item>
/// <item><c>query_ids</c> / <c>query_distances</c> / <c>query_default</c>: the whole public call with <see cref="Include.None"/>,
/// <see cref="Include.Distances"/>, Chroma's default include (metadatas, documents, distances);</item>
/// <item><c>hnswlib</c>: hnswlib 0.6.2's own query at the same ef over the same rows (<c>--hnswlib 0</c> leaves it out).</item>
/// </list>
/// Fixed cost per query = <c>query_distances</c> − <c>planner</c>. For a quantized storage, also the share of the walk's
/// candidates whose float32 rows the re-rank read (<c>rerank_read_share</c>; <see cref="Engine.CompactRerank"/>).
/// </summary>
internal static class QueryProfileCommand
{
    private const int K = 10;
    private const int SliceQueries = 25;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "query-profile";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        string basePath = options.String("base");
        string queriesPath = options.String("queries");
        int n = options.Int("n", 10_000);
        string[] storages = options.String("storages", "float32,int8").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int[] efs = options.IntList("ef", "16,64");
        double seconds = options.Double("seconds", 4);
        bool withHnswlib = options.Int("hnswlib", 1) != 0;
        string jsonPath = options.String("json", "");
        options.ThrowIfUnused();

        var (data, count, dimension, stride, queries, queryCount) = QuantPairedCommand.ReadNormalized(basePath, queriesPath, n);

        var queryLists = Enumerable.Range(0, queryCount).Select(q => new[] { queries.AsSpan(q * dimension, dimension).ToArray() }).ToArray();
        HnswlibEngine? hnswlib = null;
        if (withHnswlib)
        {
            var clock = Stopwatch.StartNew();
            hnswlib = HnswlibEngine.Create(HnswlibEngine.DefaultLibraryPath(), DistanceSpace.Cosine, dimension, 16, 100, count);
            hnswlib.AddAll(data, count, stride, threads: 2);
            Console.WriteLine($"hnswlib: built {count} × {dimension} in {clock.Elapsed.TotalSeconds:F1} s");
        }

        string root = Path.Combine(Path.GetTempPath(), "ec-query-profile-" + Guid.NewGuid().ToString("N"));
        using var writer = string.IsNullOrEmpty(jsonPath) ? null : new StreamWriter(jsonPath, append: true);
        try
        {
            foreach (string name in storages)
            {
                VectorStorage storage = CollectionConfiguration.ParseVectorStorage(name);
                using var store = ChromaStore.Create(Path.Combine(root, name), out string key);
                Collection collection = store.GetClient(key).CreateCollection(AnnStoreRunner.CollectionName, new CollectionOptions
                {
                    Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine, MaxNeighbors = 16, EfConstruction = 100, EfSearch = efs[0], VectorStorage = storage },
                });
                var setup = new AnnStoreRunner.Setup("cosine", DistanceSpace.Cosine, data, count, dimension, stride, queries, queryCount, null, 16, 100, efs, [1.0], null);
                var (ingest, ready) = AnnStoreRunner.Ingest(collection, setup);
                Console.WriteLine($"{name}: built, Add calls {ingest:F1} s, index ready {ready:F1} s");
                foreach (int ef in efs)
                {
                    collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
                    hnswlib?.SetEf(ef);
                    var stages = Stages(collection, storage, queryLists, ef, hnswlib);
                    var (readsBefore, candidatesBefore) = collection.Engine.Planner.RerankCounts;
                    var measured = Measure(stages.Select(s => s.Run).ToArray(), queryCount, seconds);
                    double load = LoadAverage();
                    var line = new Dictionary<string, object> { ["command"] = "query-profile", ["n"] = count, ["dim"] = dimension, ["vector_storage"] = name, ["ef"] = ef, ["load_average_1m"] = load };
                    for (int s = 0; s < stages.Length; s++)
                    {
                        line[stages[s].Name + "_us"] = Math.Round(measured[s], 2);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} ef {ef,4}  {stages[s].Name,-16} {measured[s],8:F1} µs/query"));
                    }

                    var (readsAfter, candidatesAfter) = collection.Engine.Planner.RerankCounts;
                    if (candidatesAfter > candidatesBefore)
                    {
                        // Float32 rows a quantized query read to re-rank, per candidate its walk handed over.
                        double share = (readsAfter - readsBefore) / (double)(candidatesAfter - candidatesBefore);
                        line["rerank_read_share"] = Math.Round(share, 4);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} ef {ef,4}  re-rank read {share:P1} of its candidates"));
                    }

                    double Of(string stage) => measured[Array.FindIndex(stages, s => s.Name == stage)];
                    double fixedCost = Of("query_distances") - Of("planner");
                    line["fixed_us"] = Math.Round(fixedCost, 2);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-8} ef {ef,4}  fixed (query_distances − planner) {fixedCost:F1} µs; query_distances / hnswlib {(hnswlib is null ? double.NaN : Of("query_distances") / Of("hnswlib")):F2}  (load {load:F2})"));
                    writer?.WriteLine(JsonSerializer.Serialize(line));
                }
            }
        }
        finally
        {
            hnswlib?.Dispose();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }

        return 0;
    }

    private static (string Name, Func<int, int> Run)[] Stages(Collection collection, VectorStorage storage, float[][][] queryLists, int ef, HnswlibEngine? hnswlib)
    {
        var engine = collection.Engine;
        var state = engine.State;
        var graph = collection.Indexer?.Graph ?? throw new InvalidOperationException("The collection has no graph (fewer rows than its HNSW threshold?).");
        int walkK = storage == VectorStorage.Float32 ? K : Math.Min(Math.Max(ef, K), Math.Max(2 * K, K + 16));
        var found = new Neighbor[Math.Max(walkK, ef)];
        var labels = new long[K];
        var distances = new float[K];

        // The result slots of each query, for the rows stage.
        var resultSlots = queryLists.Select(list => engine.Read(connection => engine.Planner.Search(connection, list, K, null, null, null, null))[0].Select(h => h.Slot).Order().ToArray()).ToArray();
        var stages = new List<(string, Func<int, int>)>
        {
            ("walk", q => graph.Search(queryLists[q][0], walkK, ef, SlotFilter.FromBitmap(state.Live), found)),
            ("planner", q => engine.Read(connection => engine.Planner.Search(connection, queryLists[q], K, null, null, null, null))[0].Length),
            ("rows", q => engine.Read(connection => RecordReader.ReadSlots(connection, state, RecordReader.Columns.None, resultSlots[q])).Count),
            ("count", _ => collection.Count()),
            ("query_ids", q => collection.Query(queryLists[q], K, include: Include.None).Ids[0].Count),
            ("query_distances", q => collection.Query(queryLists[q], K, include: Include.Distances).Ids[0].Count),
            ("query_default", q => collection.Query(queryLists[q], K).Ids[0].Count),
        };
        if (hnswlib is not null)
        {
            stages.Add(("hnswlib", q => hnswlib.Search(queryLists[q][0], labels, distances)));
        }

        return [.. stages];
    }

    /// <summary>A warm-up pass per stage, then slices of <see cref="SliceQueries"/> queries alternating between the stages for <paramref name="seconds"/>: µs per query of each.</summary>
    private static double[] Measure(Func<int, int>[] stages, int queryCount, double seconds)
    {
        foreach (var stage in stages)
        {
            for (int q = 0; q < Math.Min(queryCount, 200); q++)
            {
                stage(q);
            }
        }

        var elapsed = new long[stages.Length];
        var calls = new long[stages.Length];
        var total = Stopwatch.StartNew();
        int start = 0;
        for (int round = 0; total.Elapsed.TotalSeconds < seconds; round++)
        {
            int end = Math.Min(queryCount, start + SliceQueries);
            for (int i = 0; i < stages.Length; i++)
            {
                int s = (i + round) % stages.Length;
                long began = Stopwatch.GetTimestamp();
                for (int q = start; q < end; q++)
                {
                    stages[s](q);
                }

                elapsed[s] += Stopwatch.GetTimestamp() - began;
                calls[s] += end - start;
            }

            start = end == queryCount ? 0 : end;
        }

        return Enumerable.Range(0, stages.Length).Select(s => elapsed[s] * 1e6 / Stopwatch.Frequency / calls[s]).ToArray();
    }

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
}
