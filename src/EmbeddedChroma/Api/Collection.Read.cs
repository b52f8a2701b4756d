using System.Buffers;
using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma;

// get / peek / query.
public sealed partial class Collection
{
    private const Include AllInclude = Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances;

    /// <summary>
    /// Returns records chosen by ids and/or filters (all given selectors must match), in insertion order.
    /// </summary>
    /// <param name="ids">Only these ids (missing ids are skipped).</param>
    /// <param name="where">A metadata filter.</param>
    /// <param name="whereDocument">A document filter.</param>
    /// <param name="limit">At most this many records.</param>
    /// <param name="offset">Skip this many matching records first.</param>
    /// <param name="include">What to return besides ids (default metadatas and documents; distances are not allowed).</param>
    /// <exception cref="ChromaValidationException">An argument is invalid.</exception>
    public GetResult Get(IReadOnlyList<string>? ids = null, Where? where = null, WhereDocument? whereDocument = null, int? limit = null, int offset = 0, Include include = Include.Metadatas | Include.Documents)
    {
        Gate(ChromaActions.Get);
        if (ids is not null)
        {
            Validation.Ids(ids, Limits);
        }

        Validation.LimitOffset(limit, offset);
        CheckInclude(include, allowDistances: false);
        var rows = WithReadLock(() => WithConnection(connection =>
        {
            var read = RecordReader.Read(connection, null, _state, ToColumns(include), ids, where, whereDocument, limit, offset);
            if (ids is null && where is null && whereDocument is null && limit is null && offset == 0 && read.Count != _state.Count)
            {
                // Every record was asked for: fewer or more than the collection holds means a damaged index hid or duplicated some.
                throw new ChromaCorruptStoreException(
                    $"The store is corrupt: collection '{RecordChecksum.Printable(_state.Name)}' holds {_state.Count} records but its index yields {read.Count}. " +
                    "Restore the store folder from a backup; ChromaClient.VerifyIntegrity reports the damage.");
            }

            return read;
        }));
        return new GetResult(
            rows.ConvertAll(r => r.Id),
            include.HasFlag(Include.Embeddings) ? rows.ConvertAll(r => r.Embedding!) : null,
            include.HasFlag(Include.Metadatas) ? rows.ConvertAll(DecodeMetadata) : null,
            include.HasFlag(Include.Documents) ? rows.ConvertAll(r => r.Document) : null,
            include);
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
            throw RecordChecksum.Mismatch(_state.Name, row.Id, "metadata (not valid JSON)", ex);
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
    public QueryResult Query(IReadOnlyList<float[]> queryEmbeddings, int nResults = 10, Where? where = null, WhereDocument? whereDocument = null, IReadOnlyList<string>? ids = null, Include include = Include.Metadatas | Include.Documents | Include.Distances, int? efSearch = null) =>
        QueryCore(queryEmbeddings, nResults, where, whereDocument, ids, include, efSearch, gated: false);

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
        Validation.Embeddings(queryEmbeddings, _state.Dimension, Limits, "query_embeddings");
        Filtering.SqlFilterBuilder.EnsureWithinLimits(where, whereDocument);
        return WithReadLock(() => WithConnection(connection => Search(connection, queryEmbeddings, nResults, where, whereDocument, ids, include, efSearch)));
    }

