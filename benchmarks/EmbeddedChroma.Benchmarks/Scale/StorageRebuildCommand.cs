using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Benchmarks.Ann;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>vs-rebuild --n 100000 --dim 384 [--to int8 --folder DIR]</c>: what changing a collection's <c>vector_storage</c>
/// costs, against building the same graph from scratch, in one process. Ingests <c>--n</c> clustered cosine rows into a
/// float32 collection (graph built), then (1) <c>Modify</c> to <c>--to</c>: the call's own time (the compact rows are
/// built under the write lock), the background rebuild until <c>BuildIndex</c> returns, the process's peak RSS while it
/// runs (sampled every 50 ms) and query latency meanwhile (records not linked yet are scanned exactly); then (2) the
/// store is closed, the graph file deleted, and the store reopened: the open builds the same storage's graph from the
/// records, timed the same way (load + <c>BuildIndex</c>); (3) the change to float32 and back to <c>--to</c> with warm code.
/// Prints one line per phase.
/// </summary>
internal static class StorageRebuildCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "vs-rebuild";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        int n = options.Int("n", 100_000);
        int dimension = options.Int("dim", 384);
        var to = CollectionConfiguration.ParseVectorStorage(options.String("to", "int8"));
        string folder = options.String("folder", Path.Combine(Path.GetTempPath(), "ec-vs-rebuild"));
        options.ThrowIfUnused();

        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        var random = new Random(29);
        var centres = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
        var vectors = new float[n][];
        for (int i = 0; i < n; i++)
        {
            var centre = centres[random.Next(centres.Length)];
            vectors[i] = centre.Select(x => x + (float)((random.NextDouble() - 0.5) * 0.5)).ToArray();
        }

        var queries = Enumerable.Range(0, 20).Select(i => vectors[(i * 7_919) % n]).ToArray();
        var store = ChromaStore.Create(folder, out var key);
        var collection = store.GetClient(key).CreateCollection("rebuild", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < n; start += 5_000)
        {
            int count = Math.Min(5_000, n - start);
            collection.Add(Enumerable.Range(start, count).Select(i => "r" + i.ToString(CultureInfo.InvariantCulture)).ToArray(), vectors.AsSpan(start, count).ToArray());
        }

        collection.BuildIndex();
        Console.WriteLine($"ingest float32 n={n} dim={dimension}: {clock.Elapsed.TotalSeconds:F1} s (graph built), rows {collection.RowsMemoryBytes / 1048576.0:F1} MiB, RSS {Rss():F0} MiB");

        // (1) The change, with the old graph in memory until the call drops it.
        double rssBefore = Rss();
        using var sampler = new PeakSampler();
        clock.Restart();
        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = to });
        var call = clock.Elapsed;
        var latencies = new List<double>();
        var unindexedAtStart = collection.GetIndexingStatus().UnindexedRecords;
        foreach (var query in queries.Take(5))
        {
            var q = Stopwatch.StartNew();
            collection.Query([query], nResults: 10, include: Include.None);
            latencies.Add(q.Elapsed.TotalMilliseconds);
        }

        collection.BuildIndex();
        var rebuild = clock.Elapsed;
        Console.WriteLine(
            $"modify float32 -> {CollectionConfiguration.VectorStorageName(to)}: call {call.TotalSeconds:F2} s, rebuilt after {rebuild.TotalSeconds:F1} s; unindexed at start {unindexedAtStart}; " +
            $"query while rebuilding (median of 5) {latencies.Order().ElementAt(2):F1} ms; RSS before {rssBefore:F0} MiB, peak {sampler.Peak:F0} MiB, after {Rss():F0} MiB; rows {collection.RowsMemoryBytes / 1048576.0:F1} MiB");
        var after = Stopwatch.StartNew();
        foreach (var query in queries)
        {
            collection.Query([query], nResults: 10, include: Include.None);
        }

        Console.WriteLine($"query after rebuild (mean of {queries.Length}): {after.Elapsed.TotalMilliseconds / queries.Length:F2} ms");

        // (2) The same storage's graph built from scratch: a reopen without the graph file builds it from the records.
        var id = collection.Id;
        store.Dispose();
        File.Delete(Path.Combine(folder, "vectors", id.ToString("N") + ".hnsw"));
        clock.Restart();
        store = ChromaStore.Open(folder);
        var reopened = store.GetClient(key).GetCollection("rebuild");
        reopened.Query([queries[0]], nResults: 10, include: Include.None);
        var load = clock.Elapsed;
        reopened.BuildIndex();
        Console.WriteLine($"from scratch ({CollectionConfiguration.VectorStorageName(to)}, reopen without the graph file): open + load {load.TotalSeconds:F2} s, built after {clock.Elapsed.TotalSeconds:F1} s");

        // (3) The change again, now that the code is warm (the first build of a storage's graph in a process runs partly
        // on unoptimized code): back to float32, then to the target once more.
        foreach (var storage in new[] { VectorStorage.Float32, to })
        {
            clock.Restart();
            reopened.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = storage });
            var again = clock.Elapsed;
            reopened.BuildIndex();
            Console.WriteLine($"modify -> {CollectionConfiguration.VectorStorageName(storage)} (warm): call {again.TotalSeconds:F2} s, rebuilt after {clock.Elapsed.TotalSeconds:F1} s; RSS {Rss():F0} MiB");
        }

        store.Dispose();
        Directory.Delete(folder, recursive: true);
        return 0;
    }

    private static double Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / 1048576.0;
    }

    /// <summary>Samples the process's RSS every 50 ms until disposed.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;
        private double _peak;

        public PeakSampler() => _task = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                _peak = Math.Max(_peak, Rss());
                await Task.Delay(50).ConfigureAwait(false);
            }
        });

        public double Peak => Math.Max(_peak, Rss());

        public void Dispose()
        {
            _stop.Cancel();
            _task.Wait();
            _stop.Dispose();
        }
    }
}
