using BenchmarkDotNet.Attributes;
using EmbeddedChroma.Security;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// The per-call gate on the hot path: an allowed call of a scoped key (state, scope, action, counters),
/// with and without a rate limit, against a plain dictionary lookup as the baseline. Goal: under 2 µs.
/// </summary>
[MemoryDiagnoser]
public class KeyRingBenchmarks
{
    private string _folder = "";
    private ChromaStore? _store;
    private ApiKeyContext? _scoped;
    private ApiKeyContext? _rateLimited;
    private Collection? _collection;
    private readonly Dictionary<string, int> _baseline = new(StringComparer.Ordinal) { ["collection:query"] = 1 };

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-keys-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var adminKey);
        var admin = _store.Authenticate(adminKey);
        _store.GetClient(admin).CreateCollection("books").Add(["a"], [[1f, 2f, 3f]]);
        var ring = _store.GetKeyRing(admin);
        var scoped = ring.CreateKey(new ApiKeySpec { Name = "query", Resources = ["default_tenant/default_database/books"], Actions = [ChromaActions.Query, ChromaActions.Count] });
        var limited = ring.CreateKey(new ApiKeySpec
        {
            Name = "limited",
            Resources = ["default_tenant/default_database/books"],
            Actions = [ChromaActions.Query],
            RateLimit = new ApiKeyRateLimit(1e12, int.MaxValue),
        });
        _scoped = _store.Authenticate(scoped.Key);
        _rateLimited = _store.Authenticate(limited.Key);
        _collection = _store.GetClient(_scoped).GetCollection("books");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public int DictionaryLookup() => _baseline.TryGetValue("collection:query", out var v) ? v : 0;

    [Benchmark]
    public void AuthorizeAllowed() =>
        _store!.Keys.Authorize(_scoped!, ChromaActions.Query, new ResourceRef("default_tenant", "default_database", "books"));

    [Benchmark]
    public void AuthorizeAllowedWithRateLimit() =>
        _store!.Keys.Authorize(_rateLimited!, ChromaActions.Query, new ResourceRef("default_tenant", "default_database", "books"));

    [Benchmark]
    public int CountThroughPublicApi() => _collection!.Count();
}
