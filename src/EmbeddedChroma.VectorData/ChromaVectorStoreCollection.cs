using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// A <see cref="VectorStoreCollection{TKey, TRecord}"/> over one Chroma collection of an <see cref="IChromaClient"/>
/// (the embedded store, or a Chroma server through the remote client).
/// </summary>
/// <typeparam name="TKey">The key type: <see cref="string"/>, <see cref="Guid"/>, <see cref="int"/> or <see cref="long"/>.</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
/// <remarks>
/// <para>Mapping: the key is the Chroma id (a Guid in its "D" form, an int or long in invariant decimal); the one vector
/// property is the embedding; the one <c>IsFullTextIndexed</c> string data property, if any, is the Chroma document
/// (so keyword and hybrid search use Chroma's document index); every other data property is a metadata key named by its
/// storage name.</para>
/// <para>The distance function picks the collection's space when it is created: CosineSimilarity (the default) and
/// CosineDistance → cosine; DotProductSimilarity and NegativeDotProductSimilarity → ip; EuclideanDistance and
/// EuclideanSquaredDistance → l2. Scores are converted from Chroma's distances as MEVD defines them.</para>
/// <para>Failures of the store are <see cref="VectorStoreException"/>s naming the store, collection and operation;
/// filters that cannot be translated throw <see cref="NotSupportedException"/>. Safe to use from several threads.</para>
/// </remarks>
#pragma warning disable CA1711 // MEVD's own naming.
public class ChromaVectorStoreCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>, IKeywordHybridSearchable<TRecord>
#pragma warning restore CA1711
    where TKey : notnull
    where TRecord : class
{
    /// <summary>Reciprocal-rank-fusion constant of hybrid search (the customary 60).</summary>
    internal const int RrfK = 60;

    private readonly IChromaClient _client;
    private readonly ChromaRecordModel _record;
    private readonly VectorStoreCollectionMetadata _metadata;
    private IChromaCollection? _handle;

    /// <summary>Creates a collection object (nothing is created in the store until <see cref="EnsureCollectionExistsAsync"/>).</summary>
    /// <param name="client">The client whose database holds the collection.</param>
    /// <param name="name">The collection's name.</param>
    /// <param name="options">The record definition and embedding generator, or <see langword="null"/>.</param>
    /// <exception cref="NotSupportedException">The record model holds something Chroma cannot carry (a key, data or vector type, two vectors, two full-text properties, a distance function).</exception>
    public ChromaVectorStoreCollection(IChromaClient client, string name, ChromaCollectionOptions? options = null)
        : this(client, name, static o => typeof(TRecord) == typeof(Dictionary<string, object?>)
            ? throw new NotSupportedException($"Use {nameof(ChromaVectorStoreDynamicCollection)} (or VectorStore.GetDynamicCollection) for Dictionary<string, object?> records.")
            : new ChromaModelBuilder().Build(typeof(TRecord), typeof(TKey), o.Definition, o.EmbeddingGenerator), options)
    {
    }

    internal ChromaVectorStoreCollection(IChromaClient client, string name, Func<ChromaCollectionOptions, CollectionModel> modelFactory, ChromaCollectionOptions? options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _client = client;
        Name = name;
        _record = new ChromaRecordModel(modelFactory(options ?? new ChromaCollectionOptions()), name);
        _metadata = new VectorStoreCollectionMetadata
        {
            VectorStoreSystemName = ChromaErrors.SystemName,
            VectorStoreName = StoreName,
            CollectionName = name,
        };
    }

    /// <inheritdoc />
    public override string Name { get; }

    private string StoreName => $"{_client.Tenant}/{_client.Database}";

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) =>
        ChromaErrors.RunAsync(async () =>
        {
            try
            {
                await _client.GetCollectionAsync(Name, null, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (ChromaNotFoundException)
            {
                return false;
            }
        }, StoreName, Name, "CollectionExists");

    /// <inheritdoc />
    /// <remarks>Creates the Chroma collection with the space of the vector property's distance function; an existing collection with another space is an error (its scores would mean something else).</remarks>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default) =>
        ChromaErrors.RunAsync(async () =>
        {
            var handle = await _client.GetOrCreateCollectionAsync(
                Name,
                new CollectionOptions { Configuration = new CollectionConfiguration { Space = _record.Space } },
                cancellationToken).ConfigureAwait(false);
            CheckSpace(handle, "EnsureCollectionExists");
            _handle = handle;
        }, StoreName, Name, "EnsureCollectionExists");

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        ChromaErrors.RunAsync(async () =>
        {
            _handle = null;
            try
            {
                await _client.DeleteCollectionAsync(Name, cancellationToken).ConfigureAwait(false);
            }
            catch (ChromaNotFoundException)
            {
            }
        }, StoreName, Name, "EnsureCollectionDeleted");

    /// <inheritdoc />
    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        var records = await GetCoreAsync(new GetRequest { Ids = [KeyCodec.ToId(key)], Include = Include(includeVectors, false) }, includeVectors, "Get", cancellationToken).ConfigureAwait(false);
        return records.Count == 0 ? null : records[0];
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var includeVectors = CheckIncludeVectors(options?.IncludeVectors ?? false);
        var ids = keys.Select(k => KeyCodec.ToId(k)).Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0)
        {
            yield break;
        }

        var records = await GetCoreAsync(new GetRequest { Ids = ids, Include = Include(includeVectors, false) }, includeVectors, "Get", cancellationToken).ConfigureAwait(false);
        foreach (var record in records)
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Without <see cref="FilteredRecordRetrievalOptions{TRecord}.OrderBy"/> the records come in insertion order and
    /// top/skip are Chroma's limit/offset. With it, every matching record is read and sorted here (Chroma's get has no
    /// order), then skipped and cut: keep such filters selective on large collections.
    /// </remarks>
    public override async IAsyncEnumerable<TRecord> GetAsync(
        Expression<Func<TRecord, bool>> filter,
        int top,
        FilteredRecordRetrievalOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var translated = new ChromaFilterTranslator(_record).Translate(filter);
        var orderBy = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values;
        if (translated.MatchesNothing)
        {
            yield break;
        }

        var sorted = orderBy is { Count: > 0 };
        var request = new GetRequest
        {
            Ids = translated.Ids,
            Where = translated.Where,
            WhereDocument = translated.Document,
            Limit = sorted ? null : top,
            Offset = sorted ? 0 : options.Skip,
            Include = Include(includeVectors, false),
        };
        IEnumerable<TRecord> records = await GetCoreAsync(request, includeVectors, "Get", cancellationToken).ConfigureAwait(false);
        if (sorted)
        {
            IOrderedEnumerable<TRecord>? ordered = null;
            foreach (var sort in orderBy!)
            {
                var selector = sort.PropertySelector.Compile();
                ordered = ordered is null
                    ? sort.Ascending ? records.OrderBy(selector, Comparer<object?>.Default) : records.OrderByDescending(selector, Comparer<object?>.Default)
                    : sort.Ascending ? ordered.ThenBy(selector, Comparer<object?>.Default) : ordered.ThenByDescending(selector, Comparer<object?>.Default);
            }

            records = ordered!.Skip(options.Skip).Take(top);
        }

        foreach (var record in records)
        {
            yield return record;
        }
    }

    /// <inheritdoc />
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return DeleteCoreAsync([KeyCodec.ToId(key)], cancellationToken);
    }

    /// <inheritdoc />
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ids = keys.Select(k => KeyCodec.ToId(k)).Distinct(StringComparer.Ordinal).ToList();
        return ids.Count == 0 ? Task.CompletedTask : DeleteCoreAsync(ids, cancellationToken);
    }

    /// <inheritdoc />
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The batch is one Chroma upsert: all records are written or none. A Guid key marked auto-generated that is <see cref="Guid.Empty"/> gets a new Guid, set on the record.</remarks>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records as IReadOnlyList<TRecord> ?? records.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var vector = _record.Vector;
        IReadOnlyList<Embedding>? generated = null;
        if (!ChromaModelBuilder.IsNativeVectorType(vector.Type))
        {
            generated = await vector.GenerateEmbeddingsAsync(list.Select(r => vector.GetValueAsObject(r)), cancellationToken).ConfigureAwait(false);
        }

        var keyProperty = _record.Model.KeyProperty;
        var ids = new string[list.Count];
        var embeddings = new float[list.Count][];
        var metadatas = _record.Metadata.Count == 0 ? null : new IReadOnlyDictionary<string, MetadataValue?>?[list.Count];
        var documents = _record.Document is null ? null : new string?[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var record = list[i] ?? throw new ArgumentException($"Record {i} of the batch is null.", nameof(records));
            var key = keyProperty.GetValueAsObject(record);
            if (keyProperty.IsAutoGenerated && key is Guid g && g == Guid.Empty)
            {
                var fresh = Guid.NewGuid();
                keyProperty.SetValueAsObject(record, fresh);
                key = fresh;
            }

            ids[i] = KeyCodec.ToId(key ?? throw new ArgumentException($"Record {i} of the batch has no key ('{keyProperty.ModelName}').", nameof(records)));
            var embedding = generated is not null
                ? ((Embedding<float>)generated[i]).Vector.ToArray()
                : RecordMapper.FromVectorProperty(vector.GetValueAsObject(record))
                    ?? throw new ArgumentException($"Record '{ids[i]}' has no vector in '{vector.ModelName}'; a Chroma record needs an embedding.", nameof(records));
            if (vector.Dimensions > 0 && embedding.Length != vector.Dimensions)
            {
                throw new ArgumentException($"Record '{ids[i]}': vector '{vector.ModelName}' has {embedding.Length} dimensions; the definition says {vector.Dimensions}.", nameof(records));
            }

            embeddings[i] = embedding;
            if (metadatas is not null)
            {
                var metadata = new Dictionary<string, MetadataValue?>(_record.Metadata.Count, StringComparer.Ordinal);
                foreach (var property in _record.Metadata)
                {
                    // A null removes the key from an existing record, so an upsert replaces the whole record.
                    metadata[property.StorageName] = RecordMapper.ToMetadata(property.GetValueAsObject(record));
                }

                metadatas[i] = metadata;
            }

            if (documents is not null)
            {
                documents[i] = (string?)_record.Document!.GetValueAsObject(record);
            }
        }

        var batch = new RecordBatch { Ids = ids, Embeddings = embeddings, Metadatas = metadatas, Documents = documents };
        await WithHandleAsync<bool>(async h =>
        {
            await h.UpsertAsync(batch, cancellationToken).ConfigureAwait(false);
            return true;
        }, "Upsert", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The input is a <see cref="ReadOnlyMemory{T}"/> of float, a float array or an <see cref="Embedding{T}"/> of float,
    /// or anything the vector property's embedding generator takes (a string, …). Chroma returns the <c>top + Skip</c>
    /// nearest records (HNSW, approximate), the first <c>Skip</c> are dropped, then those beyond
    /// <see cref="VectorSearchOptions{TRecord}.ScoreThreshold"/>.
    /// </remarks>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue,
        int top,
        VectorSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var vectorProperty = _record.Model.GetVectorPropertyOrSingle(options);
        var query = await VectorOfAsync(searchValue, vectorProperty, cancellationToken).ConfigureAwait(false);
        var filter = options.Filter is null ? ChromaFilter.None : new ChromaFilterTranslator(_record).Translate(options.Filter);
        if (filter.MatchesNothing)
        {
            yield break;
        }

        var hits = await QueryCoreAsync(query, top + options.Skip, filter, includeVectors, "Search", cancellationToken).ConfigureAwait(false);
        foreach (var (record, distance) in hits.Skip(options.Skip))
        {
            var score = _record.ScoreOf(distance);
            if (_record.Passes(score, options.ScoreThreshold))
            {
                yield return new VectorSearchResult<TRecord>(record, score);
            }
        }
    }

    /// <summary>
    /// Hybrid search: the vector ranking fused with a keyword ranking over the record's document (the full-text
    /// property) by reciprocal rank fusion.
    /// </summary>
    /// <remarks>
    /// Candidates are the <c>max(40, 4·(top + Skip))</c> nearest records by vector, and as many nearest among the records
    /// whose document contains at least one keyword (Chroma's <c>$contains</c>: case-sensitive substring). The keyword
    /// ranking orders the latter by how many distinct keywords they contain (then by vector distance). A record's score
    /// is Σ 1/(60 + rank) over the two rankings it appears in (higher is better; at most 2/61), and
    /// <see cref="HybridSearchOptions{TRecord}.ScoreThreshold"/> is a lower bound on it.
    /// </remarks>
    /// <exception cref="NotSupportedException">The additional property is not the record's document, or the record has none.</exception>
    public async IAsyncEnumerable<VectorSearchResult<TRecord>> HybridSearchAsync<TInput>(
        TInput searchValue,
        ICollection<string> keywords,
        int top,
        HybridSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentNullException.ThrowIfNull(keywords);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new HybridSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var includeVectors = CheckIncludeVectors(options.IncludeVectors);
        var textProperty = _record.Model.GetFullTextDataPropertyOrSingle(options.AdditionalProperty);
        if (_record.Document is null || !ReferenceEquals(textProperty, _record.Document))
        {
            throw new NotSupportedException(
                $"Hybrid search on collection '{Name}' searches the Chroma document, which is the one data property marked IsFullTextIndexed; '{textProperty.ModelName}' is not it.");
        }

        var words = keywords.Where(k => !string.IsNullOrEmpty(k)).Distinct(StringComparer.Ordinal).ToList();
        var vectorProperty = _record.Model.GetVectorPropertyOrSingle(new VectorSearchOptions<TRecord> { VectorProperty = options.VectorProperty });
        var query = await VectorOfAsync(searchValue, vectorProperty, cancellationToken).ConfigureAwait(false);
        var filter = options.Filter is null ? ChromaFilter.None : new ChromaFilterTranslator(_record).Translate(options.Filter);
        if (filter.MatchesNothing)
        {
            yield break;
        }

        var candidates = Math.Max(40, 4 * (top + options.Skip));
        var byVector = await QueryCoreAsync(query, candidates, filter, includeVectors, "HybridSearch", cancellationToken).ConfigureAwait(false);
        var scores = new Dictionary<string, (TRecord Record, double Score)>(StringComparer.Ordinal);
        for (var i = 0; i < byVector.Count; i++)
        {
            scores[IdOf(byVector[i].Record)] = (byVector[i].Record, 1d / (RrfK + i + 1));
        }

        if (words.Count > 0)
        {
            var anyWord = words.Count == 1 ? WhereDocument.Contains(words[0]) : WhereDocument.Or([.. words.Select(WhereDocument.Contains)]);
            var keywordFilter = filter with { Document = filter.Document is null ? anyWord : filter.Document & anyWord };
            var byKeyword = await QueryCoreAsync(query, candidates, keywordFilter, includeVectors, "HybridSearch", cancellationToken).ConfigureAwait(false);
            var ranked = byKeyword
                .Select((hit, index) => (hit.Record, Index: index, Matches: words.Count(w => ((string?)_record.Document.GetValueAsObject(hit.Record))?.Contains(w, StringComparison.Ordinal) == true)))
                .OrderByDescending(h => h.Matches)
                .ThenBy(h => h.Index)
                .ToList();
            for (var i = 0; i < ranked.Count; i++)
            {
                var id = IdOf(ranked[i].Record);
                var add = 1d / (RrfK + i + 1);
                scores[id] = scores.TryGetValue(id, out var existing) ? (existing.Record, existing.Score + add) : (ranked[i].Record, add);
            }
        }

        foreach (var (record, score) in scores.Values
            .OrderByDescending(s => s.Score)
            .Where(s => options.ScoreThreshold is not { } t || s.Score >= t)
            .Skip(options.Skip)
            .Take(top))
        {
            yield return new VectorSearchResult<TRecord>(record, score);
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType == typeof(IChromaClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    private string IdOf(TRecord record) => KeyCodec.ToId(_record.Model.KeyProperty.GetValueAsObject(record)!);

    private bool CheckIncludeVectors(bool includeVectors)
    {
        if (includeVectors && _record.Model.EmbeddingGenerationRequired)
        {
            throw new NotSupportedException(
                $"IncludeVectors is not supported on collection '{Name}': its vector property '{_record.Vector.ModelName}' is generated from a '{_record.Vector.Type.Name}' and cannot be read back into it.");
        }

        return includeVectors;
    }

    private static Include Include(bool vectors, bool distances) =>
        EmbeddedChroma.Include.Metadatas | EmbeddedChroma.Include.Documents
        | (vectors ? EmbeddedChroma.Include.Embeddings : EmbeddedChroma.Include.None)
        | (distances ? EmbeddedChroma.Include.Distances : EmbeddedChroma.Include.None);

    private static async Task<float[]> VectorOfAsync<TInput>(TInput searchValue, VectorPropertyModel vectorProperty, CancellationToken cancellationToken)
    {
        switch (searchValue)
        {
            case ReadOnlyMemory<float> memory:
                return memory.ToArray();
            case float[] array:
                return array;
            case Embedding<float> embedding:
                return embedding.Vector.ToArray();
        }

        if (vectorProperty.EmbeddingGenerationDispatcher is not null)
        {
            var generated = await vectorProperty.GenerateEmbeddingAsync(searchValue!, cancellationToken).ConfigureAwait(false);
            return generated is Embedding<float> e
                ? e.Vector.ToArray()
                : throw new InvalidOperationException($"The embedding generator of '{vectorProperty.ModelName}' returned a {generated.GetType().Name}; Chroma stores Embedding<float>.");
        }

        throw vectorProperty.EmbeddingGenerator is null
            ? new NotSupportedException(
                $"A search input of type '{searchValue!.GetType().Name}' needs an embedding generator on vector property '{vectorProperty.ModelName}' (none is configured); or search with {ChromaModelBuilder.SupportedVectorTypes}.")
            : new InvalidOperationException(
                $"The embedding generator of '{vectorProperty.ModelName}' ({vectorProperty.EmbeddingGenerator.GetType().Name}) does not take a '{typeof(TInput).Name}'.");
    }

    private Task<List<TRecord>> GetCoreAsync(GetRequest request, bool includeVectors, string operation, CancellationToken cancellationToken) =>
        WithHandleAsync(async h =>
        {
            var result = await h.GetAsync(request, cancellationToken).ConfigureAwait(false);
            var records = new List<TRecord>(result.Count);
            for (var i = 0; i < result.Count; i++)
            {
                records.Add(ToRecord(result.Ids[i], result.Metadatas?[i], result.Documents?[i], includeVectors ? result.Embeddings?[i] : null, operation));
            }

            return records;
        }, operation, cancellationToken);

    private Task<List<(TRecord Record, float Distance)>> QueryCoreAsync(float[] query, int n, ChromaFilter filter, bool includeVectors, string operation, CancellationToken cancellationToken) =>
        WithHandleAsync(async h =>
        {
            var result = await h.QueryAsync(
                new QueryRequest
                {
                    QueryEmbeddings = [query],
                    NResults = n,
                    Where = filter.Where,
                    WhereDocument = filter.Document,
                    Ids = filter.Ids,
                    Include = Include(includeVectors, true),
                },
                cancellationToken).ConfigureAwait(false);
            var ids = result.Ids[0];
            var hits = new List<(TRecord, float)>(ids.Count);
            for (var i = 0; i < ids.Count; i++)
            {
                var record = ToRecord(ids[i], result.Metadatas?[0][i], result.Documents?[0][i], includeVectors ? result.Embeddings?[0][i] : null, operation);
                hits.Add((record, result.Distances![0][i]));
            }

            return hits;
        }, operation, cancellationToken);

    private Task<bool> DeleteCoreAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        WithHandleAsync(async h =>
        {
            await h.DeleteAsync(new DeleteRequest { Ids = ids }, cancellationToken).ConfigureAwait(false);
            return true;
        }, "Delete", cancellationToken);

    private TRecord ToRecord(string id, IReadOnlyDictionary<string, MetadataValue>? metadata, string? document, float[]? embedding, string operation)
    {
        try
        {
            var model = _record.Model;
            var record = model.CreateRecord<TRecord>()!;
            model.KeyProperty.SetValueAsObject(record, KeyCodec.FromId(id, model.KeyProperty.Type));
            foreach (var property in _record.Metadata)
            {
                var value = metadata is not null && metadata.TryGetValue(property.StorageName, out var stored)
                    ? RecordMapper.FromMetadata(stored, property)
                    : null;
                Set(property, record, value);
            }

            if (_record.Document is { } doc)
            {
                Set(doc, record, document);
            }

            if (embedding is not null)
            {
                _record.Vector.SetValueAsObject(record, RecordMapper.ToVectorProperty(embedding, _record.Vector.Type));
            }

            return record;
        }
        catch (InvalidOperationException e)
        {
            throw new VectorStoreException($"Record '{id}' of collection '{Name}' cannot be read as a {typeof(TRecord).Name}: {e.Message}", e)
            {
                VectorStoreSystemName = ChromaErrors.SystemName,
                VectorStoreName = StoreName,
                CollectionName = Name,
                OperationName = operation,
            };
        }

        static void Set(PropertyModel property, object record, object? value)
        {
            // A missing value leaves a non-nullable value-type property at its default.
            if (value is null && property.Type.IsValueType && Nullable.GetUnderlyingType(property.Type) is null)
            {
                return;
            }

            property.SetValueAsObject(record, value);
        }
    }

    private void CheckSpace(IChromaCollection handle, string operation)
    {
        if (handle.Configuration.Space != _record.Space)
        {
            throw new VectorStoreException(
                $"Collection '{Name}' exists with distance space '{CollectionConfiguration.SpaceName(handle.Configuration.Space)}', but vector property '{_record.Vector.ModelName}' uses {_record.DistanceFunctionName}, which needs '{CollectionConfiguration.SpaceName(_record.Space)}'.")
            {
                VectorStoreSystemName = ChromaErrors.SystemName,
                VectorStoreName = StoreName,
                CollectionName = Name,
                OperationName = operation,
            };
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the collection's handle (looked up once and kept). If the kept handle is gone
    /// (the collection was deleted and made again by someone else), it is looked up again once.
    /// </summary>
    private async Task<T> WithHandleAsync<T>(Func<IChromaCollection, Task<T>> action, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var handle = _handle;
            if (handle is not null)
            {
                try
                {
                    return await action(handle).ConfigureAwait(false);
                }
                catch (ChromaNotFoundException)
                {
                    _handle = null;
                }
            }

            handle = await _client.GetCollectionAsync(Name, null, cancellationToken).ConfigureAwait(false);
            CheckSpace(handle, operation);
            _handle = handle;
            return await action(handle).ConfigureAwait(false);
        }
        catch (Exception e) when (ChromaErrors.ShouldWrap(e))
        {
            throw ChromaErrors.Wrap(e, StoreName, Name, operation);
        }
    }
}
