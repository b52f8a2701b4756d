using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// A collection of records (id, embedding, metadata, document) with Chroma's operations, whichever implementation
/// serves it. Obtained from an <see cref="IChromaClient"/>; every call is checked against the caller's key.
/// </summary>
/// <remarks>
/// <para>Writes are all or nothing: a batch that fails changes nothing. Reads see a whole write batch or none of it.</para>
/// <para>The properties are a snapshot taken when the handle was obtained and refreshed by its calls; they never
/// call the server and never throw.</para>
/// <para>Conveniences with Chroma's optional arguments, and the text calls (<c>AddTextsAsync</c>,
/// <c>QueryTextsAsync</c>, …) that embed with <see cref="EmbeddingGenerator"/>, are extension methods in
/// <see cref="ChromaCollectionExtensions"/>.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Chroma's own name for the concept.")]
public interface IChromaCollection
{
    /// <summary>The collection's id.</summary>
    Guid Id { get; }

    /// <summary>The collection's name.</summary>
    string Name { get; }

    /// <summary>The tenant it belongs to.</summary>
    string Tenant { get; }

    /// <summary>The database it belongs to.</summary>
    string Database { get; }

    /// <summary>The collection's metadata, or <see langword="null"/>.</summary>
    IReadOnlyDictionary<string, MetadataValue>? Metadata { get; }

    /// <summary>The index configuration.</summary>
    CollectionConfiguration Configuration { get; }

    /// <summary>The embedding dimension, fixed by the first add; <see langword="null"/> before it (or when the server does not say).</summary>
    int? Dimension { get; }

    /// <summary>Embeds documents and query texts for this handle, or <see langword="null"/>.</summary>
    IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; }

    /// <summary>Number of records.</summary>
    Task<int> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds records; ids that exist already are left unchanged (Chroma's rule). The first add fixes the dimension.</summary>
    /// <exception cref="ChromaValidationException">The batch is invalid (lengths, dimension, duplicate ids, metadata …).</exception>
    Task AddAsync(RecordBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Adds new records and replaces existing ones (a metadata key given as <see langword="null"/> is removed).</summary>
    Task UpsertAsync(RecordBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Changes existing records; parts left out are kept. Ids that do not exist are skipped (Chroma's rule).</summary>
    Task UpdateAsync(RecordBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Returns records chosen by ids and/or filters, in insertion order.</summary>
    Task<GetResult> GetAsync(GetRequest request, CancellationToken cancellationToken = default);

    /// <summary>The nearest records to each query embedding, each list in ascending distance.</summary>
    Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default);

    /// <summary>Deletes the records chosen by ids and/or filters, at most <see cref="DeleteRequest.Limit"/> of them when it is given.</summary>
    /// <exception cref="ChromaValidationException">No selector was given, or a limit without <c>where</c>/<c>where_document</c>, or a negative limit.</exception>
    Task DeleteAsync(DeleteRequest request, CancellationToken cancellationToken = default);

    /// <summary>Renames the collection, replaces its metadata and/or changes <c>ef_search</c>.</summary>
    /// <exception cref="ChromaConflictException">Another collection of the database has the new name.</exception>
    Task ModifyAsync(CollectionModification changes, CancellationToken cancellationToken = default);
}
