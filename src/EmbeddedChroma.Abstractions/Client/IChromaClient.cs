using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// A Chroma client bound to one caller (its credential) and one tenant/database: tenants, databases and collections.
/// Implemented in-process by the embedded store (<c>ChromaStore.GetClient</c>) and over Chroma's HTTP API by a remote
/// client, so code written against this interface runs unchanged against either.
/// </summary>
/// <remarks>
/// Every call is checked against the caller's key. Failures are <see cref="ChromaException"/> subtypes; a cancelled
/// call throws <see cref="OperationCanceledException"/>. Conveniences with Chroma's optional arguments are extension
/// methods in <see cref="ChromaClientExtensions"/>.
/// </remarks>
public interface IChromaClient
{
    /// <summary>The tenant collections are created in and looked up from.</summary>
    string Tenant { get; }

    /// <summary>The database collections are created in and looked up from.</summary>
    string Database { get; }

    /// <summary>A client for the same caller on another database (and tenant).</summary>
    /// <param name="database">The database.</param>
    /// <param name="tenant">The tenant the database belongs to.</param>
    /// <exception cref="ChromaNotFoundException">The embedded store refuses at once a key whose scope does not reach the database (as if it did not exist); a remote client finds out on the first call.</exception>
    IChromaClient WithDatabase(string database, string tenant);

    /// <summary>A nanosecond timestamp from the server (Chroma's heartbeat).</summary>
    Task<long> HeartbeatAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates a tenant.</summary>
    /// <exception cref="ChromaConflictException">It exists.</exception>
    Task CreateTenantAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns the tenant.</summary>
    /// <exception cref="ChromaNotFoundException">No such tenant.</exception>
    Task<TenantInfo> GetTenantAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Creates a database in this client's tenant.</summary>
    /// <exception cref="ChromaConflictException">It exists.</exception>
    Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Returns a database of this client's tenant.</summary>
    /// <exception cref="ChromaNotFoundException">No such database.</exception>
    Task<DatabaseInfo> GetDatabaseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Lists this client's tenant's databases, oldest first.</summary>
    /// <param name="limit">At most this many; <see langword="null"/> for all.</param>
    /// <param name="offset">Skip this many first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<DatabaseInfo>> ListDatabasesAsync(int? limit, int offset, CancellationToken cancellationToken = default);

    /// <summary>Deletes a database of this client's tenant and every collection in it.</summary>
    /// <exception cref="ChromaNotFoundException">No such database.</exception>
    Task DeleteDatabaseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Creates a collection.</summary>
    /// <exception cref="ChromaConflictException">A collection with that name exists in this database.</exception>
    Task<IChromaCollection> CreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default);

    /// <summary>Returns the collection, creating it if missing; when it exists the options are ignored (Chroma's rule), except the embedding generator, which the returned handle uses.</summary>
    Task<IChromaCollection> GetOrCreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default);

    /// <summary>Returns an existing collection by name.</summary>
    /// <param name="name">The collection's name.</param>
    /// <param name="embeddingGenerator">Embeds documents and query texts for the returned handle (not persisted), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ChromaNotFoundException">No such collection.</exception>
    Task<IChromaCollection> GetCollectionAsync(string name, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default);

    /// <summary>Returns an existing collection of this database by id (Chroma's v2 routes address collections by id).</summary>
    /// <param name="id">The collection's id.</param>
    /// <param name="embeddingGenerator">Embeds documents and query texts for the returned handle (not persisted), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ChromaNotFoundException">No collection of this database has that id.</exception>
    Task<IChromaCollection> GetCollectionAsync(Guid id, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default);

    /// <summary>Lists the collections of this database, oldest first.</summary>
    /// <param name="limit">At most this many; <see langword="null"/> for all.</param>
    /// <param name="offset">Skip this many first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(int? limit, int offset, CancellationToken cancellationToken = default);

    /// <summary>Number of collections in this database.</summary>
    Task<int> CountCollectionsAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a collection and its records.</summary>
    /// <exception cref="ChromaNotFoundException">No such collection.</exception>
    Task DeleteCollectionAsync(string name, CancellationToken cancellationToken = default);
}
