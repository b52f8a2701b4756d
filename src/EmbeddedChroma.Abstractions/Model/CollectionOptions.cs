using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>Arguments of <see cref="IChromaClient.CreateCollectionAsync"/> and <see cref="IChromaClient.GetOrCreateCollectionAsync"/>.</summary>
public sealed record CollectionOptions
{
    /// <summary>The collection's metadata (scalar values: string, integer, float, bool).</summary>
    public IReadOnlyDictionary<string, MetadataValue?>? Metadata { get; init; }

    /// <summary>The index configuration; <see langword="null"/> means Chroma's defaults.</summary>
    public CollectionConfiguration? Configuration { get; init; }

    /// <summary>
    /// Turns documents and query texts into embeddings, for writes given documents without
    /// embeddings and for the text calls (<c>AddTextsAsync</c>, <c>QueryTextsAsync</c>, …). Not persisted: pass it again when reopening.
    /// </summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; init; }
}

/// <summary>Description of a collection, as listed by <see cref="IChromaClient.ListCollectionsAsync"/>.</summary>
/// <param name="Id">The collection's id.</param>
/// <param name="Name">The collection's name.</param>
/// <param name="Tenant">The tenant it belongs to.</param>
/// <param name="Database">The database it belongs to.</param>
/// <param name="Metadata">Its metadata, or <see langword="null"/>.</param>
/// <param name="Configuration">Its index configuration.</param>
/// <param name="Dimension">Its embedding dimension, or <see langword="null"/> before the first add.</param>
public sealed record CollectionInfo(
    Guid Id,
    string Name,
    string Tenant,
    string Database,
    IReadOnlyDictionary<string, MetadataValue>? Metadata,
    CollectionConfiguration Configuration,
    int? Dimension);

/// <summary>A database within a tenant.</summary>
/// <param name="Tenant">The tenant's name.</param>
/// <param name="Name">The database's name.</param>
public sealed record DatabaseInfo(string Tenant, string Name);
