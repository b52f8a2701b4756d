using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

// The client contract (IChromaClient): each call runs the embedded operation on the caller's thread and returns a
// completed task. Failures arrive through the task.
public sealed partial class ChromaClient : IChromaClient
{
    /// <inheritdoc/>
    IChromaClient IChromaClient.WithDatabase(string database, string tenant) => WithDatabase(database, tenant);

    /// <inheritdoc/>
    public Task<long> HeartbeatAsync(CancellationToken cancellationToken = default) => Completed.Run(Heartbeat, cancellationToken);

    /// <inheritdoc/>
    public Task CreateTenantAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => CreateTenant(name), cancellationToken);

    /// <inheritdoc/>
    public Task<TenantInfo> GetTenantAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => GetTenant(name), cancellationToken);

    /// <inheritdoc/>
    public Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => CreateDatabase(name), cancellationToken);

    /// <inheritdoc/>
    public Task<DatabaseInfo> GetDatabaseAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => GetDatabase(name), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<DatabaseInfo>> ListDatabasesAsync(int? limit, int offset, CancellationToken cancellationToken = default) =>
        Completed.Run(() => ListDatabases(null, limit, offset), cancellationToken);

    /// <inheritdoc/>
    public Task DeleteDatabaseAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => DeleteDatabase(name), cancellationToken);

    /// <inheritdoc/>
    public Task<IChromaCollection> CreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default) =>
        Completed.Run<IChromaCollection>(() => CreateCollection(name, options), cancellationToken);

    /// <inheritdoc/>
    public Task<IChromaCollection> GetOrCreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default) =>
        Completed.Run<IChromaCollection>(() => GetOrCreateCollection(name, options), cancellationToken);

    /// <inheritdoc/>
    public Task<IChromaCollection> GetCollectionAsync(string name, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default) =>
        Completed.Run<IChromaCollection>(() => GetCollection(name, embeddingGenerator), cancellationToken);

    /// <inheritdoc/>
    public Task<IChromaCollection> GetCollectionAsync(Guid id, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default) =>
        Completed.Run<IChromaCollection>(() => GetCollection(id, embeddingGenerator), cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(int? limit, int offset, CancellationToken cancellationToken = default) =>
        Completed.Run(() => ListCollections(limit, offset), cancellationToken);

    /// <inheritdoc/>
    public Task<int> CountCollectionsAsync(CancellationToken cancellationToken = default) => Completed.Run(CountCollections, cancellationToken);

    /// <inheritdoc/>
    public Task DeleteCollectionAsync(string name, CancellationToken cancellationToken = default) => Completed.Run(() => DeleteCollection(name), cancellationToken);
}
