using BenchmarkDotNet.Attributes;
using EmbeddedChroma.Security;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// The per-call gate on the hot path: an allowed call of a scoped key (state, scope, action, counters),
/// with a rate limit, and with a quota (uses leased in blocks, so a commit only every 1,024 calls), against a
/// plain dictionary lookup as the baseline. Goal: under 2 µs; a quota within a few µs of an unlimited key.
/// </summary>
[MemoryDiagnoser]
public class KeyRingBenchmarks
{
    private string _folder = "";
    private ChromaStore? _store;
    private ApiKeyContext? _scoped;
    private ApiKeyContext? _rateLimited;
    private ApiKeyContext? _quota;
    private ApiKeyContext? _delegated;
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
        var quota = ring.CreateKey(new ApiKeySpec
        {
            Name = "quota",
            Resources = ["default_tenant/default_database/books"],
            Actions = [ChromaActions.Query, ChromaActions.CreateKey],
            MaxUses = long.MaxValue / 2,
        });
        _scoped = _store.Authenticate(scoped.Key);
        _rateLimited = _store.Authenticate(limited.Key);
        _quota = _store.Authenticate(quota.Key);

        // Three levels below the admin key: the per-call walk up the issuing chain.
        var issuer = _quota;
        for (var level = 0; level < 3; level++)
        {
            var child = _store.GetKeyRing(issuer).CreateKey(new ApiKeySpec
            {
                Name = $"level {level}",
                Resources = ["default_tenant/default_database/books"],
                Actions = [ChromaActions.Query, ChromaActions.CreateKey],
                MaxUses = long.MaxValue / 8 >> level,
            });
            issuer = _store.Authenticate(child.Key);
        }

        _delegated = issuer;
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
    public void AuthorizeAllowedWithQuota() =>
        _store!.Keys.Authorize(_quota!, ChromaActions.Query, new ResourceRef("default_tenant", "default_database", "books"));

    [Benchmark]
    public void AuthorizeAllowedWithQuotaThreeLevelsDown() =>
        _store!.Keys.Authorize(_delegated!, ChromaActions.Query, new ResourceRef("default_tenant", "default_database", "books"));

    [Benchmark]
    public int CountThroughPublicApi() => _collection!.Count();
}
