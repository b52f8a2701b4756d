using System.Text.Json;
using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Client;

/// <summary>A collection on a Chroma server, reached through <see cref="ChromaRemoteClient"/>.</summary>
internal sealed class RemoteCollection : IChromaCollection
{
    private readonly ChromaRemoteClient _client;
    private CollectionInfo _info;

    public RemoteCollection(ChromaRemoteClient client, CollectionInfo info, IEmbeddingGenerator<string, Embedding<float>>? generator)
    {
        _client = client;
        _info = info;
        EmbeddingGenerator = generator;
    }

    public Guid Id => _info.Id;

    public string Name => _info.Name;

    public string Tenant => _info.Tenant;

    public string Database => _info.Database;

    public IReadOnlyDictionary<string, MetadataValue>? Metadata => _info.Metadata;

    public CollectionConfiguration Configuration => _info.Configuration;

    public int? Dimension => _info.Dimension;

    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; }

    private string Path => _client.CollectionPath(Id);

    /// <summary>The operation as messages name it: with the collection's name, as the embedded store's messages do.</summary>
    private string Op(string operation) => $"{operation} (collection '{Echo.Text(Name)}')";

    public async Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await _client.Http.SendAsync(HttpMethod.Get, Path + "/count", null, Op("count"), cancellationToken).ConfigureAwait(false);
        return Wire.Count(doc.RootElement, "count");
    }

    public Task AddAsync(RecordBatch batch, CancellationToken cancellationToken = default) => WriteAsync("add", batch, cancellationToken);

    public Task UpsertAsync(RecordBatch batch, CancellationToken cancellationToken = default) => WriteAsync("upsert", batch, cancellationToken);

    public Task UpdateAsync(RecordBatch batch, CancellationToken cancellationToken = default) => WriteAsync("update", batch, cancellationToken);

    private async Task WriteAsync(string operation, RecordBatch batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (batch is null)
        {
            throw new ChromaValidationException($"{operation}: the request is null.");
        }

        CheckRecords(operation, batch);
        if (batch.Embeddings is null && batch.Documents is not null && (EmbeddingGenerator is not null || operation != "update"))
        {
            batch = await EmbeddingFill.CompleteAsync(batch, EmbeddingGenerator, operation, Name, cancellationToken).ConfigureAwait(false);
        }

        Checks.SameLength(batch.Embeddings, batch.Ids.Count, "embeddings");
        if (batch.Embeddings is null && operation != "update")
        {
            throw new ChromaValidationException(
                EmbeddingGenerator is null ? $"{operation}: embeddings are required (collection '{Echo.Text(Name)}' has no embedding generator)."
                : $"{operation}: neither embeddings nor documents were given.");
        }

        if (batch.Embeddings is not null)
        {
            Checks.Embeddings(batch.Embeddings, Dimension);
        }

        var (maxBatch, base64) = await _client.Facts.GetAsync(cancellationToken).ConfigureAwait(false);
        var keepNulls = operation != "add";
        for (var start = 0; start < batch.Ids.Count; start += maxBatch)
        {
            var from = start;
            var count = Math.Min(maxBatch, batch.Ids.Count - start);
            using var _ = await _client.Http.SendAsync(
                HttpMethod.Post,
                $"{Path}/{operation}",
                w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("ids");
                    for (var i = from; i < from + count; i++)
                    {
                        w.WriteStringValue(batch.Ids[i]);
                    }

                    w.WriteEndArray();
                    if (batch.Embeddings is { } embeddings)
                    {
                        w.WritePropertyName("embeddings");
                        Wire.Embeddings(w, Slice(embeddings, from, count), base64);
                    }

                    if (batch.Metadatas is { } metadatas)
                    {
                        w.WriteStartArray("metadatas");
                        for (var i = from; i < from + count; i++)
                        {
                            if (metadatas[i] is { } m)
                            {
                                Wire.Metadata(w, m, keepNulls);
                            }
                            else
                            {
                                w.WriteNullValue();
                            }
                        }

                        w.WriteEndArray();
                    }

                    if (batch.Documents is { } documents)
                    {
                        Wire.Strings(w, "documents", Slice(documents, from, count));
                    }

                    if (batch.Uris is { } uris)
                    {
                        Wire.Strings(w, "uris", Slice(uris, from, count));
                    }

                    w.WriteEndObject();
                },
                Op(operation),
                cancellationToken).ConfigureAwait(false);
        }

        if (Dimension is null && batch.Embeddings is { Count: > 0 } written && operation != "update")
        {
            // The first add fixed the dimension: take the server's word for it.
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            if (Dimension is null)
            {
                _info = _info with { Dimension = written[0].Length };
            }
        }
    }

    private static void CheckRecords(string operation, RecordBatch batch)
    {
        Checks.Ids(batch.Ids);
        Checks.SameLength(batch.Metadatas, batch.Ids.Count, "metadatas");
        Checks.SameLength(batch.Documents, batch.Ids.Count, "documents");
        Checks.SameLength(batch.Uris, batch.Ids.Count, "uris");
        if (batch.Metadatas is { } metadatas)
        {
            for (var i = 0; i < metadatas.Count; i++)
            {
                Checks.Metadata(metadatas[i], $"metadatas[{i}] (id '{Echo.Text(batch.Ids[i])}')", scalarsOnly: false);
            }
        }

        if (batch.Documents is { } documents)
        {
            Checks.Documents(documents);
        }

        if (batch.Uris is { } uris)
        {
            Checks.Uris(uris, batch.Ids);
        }

        _ = operation;
    }

    private static IReadOnlyList<T> Slice<T>(IReadOnlyList<T> list, int from, int count) =>
        from == 0 && count == list.Count ? list : list.Skip(from).Take(count).ToList();

    public async Task<GetResult> GetAsync(GetRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (request is null)
        {
            throw new ChromaValidationException("get: the request is null.");
        }

        if (request.Ids is not null)
        {
            Checks.Ids(request.Ids);
        }

        Checks.LimitOffset(request.Limit, request.Offset);
        var include = request.Include ?? ChromaDefaults.GetInclude;
        Checks.Include(include, allowDistances: false);
        using var doc = await _client.Http.SendAsync(
            HttpMethod.Post,
            Path + "/get",
            w =>
            {
                w.WriteStartObject();
                if (request.Ids is { } ids)
                {
                    Wire.Strings(w, "ids", ids!);
                }

                Wire.Filters(w, request.Where, request.WhereDocument);
                if (request.Limit is { } limit)
                {
                    w.WriteNumber("limit", limit);
                }

                if (request.Offset != 0)
                {
                    w.WriteNumber("offset", request.Offset);
                }

                Wire.Include(w, include);
                w.WriteEndObject();
            },
            Op("get"),
            cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var resultIds = Strings(Wire.List(root, "ids") ?? throw Wire.Unexpected("get", "no ids")).Select(s => s ?? throw Wire.Unexpected("get", "a null id")).ToList();
        return new GetResult(
            resultIds,
            include.HasFlag(Include.Embeddings) ? Embeddings(Wire.List(root, "embeddings"), resultIds.Count, "get") : null,
            include.HasFlag(Include.Metadatas) ? Metadatas(Wire.List(root, "metadatas"), resultIds.Count, "get") : null,
            include.HasFlag(Include.Documents) ? OptionalStrings(Wire.List(root, "documents"), resultIds.Count) : null,
            include,
            include.HasFlag(Include.Uris) ? OptionalStrings(Wire.List(root, "uris"), resultIds.Count) : null);
    }

    public async Task<QueryResult> QueryAsync(QueryRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (request is null)
        {
            throw new ChromaValidationException("query: the request is null.");
        }

        var include = request.Include ?? ChromaDefaults.QueryInclude;
        if (request.NResults <= 0)
        {
            throw new ChromaValidationException($"query: n_results must be positive, got {request.NResults}.");
        }

        if (request.EfSearch is not null)
        {
            throw new ChromaValidationException("query: ef_search per query is not part of Chroma's API, so a remote client cannot honour it; set the collection's ef_search with ModifyAsync instead.");
        }

        if (request.Ids is not null)
        {
            Checks.Ids(request.Ids);
        }

        Checks.Include(include, allowDistances: true);
        if (request.QueryEmbeddings is not null && request.QueryTexts is null && request.QueryEmbeddings.Count == 0)
        {
            throw new ChromaValidationException("query: query_embeddings must be a non-empty list.");
        }

        var queries = await EmbeddingFill.QueryEmbeddingsAsync(request, EmbeddingGenerator, Name, cancellationToken).ConfigureAwait(false);
        if (queries.Count == 0)
        {
            throw new ChromaValidationException("query: query_embeddings must be a non-empty list.");
        }

        Checks.Embeddings(queries, Dimension, "query_embeddings");
        var searchIds = request.Ids;
        if (searchIds is not null)
        {
            // Chroma's single-node server fails a query whose ids name a record that does not exist (500 "Error
            // finding id"); the contract skips missing ids, so the query names only those that exist.
            searchIds = (await GetAsync(new GetRequest { Ids = searchIds, Include = Include.None }, cancellationToken).ConfigureAwait(false)).Ids;
            if (searchIds.Count == 0)
            {
                return EmptyQueryResult(queries.Count, include);
            }
        }

        using var doc = await _client.Http.SendAsync(
            HttpMethod.Post,
            Path + "/query",
            w =>
            {
                w.WriteStartObject();
                w.WritePropertyName("query_embeddings");
                Wire.Embeddings(w, queries, base64: false);
                w.WriteNumber("n_results", request.NResults);
                Wire.Filters(w, request.Where, request.WhereDocument);
                if (searchIds is { } ids)
                {
                    Wire.Strings(w, "ids", ids!);
                }

                Wire.Include(w, include);
                w.WriteEndObject();
            },
            Op("query"),
            cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var idLists = (Wire.List(root, "ids") ?? throw Wire.Unexpected("query", "no ids")).EnumerateArray()
            .Select(l => (IReadOnlyList<string>)Strings(l).Select(s => s ?? throw Wire.Unexpected("query", "a null id")).ToList()).ToList();
        if (idLists.Count != queries.Count)
        {
            throw Wire.Unexpected("query", $"{idLists.Count} result lists for {queries.Count} queries");
        }

        List<IReadOnlyList<T>>? PerQuery<T>(string property, Func<JsonElement?, int, IReadOnlyList<T>> read)
        {
            var outer = Wire.List(root, property);
            var lists = outer?.EnumerateArray().ToList();
            return idLists.Select((ids, q) => read(lists is not null && q < lists.Count ? lists[q] : null, ids.Count)).ToList();
        }

        return new QueryResult(
            idLists,
            include.HasFlag(Include.Embeddings) ? PerQuery("embeddings", (l, n) => Embeddings(l, n, "query")) : null,
            include.HasFlag(Include.Metadatas) ? PerQuery("metadatas", (l, n) => Metadatas(l, n, "query")) : null,
            include.HasFlag(Include.Documents) ? PerQuery("documents", OptionalStrings) : null,
            include.HasFlag(Include.Distances) ? PerQuery("distances", Distances) : null,
            include,
            include.HasFlag(Include.Uris) ? PerQuery("uris", OptionalStrings) : null);
    }

    private static QueryResult EmptyQueryResult(int queries, Include include)
    {
        List<IReadOnlyList<T>> Empty<T>() => Enumerable.Range(0, queries).Select(_ => (IReadOnlyList<T>)[]).ToList();
        return new QueryResult(
            Empty<string>(),
            include.HasFlag(Include.Embeddings) ? Empty<float[]>() : null,
            include.HasFlag(Include.Metadatas) ? Empty<IReadOnlyDictionary<string, MetadataValue>?>() : null,
            include.HasFlag(Include.Documents) ? Empty<string?>() : null,
            include.HasFlag(Include.Distances) ? Empty<float>() : null,
            include,
            include.HasFlag(Include.Uris) ? Empty<string?>() : null);
    }

    public async Task DeleteAsync(DeleteRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (request is null)
        {
            throw new ChromaValidationException("delete: the request is null.");
        }

        if (request.Ids is null && request.Where is null && request.WhereDocument is null)
        {
            throw new ChromaValidationException("delete: give ids, where or where_document; deleting every record needs an explicit selector.");
        }

        RecordRules.DeleteLimit(request.Limit, hasFilter: request.Where is not null || request.WhereDocument is not null);

        if (request.Ids is not null)
        {
            Checks.Ids(request.Ids);
        }

        using var _ = await _client.Http.SendAsync(
            HttpMethod.Post,
            Path + "/delete",
            w =>
            {
                w.WriteStartObject();
                if (request.Ids is { } ids)
                {
                    Wire.Strings(w, "ids", ids!);
                }

                Wire.Filters(w, request.Where, request.WhereDocument);
                if (request.Limit is { } max)
                {
                    w.WriteNumber("limit", max);
                }

                w.WriteEndObject();
            },
            Op("delete"),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task ModifyAsync(CollectionModification changes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (changes is null)
        {
            throw new ChromaValidationException("modify: the request is null.");
        }

        if (changes.Name is not null)
        {
            Names.Validate(changes.Name, "collection");
        }

        Checks.Metadata(changes.Metadata, $"collection '{Echo.Text(Name)}'", scalarsOnly: true);
        var current = Configuration;
        int? efSearch = null;
        VectorStorage? storage = null;
        if (changes.Configuration is { } configuration)
        {
            if (configuration.Space is { } space && space != current.Space)
            {
                throw new ChromaValidationException($"The distance space of collection '{Echo.Text(Name)}' cannot be changed (it is '{CollectionConfiguration.SpaceName(current.Space)}').");
            }

            if (configuration.EfConstruction is { } efc && efc != current.EfConstruction)
            {
                throw new ChromaValidationException($"ef_construction of collection '{Echo.Text(Name)}' cannot be changed after creation.");
            }

            if (configuration.MaxNeighbors is { } m && m != current.MaxNeighbors)
            {
                throw new ChromaValidationException($"max_neighbors of collection '{Echo.Text(Name)}' cannot be changed after creation.");
            }

            if (configuration.EfSearch is { } efs)
            {
                (current with { EfSearch = efs }).Validate();
                efSearch = efs;
            }

            if (configuration.VectorStorage is { } vs)
            {
                // EmbeddedChroma's own field: sent only for a change (the same storage is a no-op, and Chroma's own server
                // never sees it unless asked to change it).
                (current with { VectorStorage = vs }).Validate();
                storage = vs != current.VectorStorage ? vs : null;
            }
        }

        try
        {
            await SendModifyAsync(changes, efSearch, storage, cancellationToken).ConfigureAwait(false);
        }
        catch (ChromaConflictException ex) when (ex is not ChromaCollectionExistsException && changes.Name is not null)
        {
            throw new ChromaCollectionExistsException(ex.Message, changes.Name);
        }

        await RefreshAsync(cancellationToken, changes.Name ?? Name).ConfigureAwait(false);
    }

    private async Task SendModifyAsync(CollectionModification changes, int? efSearch, VectorStorage? storage, CancellationToken cancellationToken)
    {
        using (await _client.Http.SendAsync(
            HttpMethod.Put,
            Path,
            w =>
            {
                w.WriteStartObject();
                if (changes.Name is { } name)
                {
                    w.WriteString("new_name", name);
                }

                if (changes.Metadata is { } metadata)
                {
                    w.WritePropertyName("new_metadata");
                    Wire.Metadata(w, metadata, keepNulls: false);
                }

                if (efSearch is not null || storage is not null)
                {
                    w.WriteStartObject("new_configuration");
                    if (efSearch is { } ef)
                    {
                        w.WriteStartObject("hnsw");
                        w.WriteNumber("ef_search", ef);
                        w.WriteEndObject();
                    }

                    if (storage is { } vs)
                    {
                        w.WriteString("vector_storage", CollectionConfiguration.VectorStorageName(vs));
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            },
            Op(changes.Name is null ? "modify" : $"modify (rename to '{Echo.Text(changes.Name)}')"),
            cancellationToken).ConfigureAwait(false))
        {
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken, string? name = null)
    {
        try
        {
            _info = await _client.GetInfoAsync(Id.ToString("D"), cancellationToken, byId: true).ConfigureAwait(false);
        }
        catch (ChromaNotFoundException)
        {
            _info = await _client.GetInfoAsync(name ?? Name, cancellationToken).ConfigureAwait(false);
        }
    }

    public override string ToString() => $"RemoteCollection({Name}, {Id})";

    // ---- reading results ----

    private static List<string?> Strings(JsonElement list) =>
        list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString() : null).ToList()
            : throw Wire.Unexpected("result", "a list is not an array");

    private static List<string?> OptionalStrings(JsonElement? list, int count) =>
        list is { } l ? Strings(l) : Enumerable.Repeat<string?>(null, count).ToList();

    private static List<float[]> Embeddings(JsonElement? list, int count, string what) =>
        list is { } l
            ? l.EnumerateArray().Select(e => Wire.ReadEmbedding(e, what)).ToList()
            : count == 0 ? [] : throw Wire.Unexpected(what, "embeddings were requested but not returned");

    private static List<IReadOnlyDictionary<string, MetadataValue>?> Metadatas(JsonElement? list, int count, string what) =>
        list is { } l
            ? l.EnumerateArray().Select(m => Wire.ReadMetadata(m, what + " metadata")).ToList()
            : Enumerable.Repeat<IReadOnlyDictionary<string, MetadataValue>?>(null, count).ToList();

    private static List<float> Distances(JsonElement? list, int count) =>
        list is { } l
            ? l.EnumerateArray().Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetSingle(out var x) ? x : float.NaN).ToList()
            : count == 0 ? [] : throw Wire.Unexpected("query", "distances were requested but not returned");
}
