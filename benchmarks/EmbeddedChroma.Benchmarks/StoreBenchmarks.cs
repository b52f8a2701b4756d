using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// Nearest-neighbour query over 100,000 × 384 vectors through the public API (gate, validation, read
/// lock, search over the memory-mapped arena, SQLite fetch of the 10 results) against a bare
/// <see cref="TensorPrimitives"/> loop over a plain <c>float[]</c> with a simple top-10. <see cref="Graph"/> =
/// false: the collection stays on exact scan (goal: ≤ 1.25× the bare loop); true: the HNSW graph serves it.
/// </summary>
[MemoryDiagnoser]
public class StoreQueryBenchmarks
{
    [Params(false, true)]
    public bool Graph { get; set; }

    private const int Count = 100_000;
    private const int Dimension = 384;
    private const int K = 10;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[] _data = [];
    private float[] _query = [];
    private float[][] _queries = [];
    private readonly (float Distance, int Slot)[] _top = new (float, int)[K];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _data = new float[Count * Dimension];
        for (var i = 0; i < _data.Length; i++)
        {
            _data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        _query = Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        _queries = [_query];
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-query-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { HnswThreshold = Graph ? 5_000 : int.MaxValue });
        _collection = _store.GetClient(key).CreateCollection("bench");
        const int batch = 5_000;
        for (var start = 0; start < Count; start += batch)
        {
            var ids = Enumerable.Range(start, batch).Select(i => "id" + i).ToArray();
            var embeddings = Enumerable.Range(start, batch).Select(i => _data.AsSpan(i * Dimension, Dimension).ToArray()).ToArray();
            _collection.Add(ids, embeddings);
        }

        _collection.WaitForIndex();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public int BareTensorPrimitivesLoop()
    {
        var filled = 0;
        for (var slot = 0; slot < Count; slot++)
        {
            var d = TensorPrimitives.Distance(_query, _data.AsSpan(slot * Dimension, Dimension));
            if (filled < K)
            {
                _top[filled++] = (d, slot);
            }
            else if (d < _top[K - 1].Distance)
            {
                _top[K - 1] = (d, slot);
            }
            else
            {
                continue;
            }

            // Keep the top list sorted (K is tiny): one insertion step.
            for (var i = filled - 1; i > 0 && _top[i].Distance < _top[i - 1].Distance; i--)
            {
                (_top[i], _top[i - 1]) = (_top[i - 1], _top[i]);
            }
        }

        return _top[0].Slot;
    }

    [Benchmark]
    public int PublicApiQuery() => _collection!.Query(_queries, nResults: K).Ids[0].Count;

    [Benchmark]
    public int PublicApiQueryIdsAndDistancesOnly() => _collection!.Query(_queries, nResults: K, include: Include.Distances).Ids[0].Count;
}

/// <summary>
/// Ingest through the public API: batches of 1,000 records, 384-d, 3 metadata keys and a 200-character
/// document each. Reported per record; records/s = 1e9 / (ns per record). Goal: ≥ 10,000 records/s.
/// <see cref="Graph"/> = false keeps the collection on exact scan (the store's write path alone); true lets
/// the background HNSW build run beside the writes (both share the machine's cores).
/// </summary>
[MemoryDiagnoser]
public class StoreIngestBenchmarks
{
    private const int Batch = 1_000;
    private const int Dimension = 384;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[][] _embeddings = [];
    private IReadOnlyDictionary<string, MetadataValue?>[] _metadatas = [];
    private string[] _documents = [];
    private int _next;

    [Params(false, true)]
    public bool Graph { get; set; }

    /// <summary>False: record checksums, write chain and acknowledged-seq file off (baseline for their cost; benchmark only).</summary>
    [Params(true, false)]
    public bool Integrity { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        EmbeddedChroma.Storage.RecordChecksum.Enabled = Integrity;
        var random = new Random(11);
        _embeddings = Enumerable.Range(0, Batch).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        string[] genres = ["news", "sports", "science", "arts"];
        _metadatas = Enumerable.Range(0, Batch).Select(i => (IReadOnlyDictionary<string, MetadataValue?>)new Dictionary<string, MetadataValue?>
        {
            ["genre"] = genres[i % genres.Length],
            ["year"] = 1990 + (i % 35),
            ["score"] = random.NextDouble(),
        }).ToArray();
        const string words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
        _documents = Enumerable.Range(0, Batch).Select(i => (words + words)[(i % 20)..][..200]).ToArray();
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-ingest-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { HnswThreshold = Graph ? 5_000 : int.MaxValue });
        _collection = _store.GetClient(key).CreateCollection("ingest");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
        EmbeddedChroma.Storage.RecordChecksum.Enabled = true;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void AddBatchOf1000()
    {
        var start = _next;
        _next += Batch;
        var ids = new string[Batch];
        for (var i = 0; i < Batch; i++)
        {
            ids[i] = "r" + (start + i);
        }

        _collection!.Add(ids, _embeddings, _metadatas, _documents);
    }
}

/// <summary>
/// What reading records with their documents and metadata costs through the public API, with the record checksums
/// verified (<see cref="Integrity"/> = true) or not (false, the baseline): 20,000 records of 384-d with a 200-character
/// document and 3 metadata keys; a query returning 10 results with documents and metadata, and a get of 100 ids.
/// </summary>
[MemoryDiagnoser]
public class StoreQueryWithDocumentsBenchmarks
{
    private const int Count = 20_000;
    private const int Dimension = 384;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[][] _queries = [];
    private string[] _ids = [];

