using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma;

// get / peek / query.
public sealed partial class Collection
{
    /// <summary>
    /// Returns records chosen by ids and/or filters (all given selectors must match), in insertion order.
    /// </summary>
    /// <param name="ids">Only these ids (missing ids are skipped).</param>
    /// <param name="where">A metadata filter.</param>
    /// <param name="whereDocument">A document filter.</param>
    /// <param name="limit">At most this many records.</param>
    /// <param name="offset">Skip this many matching records first.</param>
    /// <param name="include">What to return besides ids (default metadatas and documents; distances are not allowed; uris on request).</param>
    /// <exception cref="ChromaValidationException">An argument is invalid.</exception>
    public GetResult Get(IReadOnlyList<string>? ids = null, Where? where = null, WhereDocument? whereDocument = null, int? limit = null, int offset = 0, Include include = Include.Metadatas | Include.Documents)
    {
        using var op = Observe(Telemetry.Ops.Get);
        try
        {
            return GetCore(ids, where, whereDocument, limit, offset, include);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private GetResult GetCore(IReadOnlyList<string>? ids = null, Where? where = null, WhereDocument? whereDocument = null, int? limit = null, int offset = 0, Include include = Include.Metadatas | Include.Documents)
    {
        Gate(ChromaActions.Get);
        if (ids is not null)
        {
            Validation.Ids(ids, Limits);
        }

        Validation.LimitOffset(limit, offset);
        CheckInclude(include, allowDistances: false);
        var rows = _engine.Get(ToColumns(include), ids, where, whereDocument, limit, offset);
        return new GetResult(
            rows.ConvertAll(r => r.Id),
            include.HasFlag(Include.Embeddings) ? rows.ConvertAll(r => r.Embedding!) : null,
            include.HasFlag(Include.Metadatas) ? rows.ConvertAll(DecodeMetadata) : null,
            include.HasFlag(Include.Documents) ? rows.ConvertAll(r => r.Document) : null,
            include,
            include.HasFlag(Include.Uris) ? rows.ConvertAll(r => r.Uri) : null);
    }

    /// <summary>A record's metadata; JSON that cannot be decoded (it passed its checksum, so it was stored so) is corruption.</summary>
    private IReadOnlyDictionary<string, MetadataValue>? DecodeMetadata(RecordRow row)
    {
        try
        {
            return MetadataCodec.DecodeTyped(row.MetadataJson);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw RecordChecksum.Mismatch(State.Name, row.Id, "metadata (not valid JSON)", ex);
        }
    }

    /// <summary>The first <paramref name="limit"/> records with embeddings, metadata and documents.</summary>
    public GetResult Peek(int limit = 10)
    {
        if (limit <= 0)
        {
            throw new ChromaValidationException($"peek: limit must be positive, got {limit}.");
        }

        return Get(limit: limit, include: Include.Embeddings | Include.Metadatas | Include.Documents);
    }

    /// <summary>
    /// Finds the <paramref name="nResults"/> nearest records to each query embedding, optionally among
    /// the records chosen by ids and/or filters. Each result list is in ascending distance; a collection
    /// with fewer matching records returns fewer results. <c>efSearch</c> overrides the collection's
    /// <see cref="CollectionConfiguration.EfSearch"/> for this call only (1–100,000; at least <c>nResults</c> is used):
    /// larger trades speed for recall when the HNSW graph serves the query, and changes nothing for an exact scan.
    /// </summary>
    /// <exception cref="ChromaValidationException">An argument is invalid (dimension, NaN, n_results ≤ 0, ef_search out of range …).</exception>
    public QueryResult Query(IReadOnlyList<float[]> queryEmbeddings, int nResults = 10, Where? where = null, WhereDocument? whereDocument = null, IReadOnlyList<string>? ids = null, Include include = Include.Metadatas | Include.Documents | Include.Distances, int? efSearch = null)
    {
        using var op = Observe(Telemetry.Ops.Query);
        try
        {
            op?.BatchSize(Telemetry.CountOf(queryEmbeddings));
            return QueryCore(queryEmbeddings, nResults, where, whereDocument, ids, include, efSearch, gated: false);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>
    /// Finds the <paramref name="nResults"/> nearest records to each query text, embedded by the collection's embedding
    /// generator (the one given at creation or open, or the embedding function the collection remembers, such as Chroma's
    /// default model). The synchronous twin of <c>QueryTextsAsync</c>: the key and the arguments are checked before any
    /// text reaches the generator, and the call counts once in the key's usage.
    /// </summary>
    /// <exception cref="ChromaValidationException">An argument is invalid (no texts, n_results ≤ 0, …).</exception>
    /// <exception cref="ChromaEmbeddingException">The collection has no embedding generator, or the generator failed.</exception>
    public QueryResult Query(IReadOnlyList<string> queryTexts, int nResults = 10, Where? where = null, WhereDocument? whereDocument = null, IReadOnlyList<string>? ids = null, Include include = Include.Metadatas | Include.Documents | Include.Distances, int? efSearch = null) =>
        QueryAsync(
            new QueryRequest
            {
                QueryTexts = queryTexts ?? throw new ChromaValidationException("query: query_texts must be a non-empty list, got null."),
                NResults = nResults,
                Where = where,
                WhereDocument = whereDocument,
                Ids = ids,
                Include = include,
                EfSearch = efSearch,
            },
            CancellationToken.None).GetAwaiter().GetResult();

    /// <summary><paramref name="gated"/>: the key was checked for this call already (before its texts were embedded), so one call counts once.</summary>
    private QueryResult QueryCore(IReadOnlyList<float[]> queryEmbeddings, int nResults, Where? where, WhereDocument? whereDocument, IReadOnlyList<string>? ids, Include include, int? efSearch, bool gated)
    {
        if (!gated)
        {
            Gate(ChromaActions.Query);
        }

        if (queryEmbeddings is null || queryEmbeddings.Count == 0)
        {
            throw new ChromaValidationException("query: query_embeddings must be a non-empty list.");
        }

        if (queryEmbeddings.Count > Limits.MaxQueryEmbeddings)
        {
            throw new ChromaValidationException($"query: {queryEmbeddings.Count} query embeddings exceed the limit of {Limits.MaxQueryEmbeddings}.");
        }

        ValidateQuery(nResults, where, whereDocument, ids, include, efSearch);
        Validation.Embeddings(queryEmbeddings, State.Dimension, Limits, "query_embeddings");
        var (hits, records) = _engine.Query(queryEmbeddings, nResults, where, whereDocument, ids, ToColumns(include), efSearch);
        return ToQueryResult(hits, records, include);
    }

    /// <summary>Checks everything of a query but its embeddings; a text query runs it before embedding too.</summary>
    private void ValidateQuery(int nResults, Where? where, WhereDocument? whereDocument, IReadOnlyList<string>? ids, Include include, int? efSearch)
    {
        if (nResults <= 0 || nResults > Limits.MaxResults)
        {
            throw new ChromaValidationException($"query: n_results must be between 1 and {Limits.MaxResults}, got {nResults}.");
        }

        if (efSearch is < 1 or > CollectionConfiguration.MaxEfSearch)
        {
            throw new ChromaValidationException($"query: ef_search must be between 1 and {CollectionConfiguration.MaxEfSearch}, got {efSearch}.");
        }

        if (ids is not null)
        {
            Validation.Ids(ids, Limits);
        }

        CheckInclude(include, allowDistances: true);
        Filtering.SqlFilterBuilder.EnsureWithinLimits(where, whereDocument);
    }

    /// <summary>The query result: per query embedding, its hits in ascending distance with the requested fields.</summary>
    private QueryResult ToQueryResult(Neighbor[][] hits, Dictionary<int, RecordRow> records, Include include)
    {
        // Plain loops (no enumerators or closures per call): a k = 10 query's result is built from a few small arrays.
        T[][] PerQuery<T>(Func<RecordRow, Neighbor, T> select)
        {
            var perQuery = new T[hits.Length][];
            for (var q = 0; q < hits.Length; q++)
            {
                var hit = hits[q];
                var values = new T[hit.Length];
                for (var i = 0; i < hit.Length; i++)
                {
                    values[i] = select(records[hit[i].Slot], hit[i]);
                }

                perQuery[q] = values;
            }

            return perQuery;
        }

        return new QueryResult(
            PerQuery(static (r, _) => r.Id),
            include.HasFlag(Include.Embeddings) ? PerQuery(static (r, _) => r.Embedding!) : null,
            include.HasFlag(Include.Metadatas) ? PerQuery((r, _) => DecodeMetadata(r)) : null,
            include.HasFlag(Include.Documents) ? PerQuery(static (r, _) => r.Document) : null,
            include.HasFlag(Include.Distances) ? PerQuery(static (_, n) => n.Distance) : null,
            include,
            include.HasFlag(Include.Uris) ? PerQuery(static (r, _) => r.Uri) : null);
    }

    /// <summary>The in-memory filter index if built (tests).</summary>
    internal MetadataFilterIndex? BuiltFilterIndex => _engine.Planner.BuiltFilterIndex;

    /// <summary>Tests: true while the in-memory filter index equals its saved file (loaded from it, or saved, with no write since).</summary>
    internal bool FilterIndexMatchesFile => _engine.State.FilterIndex is not null && _engine.State.FilterIndexSaved;

    /// <summary>
    /// Tests: the slots <paramref name="where"/> selects, from the in-memory index (built if needed; null when
    /// disabled or over budget) and from SQL, read under one read lock.
    /// </summary>
    internal (int[]? FromIndex, int[] FromSql) EvaluateWhereBothWays(Where where) => _engine.Read(connection => _engine.Planner.EvaluateWhereBothWays(connection, where));

    /// <summary>Tests and benchmarks: compares the filter rows and the document index with the records, rebuilding what differs (what the first filtered read of an open does).</summary>
    internal int VerifyFilterData() => _engine.VerifyFilterData(rows: true, documents: true);

    /// <summary>Tests: the slots whose stored metadata satisfies <paramref name="where"/> by the read check's in-memory predicate (<see cref="Filtering.RecordFilter"/>).</summary>
    internal int[] EvaluateWhereOnRecords(Where where) => _engine.Read(connection =>
    {
        var filter = Filtering.RecordFilter.Create(null, where, null)!;
        return RecordReader.Read(connection, null, _engine.State, RecordReader.Columns.Metadata, null, null, null, null, 0)
            .Where(r => filter.MatchesWhere(r.MetadataJson)).Select(r => r.Slot).Order().ToArray();
    });

    private static void CheckInclude(Include include, bool allowDistances) => RecordRules.Include(include, allowDistances);

    private static RecordReader.Columns ToColumns(Include include) =>
        (include.HasFlag(Include.Documents) ? RecordReader.Columns.Document : 0)
        | (include.HasFlag(Include.Metadatas) ? RecordReader.Columns.Metadata : 0)
        | (include.HasFlag(Include.Embeddings) ? RecordReader.Columns.Embedding : 0)
        | (include.HasFlag(Include.Uris) ? RecordReader.Columns.Uri : 0);
}
