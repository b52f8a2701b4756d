using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>Chroma's client calls with its optional arguments, written once over <see cref="IChromaClient"/>.</summary>
public static class ChromaClientExtensions
{
    /// <summary>A client for the same caller on another database of the same tenant.</summary>
    public static IChromaClient WithDatabase(this IChromaClient client, string database) =>
        NotNull(client).WithDatabase(database, client.Tenant);

    /// <summary>Lists this client's tenant's databases, oldest first.</summary>
    public static Task<IReadOnlyList<DatabaseInfo>> ListDatabasesAsync(this IChromaClient client, CancellationToken cancellationToken = default) =>
        NotNull(client).ListDatabasesAsync(null, 0, cancellationToken);

    /// <summary>Creates a collection with Chroma's defaults.</summary>
    public static Task<IChromaCollection> CreateCollectionAsync(this IChromaClient client, string name, CancellationToken cancellationToken = default) =>
        NotNull(client).CreateCollectionAsync(name, null, cancellationToken);

    /// <summary>Returns the collection, creating it with Chroma's defaults if missing.</summary>
    public static Task<IChromaCollection> GetOrCreateCollectionAsync(this IChromaClient client, string name, CancellationToken cancellationToken = default) =>
        NotNull(client).GetOrCreateCollectionAsync(name, null, cancellationToken);

    /// <summary>Returns an existing collection by name, without an embedding generator.</summary>
    public static Task<IChromaCollection> GetCollectionAsync(this IChromaClient client, string name, CancellationToken cancellationToken = default) =>
        NotNull(client).GetCollectionAsync(name, (IEmbeddingGenerator<string, Embedding<float>>?)null, cancellationToken);

    /// <summary>Returns an existing collection by id, without an embedding generator.</summary>
    public static Task<IChromaCollection> GetCollectionAsync(this IChromaClient client, Guid id, CancellationToken cancellationToken = default) =>
        NotNull(client).GetCollectionAsync(id, (IEmbeddingGenerator<string, Embedding<float>>?)null, cancellationToken);

    /// <summary>Lists the collections of this database, oldest first.</summary>
    public static Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(this IChromaClient client, CancellationToken cancellationToken = default) =>
        NotNull(client).ListCollectionsAsync(null, 0, cancellationToken);

    private static IChromaClient NotNull(IChromaClient client) =>
        client ?? throw new ArgumentNullException(nameof(client));
}