    /// <summary>False: record checksums not verified (baseline for their cost; benchmark only).</summary>
    [Params(true, false)]
    public bool Integrity { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Written with checksums (as any real store); only the reads switch verification off.
        EmbeddedChroma.Storage.RecordChecksum.Enabled = true;
        var random = new Random(13);
        const string words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-querydocs-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { HnswThreshold = 5_000 });
        _collection = _store.GetClient(key).CreateCollection("bench");
        const int batch = 2_000;
        for (var start = 0; start < Count; start += batch)
        {
            var ids = Enumerable.Range(start, batch).Select(i => "id" + i).ToArray();
            _collection.Add(
                ids,
                ids.Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray(),
                ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["genre"] = "news", ["year"] = 1990 + (i % 35), ["score"] = random.NextDouble() }).ToArray(),
                ids.Select((_, i) => (string?)(words + words)[(i % 20)..][..200]).ToArray());
        }

        _collection.WaitForIndex();
        _queries = [Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()];
        _ids = Enumerable.Range(0, 100).Select(i => "id" + (i * 197)).ToArray();
        EmbeddedChroma.Storage.RecordChecksum.Enabled = Integrity;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        EmbeddedChroma.Storage.RecordChecksum.Enabled = true;
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark]
    public int QueryWithDocuments() => _collection!.Query(_queries, nResults: 10, include: Include.Documents | Include.Metadatas | Include.Distances).Ids[0].Count;

    [Benchmark]
    public int Get100WithDocuments() => _collection!.Get(ids: _ids, include: Include.Documents | Include.Metadatas).Ids.Count;
}

/// <summary>
/// What the filtered reads' check costs (<see cref="Recheck"/> = true: every record a filter finds is checked again on its
/// verified metadata and document; false: the baseline, benchmark only), on the StoreQueryWithDocuments store (20,000 ×
/// 384-d, 200-character documents, 3 metadata keys): a filtered query of 10 with documents and metadata, a filtered get of
/// 100, a get filtered on metadata and document; plus the check of the collection's filter rows and document index against
/// its records that the first filtered read of an open runs (<see cref="VerifyFilterData"/>).
/// </summary>
[MemoryDiagnoser]
public class StoreFilteredReadBenchmarks
{
    private const int Count = 20_000;
    private const int Dimension = 384;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[][] _queries = [];

    /// <summary>False: filtered reads not checked (baseline for its cost; benchmark only).</summary>
    [Params(true, false)]
    public bool Recheck { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(13);
        const string words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ";
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-filtered-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { HnswThreshold = 5_000 });
        _collection = _store.GetClient(key).CreateCollection("bench");
        const int batch = 2_000;
        for (var start = 0; start < Count; start += batch)
        {
            var ids = Enumerable.Range(start, batch).Select(i => "id" + i).ToArray();
            _collection.Add(
                ids,
                ids.Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray(),
                ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["genre"] = i % 2 == 0 ? "news" : "science", ["year"] = 1990 + (i % 35), ["score"] = random.NextDouble() }).ToArray(),
                ids.Select((_, i) => (string?)(words + words)[(i % 20)..][..200]).ToArray());
        }

        _collection.WaitForIndex();
        _queries = [Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()];
        EmbeddedChroma.Filtering.RecordFilter.Enabled = Recheck;
        _ = FilteredGet(); // the first filtered read of the open checks the filter data
        _ = FilteredGetWithDocument();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        EmbeddedChroma.Filtering.RecordFilter.Enabled = true;
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark]
    public int FilteredQuery() => _collection!.Query(_queries, nResults: 10, where: Where.And(Where.Eq("genre", "news"), Where.Gte("year", 2000)), include: Include.Documents | Include.Metadatas | Include.Distances).Ids[0].Count;

    [Benchmark]
    public int FilteredGet() => _collection!.Get(where: Where.Eq("year", 2001), limit: 100, include: Include.Documents | Include.Metadatas).Ids.Count;

    [Benchmark]
    public int FilteredGetWithDocument() => _collection!.Get(where: Where.Eq("genre", "news"), whereDocument: WhereDocument.Contains("dolor sit"), limit: 100, include: Include.Documents | Include.Metadatas).Ids.Count;

    [Benchmark]
    public int VerifyFilterData() => _collection!.VerifyFilterData();
}

/// <summary>
/// The record checksums alone, per record as ingest computes them and a read verifies them: a 384-d embedding, a
/// 200-character document and a 3-key metadata JSON (the StoreIngest record shape).
/// </summary>
[MemoryDiagnoser]
public class RecordChecksumBenchmarks
{
    private readonly string _id = "r123456";
    private readonly string _document = new('x', 200);
    private readonly string _metadata = "{\"genre\":\"science\",\"year\":2011,\"score\":0.12345678901234}";
    private readonly byte[] _embedding = new byte[384 * sizeof(float)];
    private readonly string _uri = "file:///data/images/2026/12/r123456.png";

    [Benchmark]
    public long PayloadAndVector() => EmbeddedChroma.Storage.RecordChecksum.Payload(_id, _document, _metadata, uri: null) ^ EmbeddedChroma.Storage.RecordChecksum.Vector(_id, _embedding);

    [Benchmark(Baseline = true)]
    public long PayloadOnly() => EmbeddedChroma.Storage.RecordChecksum.Payload(_id, _document, _metadata, uri: null);

    /// <summary>The payload sum of a record with a 40-character uri (records without one cost exactly <see cref="PayloadOnly"/>).</summary>
    [Benchmark]
    public long PayloadWithUri() => EmbeddedChroma.Storage.RecordChecksum.Payload(_id, _document, _metadata, _uri);
}
