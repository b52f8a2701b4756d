namespace EmbeddedChroma;

/// <summary>
/// Records returned by <see cref="IChromaCollection.GetAsync"/>: parallel lists in
/// insertion order. A list is <see langword="null"/> when it was not requested through <see cref="Include"/>.
/// </summary>
public sealed class GetResult
{
    /// <summary>Creates a result; every list given has one entry per id.</summary>
    /// <exception cref="ArgumentException">A list given has another length than <paramref name="ids"/>.</exception>
    public GetResult(
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue>?>? metadatas,
        IReadOnlyList<string?>? documents,
        Include included,
        IReadOnlyList<string?>? uris = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ResultShape.Check(embeddings, ids.Count, nameof(embeddings));
        ResultShape.Check(metadatas, ids.Count, nameof(metadatas));
        ResultShape.Check(documents, ids.Count, nameof(documents));
        ResultShape.Check(uris, ids.Count, nameof(uris));
        Ids = ids;
        Embeddings = embeddings;
        Metadatas = metadatas;
        Documents = documents;
        Uris = uris;
        Included = included;
    }

    /// <summary>The record ids.</summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>The embeddings, when <see cref="Include.Embeddings"/> was requested.</summary>
    public IReadOnlyList<float[]>? Embeddings { get; }

    /// <summary>The metadata, when <see cref="Include.Metadatas"/> was requested; typed values (see <see cref="MetadataValue"/>).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, MetadataValue>?>? Metadatas { get; }

    /// <summary>The documents, when <see cref="Include.Documents"/> was requested.</summary>
    public IReadOnlyList<string?>? Documents { get; }

    /// <summary>The uris (<see langword="null"/> for a record without one), when <see cref="Include.Uris"/> was requested.</summary>
    public IReadOnlyList<string?>? Uris { get; }

    /// <summary>What was requested.</summary>
    public Include Included { get; }

    /// <summary>Number of records returned.</summary>
    public int Count => Ids.Count;
}

/// <summary>
/// Nearest neighbours returned by <see cref="IChromaCollection.QueryAsync"/>: one list per query embedding, each in
/// ascending distance. A list is <see langword="null"/> when it was not requested through <see cref="Include"/>.
/// </summary>
public sealed class QueryResult
{
    /// <summary>Creates a result: one list per query embedding; within a query every list given has one entry per id.</summary>
    /// <exception cref="ArgumentException">A list given has another shape than <paramref name="ids"/>.</exception>
    public QueryResult(
        IReadOnlyList<IReadOnlyList<string>> ids,
        IReadOnlyList<IReadOnlyList<float[]>>? embeddings,
        IReadOnlyList<IReadOnlyList<IReadOnlyDictionary<string, MetadataValue>?>>? metadatas,
        IReadOnlyList<IReadOnlyList<string?>>? documents,
        IReadOnlyList<IReadOnlyList<float>>? distances,
        Include included,
        IReadOnlyList<IReadOnlyList<string?>>? uris = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ResultShape.Check(embeddings, ids.Count, nameof(embeddings));
        ResultShape.Check(metadatas, ids.Count, nameof(metadatas));
        ResultShape.Check(documents, ids.Count, nameof(documents));
        ResultShape.Check(distances, ids.Count, nameof(distances));
        ResultShape.Check(uris, ids.Count, nameof(uris));
        for (var q = 0; q < ids.Count; q++)
        {
            var n = ids[q]?.Count ?? throw new ArgumentException($"ids[{q}] is null.", nameof(ids));
            ResultShape.Check(embeddings, ids.Count, q, n, nameof(embeddings));
            ResultShape.Check(metadatas, ids.Count, q, n, nameof(metadatas));
            ResultShape.Check(documents, ids.Count, q, n, nameof(documents));
            ResultShape.Check(distances, ids.Count, q, n, nameof(distances));
            ResultShape.Check(uris, ids.Count, q, n, nameof(uris));
        }

        Ids = ids;
        Embeddings = embeddings;
        Metadatas = metadatas;
        Documents = documents;
        Distances = distances;
        Uris = uris;
        Included = included;
    }

    /// <summary>For each query, the ids of its nearest records.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Ids { get; }

    /// <summary>For each query, the embeddings of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<float[]>>? Embeddings { get; }

    /// <summary>For each query, the metadata of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<IReadOnlyDictionary<string, MetadataValue>?>>? Metadatas { get; }

    /// <summary>For each query, the documents of its results, when requested.</summary>
    public IReadOnlyList<IReadOnlyList<string?>>? Documents { get; }

    /// <summary>For each query, the uris of its results (<see langword="null"/> for a record without one), when <see cref="Include.Uris"/> was requested.</summary>
    public IReadOnlyList<IReadOnlyList<string?>>? Uris { get; }

    /// <summary>For each query, the distances of its results (Chroma's definitions: l2 squared, cosine 1 − cos, ip 1 − dot), when requested.</summary>
    public IReadOnlyList<IReadOnlyList<float>>? Distances { get; }

    /// <summary>What was requested.</summary>
    public Include Included { get; }
}

/// <summary>The one check both result types make of their parallel lists.</summary>
internal static class ResultShape
{
    public static void Check<T>(IReadOnlyList<T>? list, int count, string name)
    {
        if (list is not null && list.Count != count)
        {
            throw new ArgumentException($"{name} has {list.Count} entries for {count} ids.", name);
        }
    }

    public static void Check<T>(IReadOnlyList<IReadOnlyList<T>>? lists, int queries, int query, int count, string name)
    {
        if (lists is null)
        {
            return;
        }

        Check(lists, queries, name);
        Check(lists[query] ?? throw new ArgumentException($"{name}[{query}] is null.", name), count, $"{name}[{query}]");
    }
}
