using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// The wire-load query (issue #14) in process: one k = 10 query over 10,000 × 384 vectors served by the HNSW graph,
/// each record with a 3-key metadata and a 100-character document, through the public API. <see cref="ExactLoop"/> (a bare
/// <see cref="TensorPrimitives"/> scan of 10,000 vectors) is the baseline, so runs in two checkouts compare by ratio on a
/// noisy machine; the allocated bytes per query are the MemoryDiagnoser's.
/// </summary>
[MemoryDiagnoser]
public class StoreQuerySmallBenchmarks
{
    private const int Count = 10_000;
    private const int Dimension = 384;
    private const int K = 10;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[] _data = [];
    private float[][] _queries = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        float Next() => (float)((random.NextDouble() * 2) - 1);
        _data = new float[Count * Dimension];
        for (var i = 0; i < _data.Length; i++)
        {
            _data[i] = Next();
        }

        _queries = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, Dimension).Select(_ => Next()).ToArray()).ToArray();
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-small-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key);
        _collection = _store.GetClient(key).CreateCollection("bench");
        const int batch = 1_000;
        for (var start = 0; start < Count; start += batch)
        {
            var ids = Enumerable.Range(start, batch).Select(i => "id" + i).ToArray();
            var embeddings = Enumerable.Range(start, batch).Select(i => _data.AsSpan(i * Dimension, Dimension).ToArray()).ToArray();
            var metadatas = Enumerable.Range(start, batch).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["n"] = i, ["kind"] = "k" + (i % 7), ["even"] = i % 2 == 0 }).ToArray();
            var documents = Enumerable.Range(start, batch).Select(i => ("document " + i + " ").PadRight(100, 'x')).ToArray();
            _collection.Add(ids, embeddings, metadatas, documents);
        }

        _collection.WaitForIndex();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private float[][] NextQuery() => [_queries[_next++ & 63]];

    [Benchmark(Baseline = true)]
    public float ExactLoop()
    {
        var query = _queries[_next++ & 63];
        var best = float.MaxValue;
        for (var slot = 0; slot < Count; slot++)
        {
            best = Math.Min(best, TensorPrimitives.Distance(query, _data.AsSpan(slot * Dimension, Dimension)));
        }

        return best;
    }

    /// <summary>What wire-load asks: ids and distances.</summary>
    [Benchmark]
    public int QueryDistances() => _collection!.Query(NextQuery(), nResults: K, include: Include.Distances).Ids[0].Count;

    /// <summary>Chroma's default include: metadatas, documents, distances.</summary>
    [Benchmark]
    public int QueryDefaultInclude() => _collection!.Query(NextQuery(), nResults: K).Ids[0].Count;
}
