using System.Diagnostics;
using System.Globalization;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// <c>-- reopen-filter [n] [folder] [saved]</c> (default 100000; a given folder is created once and reused; <c>saved</c>
/// measures only with the saved filter index, and the <c>where_document</c> get once, for large n): one collection of
/// <c>n</c> × 32 vectors with five metadata keys (string, int, float, bool, array of strings) and ~120-character
/// documents. Reopens it and times, from <see cref="ChromaStore.Open(string, ChromaStoreOptions?)"/>: the first count
/// (nothing filtered), the first filtered query (<c>where</c>), the first filtered get (<c>where</c>, limit 10), a
/// filtered get with <c>where_document</c>, and the in-memory filter index's estimated and measured (GC) bytes.
/// Each figure is the median of 3 opens, for three modes in the same run: <c>sql</c> (no in-memory index,
/// <c>FilterIndexMemoryBudget</c> 0: the filter rows are checked against the records before the first filtered read,
/// as every open did before the saved index), <c>built</c> (the index built from the records at the first filtered
/// read) and <c>saved</c> (the index loaded from its saved file).
/// </summary>
internal static class ReopenFilterCommand
{
    private const int Dimension = 32;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "reopen-filter";

    public static int Run(string[] args)
    {
        var n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var given = args.Length > 2 ? args[2] : null;
        var folder = given ?? Path.Combine(Path.GetTempPath(), "ec-reopen-filter-" + Guid.NewGuid().ToString("N"));
        var baseOptions = new ChromaStoreOptions { AutoCompaction = false, HnswThreshold = int.MaxValue };
        var keyFile = Path.Combine(folder + ".key");
        try
        {
            string key;
            if (!File.Exists(keyFile))
            {
                key = Ingest(folder, n, baseOptions);
                File.WriteAllText(keyFile, key);
            }

            key = File.ReadAllText(keyFile);
            var where = Where.Eq("category", "c3") & Where.Gte("year", 2010);
            var query = Enumerable.Range(0, Dimension).Select(i => (float)Math.Sin(i)).ToArray();
            var savedOnly = args.Length > 3 && args[3] == "saved";
            foreach (var mode in savedOnly ? (string[])["saved"] : ["sql", "built", "saved"])
            {
                var persisted = mode == "saved";
                Storage.FilterIndexFile.Enabled = persisted;
                var options = mode == "sql" ? baseOptions with { FilterIndexMemoryBudget = 0 } : baseOptions;
                // One open to bring the derived files to this mode's steady state (the filter index file written on close).
                using (var warm = ChromaStore.Open(folder, options))
                {
                    warm.GetClient(key).GetCollection("bench").Query([query], nResults: 10, where: where);
                }

                var count = Median(() => Time(folder, options, c => c.Count()));
                var filteredQuery = Median(() => Time(folder, options, c => c.Query([query], nResults: 10, where: where).Ids[0].Count));
                var filteredGet = Median(() => Time(folder, options, c => c.Get(where: where, limit: 10).Ids.Count));
                var documentGet = (savedOnly ? (Func<Func<double>, double>)(m => m()) : Median)(() => Time(folder, options, c => c.Get(whereDocument: WhereDocument.Contains("lorem 42"), limit: 10).Ids.Count));
                var (estimated, measured) = Memory(folder, options, key, query, where);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"n\":{n},\"mode\":\"{mode}\",\"open_count_ms\":{count:F0},\"open_first_filtered_query_ms\":{filteredQuery:F0},\"open_first_filtered_get_ms\":{filteredGet:F0},\"open_first_where_document_get_ms\":{documentGet:F0},\"filter_index_estimated_bytes\":{estimated},\"filter_index_gc_bytes\":{measured}}}"));
            }

            return 0;

            double Time(string path, ChromaStoreOptions opts, Func<Collection, int> first)
            {
                var watch = Stopwatch.StartNew();
                using var store = ChromaStore.Open(path, opts);
                first(store.GetClient(key).GetCollection("bench"));
                return watch.Elapsed.TotalMilliseconds;
            }
        }
        finally
        {
            Storage.FilterIndexFile.Enabled = true;
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (given is null)
            {
                Directory.Delete(folder, recursive: true);
                File.Delete(keyFile);
            }
        }
    }

    private static double Median(Func<double> measure)
    {
        var times = new[] { measure(), measure(), measure() };
        Array.Sort(times);
        return times[1];
    }

    private static (long Estimated, long Measured) Memory(string folder, ChromaStoreOptions options, string key, float[] query, Where where)
    {
        using var store = ChromaStore.Open(folder, options);
        var collection = store.GetClient(key).GetCollection("bench");
        collection.Count();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        collection.Query([query], nResults: 10, where: where);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        return (collection.BuiltFilterIndex?.EstimatedBytes ?? -1, after - before);
    }

    private static string Ingest(string folder, int n, ChromaStoreOptions options)
    {
        var random = new Random(17);
        var words = new[] { "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor" };
        var watch = Stopwatch.StartNew();
        using var store = ChromaStore.Create(folder, out var key, options);
        var collection = store.GetClient(key).CreateCollection("bench");
        foreach (var chunk in Enumerable.Range(0, n).Chunk(1_000))
        {
            collection.Add(
                chunk.Select(i => "id" + i.ToString(CultureInfo.InvariantCulture)).ToArray(),
                chunk.Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray(),
                chunk.Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?>
                {
                    ["category"] = "c" + (i % 20).ToString(CultureInfo.InvariantCulture),
                    ["year"] = 1990 + (i % 35),
                    ["score"] = random.NextDouble(),
                    ["published"] = i % 3 == 0,
                    ["tags"] = new[] { "t" + (i % 7).ToString(CultureInfo.InvariantCulture), "t" + (i % 11).ToString(CultureInfo.InvariantCulture) },
                }).ToArray(),
                chunk.Select(i => (string?)string.Join(' ', Enumerable.Range(0, 18).Select(w => words[(i + (w * 7)) % words.Length])) + " " + (i % 100).ToString(CultureInfo.InvariantCulture)).ToArray());
        }

        Console.WriteLine($"ingest {n} x {Dimension} with metadata and documents: {watch.Elapsed.TotalSeconds:F1} s");
        return key;
    }
}
