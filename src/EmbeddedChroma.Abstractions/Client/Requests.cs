namespace EmbeddedChroma;

/// <summary>
/// Records to add, upsert or update (Chroma's <c>add</c>/<c>upsert</c>/<c>update</c> body): parallel lists, one entry
/// per id. Every list but <see cref="Ids"/> may be left out; a list that is given has one entry per id.
/// </summary>
/// <remarks>
/// When <see cref="Embeddings"/> is left out and <see cref="Documents"/> is given, the collection's embedding generator
/// (<see cref="IChromaCollection.EmbeddingGenerator"/>) embeds the documents first, as Chroma's clients do with the
/// collection's embedding function; without a generator the call fails with a <see cref="ChromaValidationException"/>
/// (add and upsert need embeddings; update may change only metadata or documents).
/// </remarks>
public sealed record RecordBatch
{
    /// <summary>The record ids (required, unique within the batch).</summary>
    public required IReadOnlyList<string> Ids { get; init; }

    /// <summary>One embedding per id, or <see langword="null"/> to embed <see cref="Documents"/> (or, for update, to keep them).</summary>
    public IReadOnlyList<float[]>? Embeddings { get; init; }

    /// <summary>
    /// One metadata object per id (an entry may be <see langword="null"/>). In an update or upsert a <see langword="null"/>
    /// value removes its key; in an add it is skipped.
    /// </summary>
    public IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? Metadatas { get; init; }

    /// <summary>One document per id (an entry may be <see langword="null"/>).</summary>
    public IReadOnlyList<string?>? Documents { get; init; }

    /// <summary>
    /// One uri per id (Chroma's <c>uris</c>: where the record's data lives, e.g. an image file), or <see langword="null"/>
    /// to give none. In an add or upsert a <see langword="null"/> entry stores no uri; in an update it keeps the record's
    /// uri (as a <see langword="null"/> document does). Stored as given, returned when <see cref="Include.Uris"/> is requested.
    /// </summary>
    public IReadOnlyList<string?>? Uris { get; init; }
}

/// <summary>Chroma's <c>get</c> body: records chosen by ids and/or filters (all given selectors must match), in insertion order.</summary>
public sealed record GetRequest
{
    /// <summary>Only these ids (missing ids are skipped); <see langword="null"/> for any.</summary>
    public IReadOnlyList<string>? Ids { get; init; }

    /// <summary>A metadata filter.</summary>
    public Where? Where { get; init; }

    /// <summary>A document filter.</summary>
    public WhereDocument? WhereDocument { get; init; }

    /// <summary>At most this many records; <see langword="null"/> for all.</summary>
    public int? Limit { get; init; }

    /// <summary>Skip this many matching records first.</summary>
    public int Offset { get; init; }

    /// <summary>What to return besides ids; <see langword="null"/> for Chroma's default (<see cref="ChromaDefaults.GetInclude"/>). Distances are not allowed.</summary>
    public Include? Include { get; init; }
}

/// <summary>
/// Chroma's <c>query</c> body: the nearest records to each query embedding, optionally among those chosen by ids and/or
/// filters. Give either <see cref="QueryEmbeddings"/> or <see cref="QueryTexts"/> (embedded by the collection's
/// generator after the key has been checked, as Chroma's clients embed <c>query_texts</c>).
/// </summary>
public sealed record QueryRequest
{
    /// <summary>The query embeddings (at least one), or <see langword="null"/> when <see cref="QueryTexts"/> is given.</summary>
    public IReadOnlyList<float[]>? QueryEmbeddings { get; init; }

    /// <summary>Texts to embed with the collection's generator and query by (Chroma's <c>query_texts</c>), or <see langword="null"/>.</summary>
    public IReadOnlyList<string>? QueryTexts { get; init; }

    /// <summary>Results per query embedding (Chroma's <c>n_results</c>, default 10).</summary>
    public int NResults { get; init; } = ChromaDefaults.NResults;

    /// <summary>A metadata filter.</summary>
    public Where? Where { get; init; }

    /// <summary>A document filter.</summary>
    public WhereDocument? WhereDocument { get; init; }

    /// <summary>Only among these ids.</summary>
    public IReadOnlyList<string>? Ids { get; init; }

    /// <summary>What to return besides ids; <see langword="null"/> for Chroma's default (<see cref="ChromaDefaults.QueryInclude"/>).</summary>
    public Include? Include { get; init; }

    /// <summary>
    /// Overrides the collection's <c>ef_search</c> for this call (1–100,000). Not part of Chroma's API: the embedded
    /// store honours it; a remote client refuses a request that sets it rather than ignore it.
    /// </summary>
    public int? EfSearch { get; init; }
}

/// <summary>Chroma's <c>delete</c> body: records chosen by ids and/or filters (all given selectors must match). At least one selector is required.</summary>
public sealed record DeleteRequest
{
    /// <summary>These ids (missing ids are skipped).</summary>
    public IReadOnlyList<string>? Ids { get; init; }

    /// <summary>A metadata filter.</summary>
    public Where? Where { get; init; }

    /// <summary>A document filter.</summary>
    public WhereDocument? WhereDocument { get; init; }

    /// <summary>
    /// At most this many records are deleted: the first matching ones in insertion order (Chroma's <c>limit</c>);
    /// <see langword="null"/> for all that match. As on Chroma's server, a limit needs <see cref="Where"/> or
    /// <see cref="WhereDocument"/> (a limit over ids alone is refused), and 0 deletes nothing.
    /// </summary>
    public int? Limit { get; init; }
}

/// <summary>Chroma's <c>modify</c> body: a new name, new metadata and/or a configuration change. Left-out parts are kept.</summary>
public sealed record CollectionModification
{
    /// <summary>A new name, or <see langword="null"/> to keep it.</summary>
    public string? Name { get; init; }

    /// <summary>Metadata that replaces the old, or <see langword="null"/> to keep it.</summary>
    public IReadOnlyDictionary<string, MetadataValue?>? Metadata { get; init; }

    /// <summary>A configuration change (only <c>ef_search</c> may change), or <see langword="null"/>.</summary>
    public CollectionConfigurationUpdate? Configuration { get; init; }
}

/// <summary>A tenant.</summary>
/// <param name="Name">The tenant's name.</param>
public sealed record TenantInfo(string Name);
