using BenchmarkDotNet.Attributes;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// Reopening a closed store of 20,000 × 384 vectors with a saved HNSW graph: open (lock, schema check, key ring,
/// catalog), first call on the collection (arena mapped and checksummed, graph loaded), close.
/// </summary>
[MemoryDiagnoser]
public class StoreReopenBenchmarks
{
    private const int Count = 20_000;
    private const int Dimension = 384;

    private string _folder = "";
    private string _key = "";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-reopen-" + Guid.NewGuid().ToString("N"));
        using var store = ChromaStore.Create(_folder, out _key, new ChromaStoreOptions { HnswThreshold = 5_000 });
        var collection = store.GetClient(_key).CreateCollection("bench");
        const int batch = 5_000;
        for (var start = 0; start < Count; start += batch)
        {
            collection.Add(
                Enumerable.Range(start, batch).Select(i => "id" + i).ToArray(),
                Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray());
        }

        collection.WaitForIndex();
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark]
    public int ReopenAndCount()
    {
        using var store = ChromaStore.Open(_folder);
        return store.GetClient(_key).GetCollection("bench").Count();
    }
}
