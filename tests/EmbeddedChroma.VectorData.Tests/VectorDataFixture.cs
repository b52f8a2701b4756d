using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>A real embedded store in a fresh temp folder, its admin client and a <see cref="ChromaVectorStore"/> over it; deleted on dispose.</summary>
public sealed class VectorDataFixture : IDisposable
{
    public VectorDataFixture()
        : this(null)
    {
    }

    public VectorDataFixture(IEmbeddingGenerator? storeGenerator)
    {
        Folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.VectorData.Tests", Guid.NewGuid().ToString("N"));
        Store = ChromaStore.Create(Folder, out var adminKey);
        AdminKey = adminKey;
        Client = Store.GetClient(ChromaCredential.FromKey(adminKey));
        VectorStore = new ChromaVectorStore(Client, new ChromaVectorStoreOptions { EmbeddingGenerator = storeGenerator });
    }

    public string Folder { get; }

    public ChromaStore Store { get; }

    public string AdminKey { get; }

    public IChromaClient Client { get; }

    public ChromaVectorStore VectorStore { get; }

    /// <summary>A collection that exists (created fresh, under a unique name).</summary>
    public async Task<ChromaVectorStoreCollection<TKey, TRecord>> CreateCollectionAsync<TKey, TRecord>(VectorStoreCollectionDefinition? definition = null)
        where TKey : notnull
        where TRecord : class
    {
        var collection = VectorStore.GetCollection<TKey, TRecord>("c" + Guid.NewGuid().ToString("N")[..12], definition);
        await collection.EnsureCollectionExistsAsync();
        return collection;
    }

    public void Dispose()
    {
        VectorStore.Dispose();
        Store.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>A fake embedding model: counts of four vocabulary words plus a constant 1, so texts sharing words are close. Deterministic; counts calls.</summary>
public sealed class WordCountGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public static readonly string[] Vocabulary = ["cat", "dog", "car", "space"];

    public static int Dimension => Vocabulary.Length + 1;

    public int Calls { get; private set; }

    public static float[] Embed(string text)
    {
        var words = text.Split([' ', ',', '.'], StringSplitOptions.RemoveEmptyEntries);
        var vector = new float[Dimension];
        for (var i = 0; i < Vocabulary.Length; i++)
        {
            vector[i] = words.Count(w => string.Equals(w, Vocabulary[i], StringComparison.OrdinalIgnoreCase));
        }

        vector[^1] = 1f;
        return vector;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(t => new Embedding<float>(Embed(t)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
