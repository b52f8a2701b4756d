using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData <see cref="VectorStore"/> over the collections of one database of an
/// <see cref="IChromaClient"/>: the embedded store (<c>ChromaStore.GetClient(key)</c>) or a Chroma server through the
/// remote client. Every call goes through the client, so it is checked against the client's key.
/// </summary>
/// <remarks>The store does not own the client: disposing it leaves the client (and the embedded store behind it) open.</remarks>
public sealed class ChromaVectorStore : VectorStore
{
    private readonly IChromaClient _client;
    private readonly ChromaVectorStoreOptions _options;
    private readonly VectorStoreMetadata _metadata;

    /// <summary>Creates a vector store over the client's database.</summary>
    /// <param name="client">The client (its tenant and database hold the collections).</param>
    /// <param name="options">The options, or <see langword="null"/>.</param>
    public ChromaVectorStore(IChromaClient client, ChromaVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new ChromaVectorStoreOptions();
        _metadata = new VectorStoreMetadata { VectorStoreSystemName = ChromaErrors.SystemName, VectorStoreName = StoreName };
    }

    private string StoreName => $"{_client.Tenant}/{_client.Database}";

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The record type or definition holds something Chroma cannot carry, or <typeparamref name="TRecord"/> is a dictionary (use <see cref="GetDynamicCollection"/>).</exception>
    public override ChromaVectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null) =>
        new(_client, name, new ChromaCollectionOptions { Definition = definition, EmbeddingGenerator = _options.EmbeddingGenerator });

    /// <inheritdoc />
    public override ChromaVectorStoreDynamicCollection GetDynamicCollection(string name, VectorStoreCollectionDefinition definition) =>
        new(_client, name, new ChromaCollectionOptions { Definition = definition, EmbeddingGenerator = _options.EmbeddingGenerator });

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var collections = await ChromaErrors.RunAsync(() => _client.ListCollectionsAsync(null, 0, cancellationToken), StoreName, null, "ListCollectionNames").ConfigureAwait(false);
        foreach (var collection in collections)
        {
            yield return collection.Name;
        }
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default) =>
        ChromaErrors.RunAsync(async () =>
        {
            try
            {
                await _client.GetCollectionAsync(name, null, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (ChromaNotFoundException)
            {
                return false;
            }
        }, StoreName, name, "CollectionExists");

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default) =>
        ChromaErrors.RunAsync(async () =>
        {
            try
            {
                await _client.DeleteCollectionAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (ChromaNotFoundException)
            {
            }
        }, StoreName, name, "EnsureCollectionDeleted");

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreMetadata) ? _metadata
            : serviceType == typeof(IChromaClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }
}
