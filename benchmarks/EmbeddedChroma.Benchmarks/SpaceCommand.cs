using System.Diagnostics;
using System.Globalization;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// <c>-- space [n] [dimension] [deleteFraction]</c> (defaults 100000 384 0.9): one store in a temporary folder; reports
/// reopen-to-first-query time, the cost of <c>PRAGMA quick_check</c> and <c>integrity_check</c> on it (as ratios of the
/// reopen time, measured in the same run), then deletes a share of the records and reports folder size and time of
/// <see cref="Collection.Compact"/>.
/// </summary>
internal static class SpaceCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "space";

    public static int Run(string[] args)
    {
        var n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var dimension = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 384;
        var deleteFraction = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 0.9;
        var folder = Path.Combine(Path.GetTempPath(), "ec-space-" + Guid.NewGuid().ToString("N"));
        var options = new ChromaStoreOptions { AutoCompaction = false };
        try
        {
            string key;
            var random = new Random(42);
            var ids = Enumerable.Range(0, n).Select(i => "id" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            var watch = Stopwatch.StartNew();
            using (var store = ChromaStore.Create(folder, out key, options))
            {
                var collection = store.GetClient(key).CreateCollection("space");
                foreach (var chunk in ids.Chunk(5_000))
                {
                    collection.Add(
                        chunk,
                        chunk.Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray(),
                        chunk.Select(id => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["g"] = (long)(id.Length % 10), ["tag"] = "t" + id[^1] }).ToArray(),
                        chunk.Select(id => (string?)("document of " + id)).ToArray());
                }

                collection.WaitForIndex();
            }

            Console.WriteLine($"ingest {n} x {dimension}: {watch.Elapsed.TotalSeconds:F1} s, folder {Bytes(folder)}");
            var query = Enumerable.Range(0, dimension).Select(_ => 0.5f).ToArray();
            double reopen = 0, quick = 0, full = 0;
            for (var round = 0; round < 3; round++)
            {
                watch.Restart();
                using var store = ChromaStore.Open(folder, options);
                store.GetClient(key).GetCollection("space").Query([query], nResults: 10);
                reopen += watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                var problems = store.InRead(() => store.Db.Check(full: false));
                quick += watch.Elapsed.TotalMilliseconds;
                watch.Restart();
                store.GetClient(key).VerifyIntegrity();
                full += watch.Elapsed.TotalMilliseconds;
                if (problems.Count > 0)
                {
                    throw new InvalidOperationException(string.Join("; ", problems));
                }
            }

            Console.WriteLine($"mean of 3: reopen to first query {reopen / 3:F0} ms; quick_check {quick / 3:F0} ms ({quick / reopen:F1}x reopen); " +
                $"integrity_check {full / 3:F0} ms ({full / reopen:F1}x reopen)");

            var before = 0L;
            using (var store = ChromaStore.Open(folder, options))
            {
                var collection = store.GetClient(key).GetCollection("space");
                var doomed = ids.Where((_, i) => new Random(i).NextDouble() < deleteFraction).ToArray();
                foreach (var chunk in doomed.Chunk(5_000))
                {
                    collection.Delete(chunk);
                }

                collection.WaitForIndex();
            }

            before = Total(folder);
            using (var store = ChromaStore.Open(folder, options))
            {
                var collection = store.GetClient(key).GetCollection("space");
                collection.Count();
                var result = collection.Compact();
                Console.WriteLine($"compact: {result.Duration.TotalMilliseconds:F0} ms, {result.Records} live of {result.SlotsBefore} slots, moved {result.RecordsMoved}, " +
                    $"folder {result.BytesBefore:N0} -> {result.BytesAfter:N0} bytes before the graph is saved");
                watch.Restart();
                collection.WaitForIndex();
                Console.WriteLine($"graph rebuilt in the background over the live records: {watch.Elapsed.TotalSeconds:F1} s");
            }

            var after = Total(folder);
            Console.WriteLine($"closed store folder: {before:N0} -> {after:N0} bytes ({100.0 * after / before:F1}%)");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static long Total(string folder) => new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static string Bytes(string folder) => Total(folder).ToString("N0", CultureInfo.InvariantCulture) + " bytes";
}