    private QueryResult Search(Microsoft.Data.Sqlite.SqliteConnection connection, IReadOnlyList<float[]> queries, int nResults, Where? where, WhereDocument? whereDocument, IReadOnlyList<string>? ids, Include include, int? efSearch)
    {
        var hits = new Neighbor[queries.Count][];
        var rows = _state.Rows;
        if (_state.Dimension is { } dimension && _state.Count > 0 && rows is not null)
        {
            AllowedSet? candidates = where is null && whereDocument is null && ids is null
                ? null
                : AllowedSlots(connection, ids, where, whereDocument);
            var k = Math.Min(nResults, candidates?.Count ?? _state.Count);
            var cosine = _state.Configuration.Space == DistanceSpace.Cosine;
            Neighbor[] SearchOne(int q)
            {
                var normalized = cosine ? ArrayPool<float>.Shared.Rent(dimension) : null;
                try
                {
                    ReadOnlySpan<float> query = queries[q];
                    if (normalized is not null)
                    {
                        Distance.VectorMath.Normalize(query, normalized.AsSpan(0, dimension));
                        query = normalized.AsSpan(0, dimension);
                    }

                    var destination = new Neighbor[k];
                    var found = Nearest(rows, query, k, candidates, efSearch, destination);
                    return found == k ? destination : destination[..found];
                }
                finally
                {
                    if (normalized is not null)
                    {
                        ArrayPool<float>.Shared.Return(normalized);
                    }
                }
            }

            if (queries.Count > 1 && Limits.MaxQueryParallelism > 1)
            {
                // Several embeddings: answered in parallel. This thread holds the read lock for all of them (it
                // takes part in the loop and waits for the others), so no write can interleave.
                try
                {
                    Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = Limits.MaxQueryParallelism }, q => hits[q] = SearchOne(q));
                }
                catch (AggregateException aggregate) when (aggregate.InnerExceptions.Count > 0)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(aggregate.InnerExceptions[0]).Throw();
                    throw;
                }
            }
            else
            {
                for (var q = 0; q < queries.Count; q++)
                {
                    hits[q] = SearchOne(q);
                }
            }
        }
        else
        {
            Array.Fill(hits, []);
        }

        var records = RecordReader.ReadSlots(connection, _state, ToColumns(include), hits.SelectMany(h => h.Select(n => n.Slot)));
        List<IReadOnlyList<T>> PerQuery<T>(Func<RecordRow, Neighbor, T> select) =>
            hits.Select(h => (IReadOnlyList<T>)h.Select(n => select(records[n.Slot], n)).ToList()).ToList();

        return new QueryResult(
            PerQuery((r, _) => r.Id),
            include.HasFlag(Include.Embeddings) ? PerQuery((r, _) => r.Embedding!) : null,
            include.HasFlag(Include.Metadatas) ? PerQuery((r, _) => DecodeMetadata(r)) : null,
            include.HasFlag(Include.Documents) ? PerQuery((r, _) => r.Document) : null,
            include.HasFlag(Include.Distances) ? PerQuery((_, n) => n.Distance) : null,
            include);
    }

    /// <summary>
    /// The query plan. No graph (small collection): exact scan over live or allowed slots. A filter allowing
    /// few records (the bitmap's popcount ≤ max(FilteredExactScanLimit, n/10); measured on 100k × 384: at 10 % the
    /// filtered graph walk costs 1–2.5× the exact scan (ef 64 / 128), at 5 % 4–10×, at 20 % it wins 2×; benchmarks/HNSW.md):
    /// exact scan over just those. Otherwise the HNSW graph, walking through disallowed slots
    /// but returning only allowed ones, merged with an exact scan of the slots written but not yet linked.
    /// </summary>
    private int Nearest(IVectorRows rows, ReadOnlySpan<float> query, int k, AllowedSet? candidates, int? efSearch, Span<Neighbor> destination)
    {
        var space = _state.Configuration.Space;
        var graph = _state.Indexer?.Graph;
        var admitted = candidates?.Bits ?? _state.Live;
        if (graph is null || (candidates is not null && candidates.Count <= Math.Max(Limits.FilteredExactScanLimit, _state.Count / 10)))
        {
            return ExactScan.Search(rows, space, query, k, admitted, destination);
        }

        var ef = Math.Max(efSearch ?? _state.Configuration.EfSearch, k);
        // The pending set first, then the walk: the background worker links while queries run (both hold the read
        // lock) and a slot leaves the set only once linked, so a slot missing from this snapshot was linked before the
        // walk starts and the walk can reach it. Taken after the walk, a slot linked during it would be in neither.
        var pending = _state.Indexer!.PendingSnapshot();
        var fromGraph = graph.Search(query, k, ef, SlotFilter.FromBitmap(admitted), destination);
        if (pending.Length == 0)
        {
            return fromGraph;
        }

        // Written but not yet linked: scan those exactly (only live and allowed ones), then merge.
        var allowed = pending.Where(slot => IsLive(slot) && (candidates is null || candidates.Contains(slot))).ToArray();
        Array.Sort(allowed);
        var tail = new Neighbor[Math.Min(k, allowed.Length)];
        var fromTail = ExactScan.Search(rows, space, query, tail.Length, allowed, tail);
        var merged = destination[..fromGraph].ToArray().Concat(tail.AsSpan(0, fromTail).ToArray())
            .GroupBy(n => n.Slot).Select(g => g.First())
            .OrderBy(n => n.Distance).ThenBy(n => n.Slot).Take(k).ToArray();
        merged.CopyTo(destination);
        return merged.Length;
    }

    /// <summary>
    /// The live slots the selectors allow; reused while no write has happened since (see <see cref="AllowedSlotCache"/>).
    /// <c>where</c> is evaluated by the in-memory <see cref="MetadataFilterIndex"/> (built here on first use) unless
    /// it is over budget; ids and <c>where_document</c> are resolved in SQL and ANDed in.
    /// </summary>
    private AllowedSet AllowedSlots(Microsoft.Data.Sqlite.SqliteConnection connection, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument)
    {
        var key = string.Concat(where?.ToJson(), "\n", whereDocument?.ToJson(), "\n", ids is null ? null : System.Text.Json.JsonSerializer.Serialize(ids));
        if (_state.FilterCache.TryGet(key, _state.LastSeq, out var cached))
        {
            return cached;
        }

        var words = _state.Live.Length;
        var index = where is null ? null : FilterIndex(connection);
        ulong[] bits;
        if (index is null)
        {
            bits = AllowedSet.ToBits(RecordReader.SelectSlots(connection, _state, ids, where, whereDocument), words);
        }
        else
        {
            bits = index.Evaluate(where!, _state.Live);
            if (ids is not null || whereDocument is not null)
            {
                var rest = AllowedSet.ToBits(RecordReader.SelectSlots(connection, _state, ids, null, whereDocument), words);
                System.Numerics.Tensors.TensorPrimitives.BitwiseAnd(bits, rest, bits);
            }
        }

        var set = new AllowedSet(bits);
        _state.FilterCache.Add(key, _state.LastSeq, set);
        return set;
    }

    /// <summary>
    /// The collection's metadata filter index, built from SQLite on first use; null when disabled or over budget.
    /// Caller holds the read lock, so no write runs meanwhile; concurrent readers build it once.
    /// </summary>
    private MetadataFilterIndex? FilterIndex(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        if (_state.FilterIndex is { } built)
        {
            return built;
        }

        var budget = Limits.FilterIndexMemoryBudget;
        if (budget == 0 || _state.FilterIndexOverBudget)
        {
            return null;
        }

        lock (_state.FilterIndexBuildLock)
        {
            if (_state.FilterIndex is null && !_state.FilterIndexOverBudget)
            {
                var index = MetadataFilterIndex.TryBuild(connection, _state, budget);
                _state.FilterIndexOverBudget = index is null;
                _state.FilterIndex = index;
            }

            return _state.FilterIndex;
        }
    }

    /// <summary>The in-memory filter index if built (tests).</summary>
    internal MetadataFilterIndex? BuiltFilterIndex => _state.FilterIndex;

    /// <summary>
    /// Tests: the slots <paramref name="where"/> selects, from the in-memory index (built if needed; null when
    /// disabled or over budget) and from SQL, read under one read lock.
    /// </summary>
    internal (int[]? FromIndex, int[] FromSql) EvaluateWhereBothWays(Where where) => WithReadLock(() => WithConnection(connection =>
    {
        var bits = FilterIndex(connection)?.Evaluate(where, _state.Live);
        int[]? fromIndex = null;
        if (bits is not null)
        {
            var slots = new List<int>();
            for (var w = 0; w < bits.Length; w++)
            {
                for (var word = bits[w]; word != 0; word &= word - 1)
                {
                    slots.Add((w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word));
                }
            }

            fromIndex = [.. slots];
        }

        return (fromIndex, RecordReader.SelectSlots(connection, _state, null, where, null).ToArray());
    }));

    private bool IsLive(int slot) => (slot >> 6) < _state.Live.Length && (_state.Live[slot >> 6] & (1UL << slot)) != 0;

    private T WithConnection<T>(Func<Microsoft.Data.Sqlite.SqliteConnection, T> read)
    {
        var connection = Store.Db.Rent();
        try
        {
            return read(connection);
        }
        finally
        {
            Store.Db.Return(connection);
        }
    }

    private static void CheckInclude(Include include, bool allowDistances)
    {
        if ((include & ~AllInclude) != 0)
        {
            throw new ChromaValidationException($"include: unknown value {(int)include}.");
        }

        if (!allowDistances && include.HasFlag(Include.Distances))
        {
            throw new ChromaValidationException("include: distances are only available from query, not get.");
        }
    }

    private static RecordReader.Columns ToColumns(Include include) =>
        (include.HasFlag(Include.Documents) ? RecordReader.Columns.Document : 0)
        | (include.HasFlag(Include.Metadatas) ? RecordReader.Columns.Metadata : 0)
        | (include.HasFlag(Include.Embeddings) ? RecordReader.Columns.Embedding : 0);
}
