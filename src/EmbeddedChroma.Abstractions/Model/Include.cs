namespace EmbeddedChroma;

/// <summary>What a <see cref="IChromaCollection.GetAsync"/> or <see cref="IChromaCollection.QueryAsync"/> returns besides the ids (Chroma's <c>include</c>).</summary>
/// <remarks>
/// Chroma's <c>include</c> also names <c>data</c>, which has no member here on purpose: a Chroma server never stores or
/// returns data. Its Python client fills <c>data</c> itself, after the call, by loading each record's uri with a
/// client-side data loader. Request <see cref="Uris"/> and load what they point at.
/// </remarks>
[Flags]
public enum Include
{
    /// <summary>Ids only.</summary>
    None = 0,

    /// <summary>The embeddings, as they were given (not normalized).</summary>
    Embeddings = 1,

    /// <summary>The metadata of each record (<see langword="null"/> for a record without metadata).</summary>
    Metadatas = 2,

    /// <summary>The document of each record (<see langword="null"/> for a record without one).</summary>
    Documents = 4,

    /// <summary>The distance of each result to its query (query only).</summary>
    Distances = 8,

    /// <summary>The uri of each record (<see langword="null"/> for a record without one).</summary>
    Uris = 16,
}
