using BenchmarkDotNet.Attributes;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// One <see cref="Collection.Query"/> call with 64 query embeddings over 100,000 × 384 vectors served by the HNSW
/// graph, ids and distances only, with <see cref="ChromaStoreOptions.MaxQueryParallelism"/> 1 (the baseline: one
/// embedding after another) and 2 (this machine's cores).
/// </summary>
[MemoryDiagnoser]
public class StoreQueryBatchBenchmarks
{
    private const int Count = 100_000;
    private const int Dimension = 384;
    private const int BatchSize = 64;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[][] _queries = [];

    [Params(1, 2)]
    public int MaxQueryParallelism { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        float[] Vector() => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        _queries = Enumerable.Range(0, BatchSize).Select(_ => Vector()).ToArray();
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-batch-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { MaxQueryParallelism = MaxQueryParallelism });
        _collection = _store.GetClient(key).CreateCollection("bench");
        const int batch = 5_000;
        for (var start = 0; start < Count; start += batch)
        {
            _collection.Add(Enumerable.Range(start, batch).Select(i => "id" + i).ToArray(), Enumerable.Range(0, batch).Select(_ => Vector()).ToArray());
        }

        _collection.WaitForIndex();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark]
    public int QueryBatchOf64() => _collection!.Query(_queries, nResults: 10, include: Include.Distances).Ids.Count;
}
