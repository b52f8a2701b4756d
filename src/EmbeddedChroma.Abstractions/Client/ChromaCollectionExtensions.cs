using EmbeddedChroma.Internal;

namespace EmbeddedChroma;

/// <summary>
/// Chroma's calls with its optional arguments, and the text calls that embed with the collection's generator, written
/// once over <see cref="IChromaCollection"/> so every implementation has them.
/// </summary>
public static class ChromaCollectionExtensions
{
    /// <summary>Adds records (see <see cref="IChromaCollection.AddAsync"/>).</summary>
    public static Task AddAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings = null,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        IReadOnlyList<string?>? documents = null,
        IReadOnlyList<string?>? uris = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).AddAsync(Batch(ids, embeddings, metadatas, documents, uris), cancellationToken);

    /// <summary>Adds or replaces records (see <see cref="IChromaCollection.UpsertAsync"/>).</summary>
    public static Task UpsertAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings = null,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        IReadOnlyList<string?>? documents = null,
        IReadOnlyList<string?>? uris = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).UpsertAsync(Batch(ids, embeddings, metadatas, documents, uris), cancellationToken);

    /// <summary>Changes existing records (see <see cref="IChromaCollection.UpdateAsync"/>).</summary>
    public static Task UpdateAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings = null,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        IReadOnlyList<string?>? documents = null,
        IReadOnlyList<string?>? uris = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).UpdateAsync(Batch(ids, embeddings, metadatas, documents, uris), cancellationToken);

    /// <summary>Adds records whose embeddings the collection's generator makes from <paramref name="documents"/>.</summary>
    /// <exception cref="ChromaValidationException">The handle has no embedding generator, or an argument is invalid.</exception>
    /// <exception cref="ChromaEmbeddingException">The generator failed.</exception>
    public static Task AddTextsAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<string> documents,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        CancellationToken cancellationToken = default) =>
        TextWrite(collection, "add", ids, documents, metadatas, (c, b, ct) => c.AddAsync(b, ct), cancellationToken);

    /// <summary>Adds or replaces records whose embeddings the collection's generator makes from <paramref name="documents"/>.</summary>
    /// <exception cref="ChromaValidationException">The handle has no embedding generator, or an argument is invalid.</exception>
    /// <exception cref="ChromaEmbeddingException">The generator failed.</exception>
    public static Task UpsertTextsAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<string> documents,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        CancellationToken cancellationToken = default) =>
        TextWrite(collection, "upsert", ids, documents, metadatas, (c, b, ct) => c.UpsertAsync(b, ct), cancellationToken);

    /// <summary>Replaces the documents of existing records and their embeddings, made from the new documents by the collection's generator.</summary>
    /// <exception cref="ChromaValidationException">The handle has no embedding generator, or an argument is invalid.</exception>
    /// <exception cref="ChromaEmbeddingException">The generator failed.</exception>
    public static Task UpdateTextsAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> ids,
        IReadOnlyList<string> documents,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        CancellationToken cancellationToken = default) =>
        TextWrite(collection, "update", ids, documents, metadatas, (c, b, ct) => c.UpdateAsync(b, ct), cancellationToken);

    /// <summary>Returns records chosen by ids and/or filters (see <see cref="IChromaCollection.GetAsync"/>).</summary>
    public static Task<GetResult> GetAsync(
        this IChromaCollection collection,
        IReadOnlyList<string>? ids = null,
        Where? where = null,
        WhereDocument? whereDocument = null,
        int? limit = null,
        int offset = 0,
        Include? include = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).GetAsync(new GetRequest { Ids = ids, Where = where, WhereDocument = whereDocument, Limit = limit, Offset = offset, Include = include }, cancellationToken);

    /// <summary>The first <paramref name="limit"/> records with embeddings, metadata and documents (Chroma's <c>peek</c>).</summary>
    /// <exception cref="ChromaValidationException"><paramref name="limit"/> is not positive.</exception>
    public static Task<GetResult> PeekAsync(this IChromaCollection collection, int limit = 10, CancellationToken cancellationToken = default) =>
        limit <= 0
            ? Task.FromException<GetResult>(new ChromaValidationException($"peek: limit must be positive, got {limit}."))
            : NotNull(collection).GetAsync(new GetRequest { Limit = limit, Include = Include.Embeddings | Include.Metadatas | Include.Documents }, cancellationToken);

    /// <summary>The nearest records to each query embedding (see <see cref="IChromaCollection.QueryAsync"/>).</summary>
    public static Task<QueryResult> QueryAsync(
        this IChromaCollection collection,
        IReadOnlyList<float[]> queryEmbeddings,
        int nResults = ChromaDefaults.NResults,
        Where? where = null,
        WhereDocument? whereDocument = null,
        IReadOnlyList<string>? ids = null,
        Include? include = null,
        int? efSearch = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).QueryAsync(
            new QueryRequest { QueryEmbeddings = queryEmbeddings, NResults = nResults, Where = where, WhereDocument = whereDocument, Ids = ids, Include = include, EfSearch = efSearch },
            cancellationToken);

    /// <summary>The nearest records to each query text, embedded first by the collection's generator (Chroma's <c>query_texts</c>).</summary>
    /// <exception cref="ChromaValidationException">The handle has no embedding generator, or an argument is invalid.</exception>
    /// <exception cref="ChromaEmbeddingException">The generator failed.</exception>
    public static Task<QueryResult> QueryTextsAsync(
        this IChromaCollection collection,
        IReadOnlyList<string> queryTexts,
        int nResults = ChromaDefaults.NResults,
        Where? where = null,
        WhereDocument? whereDocument = null,
        IReadOnlyList<string>? ids = null,
        Include? include = null,
        int? efSearch = null,
        CancellationToken cancellationToken = default)
    {
        // Null or empty texts are refused by the implementation, through the task, after the key check.
        return NotNull(collection).QueryAsync(
            new QueryRequest { QueryTexts = queryTexts ?? [], NResults = nResults, Where = where, WhereDocument = whereDocument, Ids = ids, Include = include, EfSearch = efSearch },
            cancellationToken);
    }

    /// <summary>Deletes the records chosen by ids and/or filters (see <see cref="IChromaCollection.DeleteAsync"/>).</summary>
    public static Task DeleteAsync(
        this IChromaCollection collection,
        IReadOnlyList<string>? ids = null,
        Where? where = null,
        WhereDocument? whereDocument = null,
        int? limit = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).DeleteAsync(new DeleteRequest { Ids = ids, Where = where, WhereDocument = whereDocument, Limit = limit }, cancellationToken);

    /// <summary>Renames the collection, replaces its metadata and/or changes <c>ef_search</c> (see <see cref="IChromaCollection.ModifyAsync"/>).</summary>
    public static Task ModifyAsync(
        this IChromaCollection collection,
        string? name = null,
        IReadOnlyDictionary<string, MetadataValue?>? metadata = null,
        CollectionConfigurationUpdate? configuration = null,
        CancellationToken cancellationToken = default) =>
        NotNull(collection).ModifyAsync(new CollectionModification { Name = name, Metadata = metadata, Configuration = configuration }, cancellationToken);

    private static async Task TextWrite(
        IChromaCollection collection,
        string operation,
        IReadOnlyList<string> ids,
        IReadOnlyList<string> documents,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        Func<IChromaCollection, RecordBatch, CancellationToken, Task> write,
        CancellationToken cancellationToken)
    {
        NotNull(collection);
        if (collection.EmbeddingGenerator is null)
        {
            throw new ChromaValidationException($"{operation}: collection '{Echo.Text(collection.Name)}' has no embedding generator, so it cannot embed texts.");
        }

        if (documents is null)
        {
            throw new ChromaValidationException($"{operation}: documents must be a list of strings.");
        }

        // The implementation embeds the documents (Chroma's rule for a batch without embeddings) after it has checked
        // the key, so a key that may not write never gets its texts sent to the generator.
        await write(collection, Batch(ids, null, metadatas, documents), cancellationToken).ConfigureAwait(false);
    }

    private static RecordBatch Batch(
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas,
        IReadOnlyList<string?>? documents,
        IReadOnlyList<string?>? uris = null) =>
        // Null ids are refused by the implementation, through the task like every other invalid argument.
        new() { Ids = ids!, Embeddings = embeddings, Metadatas = metadatas, Documents = documents, Uris = uris };

    private static IChromaCollection NotNull(IChromaCollection collection) =>
        collection ?? throw new ArgumentNullException(nameof(collection));
}
