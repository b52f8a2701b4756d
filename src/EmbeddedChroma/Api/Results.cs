namespace EmbeddedChroma;

/// <summary>
/// Records returned by <see cref="Collection.Get"/> and <see cref="Collection.Peek"/>: parallel lists in
/// insertion order. A list is <see langword="null"/> when it was not requested through <see cref="Include"/>.
/// </summary>
public sealed class GetResult
{
    internal GetResult(
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, object>?>? metadatas,
        IReadOnlyList<string?>? documents,
        Include included)
    {
        Ids = ids;
        Embeddings = embeddings;
        Metadatas = metadatas;
        Documents = documents;
        Included = included;
    }

    /// <summary>The record ids.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>The embeddings, when <see cref="Include.Embeddings"/> was requested.</summary>
    public IReadOnlyList<float[]>? Embeddings { get; }

    /// <summary>The metadata, when <see cref="Include.Metadatas"/> was requested; values are <see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/> or arrays of those.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, object>?>? Metadatas { get; }

    /// <summary>The documents, when <see cref="Include.Documents"/> was requested.</summary>
    public IReadOnlyList<string?>? Documents { get; }

    /// <summary>What was requested.</summary>
    public Include Included { get; }

    /// <summary>Number of records returned.</summary>
    public int Count => Ids.Count;
}

/// <summary>
/// Nearest neighbours returned by <see cref="Collection.Query"/>: one list per query embedding, each in
/// ascending distance. A list is <see langword="null"/> when it was not requested through <see cref="Include"/>.
/// </summary>
public sealed class QueryResult
{
    internal QueryResult(
        IReadOnlyList<IReadOnlyList<string>> ids,
        IReadOnlyList<IReadOnlyList<float[]>>? embeddings,
        IReadOnlyList<IReadOnlyList<IReadOnlyDictionary<string, object>?>>? metadatas,
        IReadOnlyList<IReadOnlyList<string?>>? documents,
        IReadOnlyList<IReadOnlyList<float>>? distances,
        Include included)
    {
        Ids = ids;
        Embeddings = embeddings;
        Metadatas = metadatas;
        Documents = documents;
        Distances = distances;
        Included = included;
    }

    /// <summary>For each query, the ids of its nearest records.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Ids { get; }

    /// <summary>For each query, the embeddings of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<float[]>>? Embeddings { get; }

    /// <summary>For each query, the metadata of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<IReadOnlyDictionary<string, object>?>>? Metadatas { get; }

    /// <summary>For each query, the documents of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<string?>>? Documents { get; }

    /// <summary>For each query, the distances of its results (Chroma's definitions: l2 squared, cosine 1 − cos, ip 1 − dot), when requested.</summary>
    public IReadOnlyList<IReadOnlyList<float>>? Distances { get; }

    /// <summary>What was requested.</summary>
    public Include Included { get; }
}
