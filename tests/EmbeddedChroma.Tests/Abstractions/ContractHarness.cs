using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// An embedded store (a <see cref="StoreFixture"/> in a temp folder, deleted on dispose) seen only through the
/// contract: <see cref="Client"/> is an <see cref="IChromaClient"/> for the admin key; <see cref="Mint"/> issues
/// narrower keys from the admin key ring.
/// </summary>
internal sealed class ContractHarness : IDisposable
{
    private readonly StoreFixture _fixture;

    public ContractHarness(ChromaStoreOptions? options = null)
    {
        _fixture = new StoreFixture(options);
        Client = _fixture.Store.GetClient(ChromaCredential.FromKey(_fixture.AdminKey));
    }

    public ChromaStore Store => _fixture.Store;

    public string AdminKey => _fixture.AdminKey;

    public string Folder => _fixture.Folder;

    /// <summary>The admin client, as the contract.</summary>
    public IChromaClient Client { get; private set; }

    /// <summary>Closes the store and opens its folder again; <see cref="Client"/> is a new admin client of the reopened store.</summary>
    public void Reopen()
    {
        _fixture.Reopen();
        Client = _fixture.Store.GetClient(ChromaCredential.FromKey(_fixture.AdminKey));
    }

    /// <summary>Issues a key with <paramref name="actions"/> on <paramref name="resources"/> and returns it (its id in <paramref name="keyId"/>).</summary>
    public string Mint(string[] actions, string[] resources, out string keyId, string name = "k")
    {
        var created = Store.GetKeyRing(Store.Authenticate(AdminKey))
            .CreateKey(new ApiKeySpec { Name = name, Actions = actions, Resources = resources });
        keyId = created.Info.KeyId;
        return created.Key;
    }

    public string Mint(string[] actions, string[] resources, string name = "k") => Mint(actions, resources, out _, name);

    /// <summary>Issues a key from a full spec (quota, rate limit …) and returns it.</summary>
    public string Mint(ApiKeySpec spec, out string keyId)
    {
        var created = Store.GetKeyRing(Store.Authenticate(AdminKey)).CreateKey(spec);
        keyId = created.Info.KeyId;
        return created.Key;
    }

    /// <summary>How many calls of <paramref name="action"/> the key made with <paramref name="outcome"/>.</summary>
    public long Calls(string keyId, string action, ApiKeyOutcome outcome = ApiKeyOutcome.Allowed) =>
        Store.GetKeyRing(Store.Authenticate(AdminKey)).GetUsage(keyId).Counts.TryGetValue((action, outcome), out var n) ? n : 0;

    public void Revoke(string keyId) => Store.GetKeyRing(Store.Authenticate(AdminKey)).RevokeKey(keyId);

    /// <summary>A contract client for <paramref name="key"/> on the default tenant/database (or <paramref name="database"/>).</summary>
    public IChromaClient ClientFor(string key, string database = ChromaDefaults.Database) =>
        Store.GetClient(ChromaCredential.FromKey(key), ChromaDefaults.Tenant, database);

    /// <summary>Creates a collection through the contract.</summary>
    public Task<IChromaCollection> CreateAsync(string name, IEmbeddingGenerator<string, Embedding<float>>? generator = null, IChromaClient? client = null) =>
        (client ?? Client).CreateCollectionAsync(name, new CollectionOptions { EmbeddingGenerator = generator });

    public void Dispose() => _fixture.Dispose();

    /// <summary>A metadata map with typed values.</summary>
    public static IReadOnlyDictionary<string, MetadataValue?> Meta(params (string Key, MetadataValue? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Deterministic embeddings (fixed seed) of <paramref name="dimension"/> in [-1, 1).</summary>
    public static float[][] Vectors(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray())
            .ToArray();
    }
}

/// <summary>An embedding generator that counts its calls and fails, or returns a wrong count, on demand.</summary>
internal sealed class ScriptedGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    /// <summary>Thrown from <see cref="GenerateAsync"/> when set.</summary>
    public Exception? Failure { get; init; }

    /// <summary>Added to the number of embeddings returned (a negative value drops some).</summary>
    public int CountSkew { get; init; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        if (Failure is not null)
        {
            throw Failure;
        }

        var texts = values.ToList();
        var count = Math.Max(0, texts.Count + CountSkew);
        var embeddings = Enumerable.Range(0, count)
            .Select(i => new Embedding<float>(DeterministicEmbeddingGenerator.Embed(texts[Math.Min(i, texts.Count - 1)])));
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(embeddings));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
    }
}
