using System.Globalization;
using System.Text;

namespace EmbeddedChroma.CrashHost;

/// <summary>
/// The "reopen" mode: kills timed during store open and derived-state rebuild. Each round deletes the collection's
/// vector arena (and, every other round by seed parity, its HNSW graph), opens the store, touches the collection so the arena is
/// rebuilt from SQLite and the graph loaded or rebuilt, runs a query, and closes (which checkpoints the arena and
/// saves the graph). The parent kills the process at a seeded moment somewhere in there. Never writes records.
/// </summary>
public static class ReopenLoop
{
    public static int Run(string folder, int seed)
    {
        var key = File.ReadAllText(folder + ".key");
        var random = new Random(seed);
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 12) { AutoFlush = true };
        for (var round = 0; ; round++)
        {
            var vectors = Path.Combine(folder, "vectors");
            foreach (var file in Directory.Exists(vectors) ? Directory.GetFiles(vectors) : [])
            {
                if (file.EndsWith(".vec", StringComparison.Ordinal) || ((round + seed) % 2 == 0 && file.EndsWith(".hnsw", StringComparison.Ordinal)))
                {
                    File.Delete(file);
                }
            }

            stdout.Write(string.Create(CultureInfo.InvariantCulture, $"OPEN {round}\n"));
            using (var store = ChromaStore.Open(folder, CrashWorkload.Options))
            {
                var collection = store.GetClient(key).GetCollection(CrashWorkload.CollectionName);
                var count = collection.Count();
                var query = Enumerable.Range(0, CrashWorkload.Dimension).Select(_ => (float)random.NextDouble()).ToArray();
                collection.Query([query], 10);
                stdout.Write(string.Create(CultureInfo.InvariantCulture, $"OPENED {round} {count}\n"));
            }

            stdout.Write(string.Create(CultureInfo.InvariantCulture, $"CLOSED {round}\n"));
        }
    }
}
