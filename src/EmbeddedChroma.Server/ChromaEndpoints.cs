using System.Diagnostics;
using System.Text.Json;
using EmbeddedChroma.Security;
using EmbeddedChroma.Server.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace EmbeddedChroma.Server;

/// <summary>
/// Maps Chroma's HTTP API v2 onto an <see cref="ChromaStore"/>: the routes the official <c>chromadb</c> clients call
/// for local use, every one of them (heartbeat and version included) authenticated by the store's key ring from
/// <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Chroma-Token: &lt;key&gt;</c>.
/// </summary>
/// <remarks>
/// <para>Bodies, status codes and error bodies (<c>{"error": …, "message": …}</c>) are Chroma's; the differences are
/// deliberate: authentication (401 with an RFC 6750 challenge, 403 <c>insufficient_scope</c>, 400
/// <c>invalid_request</c>, 429 with <c>Retry-After</c>), 409 (not 500) for a rename onto a taken name, the real count in
/// <c>{"deleted": n}</c>, and <c>indexing_status</c> answered.</para>
/// <para>The store stays owned by the caller: close it after the application has stopped.</para>
/// </remarks>
public static class ChromaEndpoints
{
    /// <summary>Maps Chroma's routes for <paramref name="store"/> under <see cref="ChromaServerOptions.Prefix"/>.</summary>
    /// <param name="app">The application's endpoint builder.</param>
    /// <param name="store">The open store to serve.</param>
    /// <param name="options">Limits and announced values, or <see langword="null"/> for the defaults.</param>
    /// <returns>The route group, for further conventions.</returns>
    public static RouteGroupBuilder MapChroma(this IEndpointRouteBuilder app, ChromaStore store, ChromaServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ChromaServerOptions();
        var logger = app.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("EmbeddedChroma.Server") ?? NullLogger.Instance;
        var api = new ChromaApi(store, options, logger);
        var group = app.MapGroup(options.Prefix);

        group.MapGet("/heartbeat", api.Run(Heartbeat)).WithName("heartbeat");
        group.MapGet("/version", api.Run(Version)).WithName("version");
        group.MapGet("/pre-flight-checks", api.Run(PreFlight)).WithName("pre_flight_checks");
        group.MapGet("/healthcheck", api.Run(Healthcheck)).WithName("healthcheck");
        group.MapGet("/auth/identity", api.Run(Identity)).WithName("get_user_identity");

        group.MapPost("/tenants", api.Run(CreateTenant)).WithName("create_tenant");
        group.MapGet("/tenants/{tenant}", api.Run(GetTenant)).WithName("get_tenant");
        group.MapGet("/tenants/{tenant}/databases", api.Run(ListDatabases)).WithName("list_databases");
        group.MapPost("/tenants/{tenant}/databases", api.Run(CreateDatabase)).WithName("create_database");
        group.MapGet("/tenants/{tenant}/databases/{database}", api.Run(GetDatabase)).WithName("get_database");
        group.MapDelete("/tenants/{tenant}/databases/{database}", api.Run(DeleteDatabase)).WithName("delete_database");

        const string Db = "/tenants/{tenant}/databases/{database}";
        group.MapGet(Db + "/collections", api.Run(ListCollections)).WithName("list_collections");
        group.MapPost(Db + "/collections", api.Run(CreateCollection)).WithName("create_collection");
        group.MapGet(Db + "/collections_count", api.Run(CountCollections)).WithName("count_collections");
        group.MapGet(Db + "/collections/by-id/{collection_id}", api.Run(GetCollectionById)).WithName("get_collection_by_id");
        group.MapGet(Db + "/collections/{collection_name}", api.Run(GetCollection)).WithName("get_collection");
        group.MapPut(Db + "/collections/{collection_id}", api.Run(ModifyCollection)).WithName("update_collection");
        group.MapDelete(Db + "/collections/{collection_name}", api.Run(DeleteCollection)).WithName("delete_collection");

        const string Coll = Db + "/collections/{collection_id}";
        group.MapPost(Coll + "/add", api.Run(c => Write(c, RecordWriteKind.Add))).WithName("collection_add");
        group.MapPost(Coll + "/upsert", api.Run(c => Write(c, RecordWriteKind.Upsert))).WithName("collection_upsert");
        group.MapPost(Coll + "/update", api.Run(c => Write(c, RecordWriteKind.Update))).WithName("collection_update");
        group.MapPost(Coll + "/get", api.Run(Get)).WithName("collection_get");
        group.MapPost(Coll + "/query", api.Run(Query)).WithName("collection_query");
        group.MapPost(Coll + "/delete", api.Run(Delete)).WithName("collection_delete");
        group.MapGet(Coll + "/count", api.Run(Count)).WithName("collection_count");
        group.MapGet(Coll + "/indexing_status", api.Run(IndexingStatus)).WithName("indexing_status");
        return group;
    }

    // ---------------------------------------------------------------- system

    private static Task Heartbeat(ChromaCall call)
    {
        var nanos = call.TenantClient().Heartbeat();
        return call.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("nanosecond heartbeat", nanos);
            w.WriteEndObject();
        });
    }

    private static Task Version(ChromaCall call) => call.Json(200, w => w.WriteStringValue(call.Options.Version));

    private static Task PreFlight(ChromaCall call) => call.Json(200, w =>
    {
        w.WriteStartObject();
        w.WriteNumber("max_batch_size", call.Options.MaxBatchSize ?? call.Store.Options.MaxBatchSize);
        w.WriteBoolean("supports_base64_encoding", true);
        w.WriteEndObject();
    });

    private static Task Healthcheck(ChromaCall call) => call.Json(200, w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("is_executor_ready", true);
        w.WriteBoolean("is_log_client_ready", true);
        w.WriteEndObject();
    });

    /// <summary>The key's tenant and the databases it reaches, from its scope (<c>*</c> for every database of the tenant).</summary>
    private static Task Identity(ChromaCall call)
    {
        var patterns = call.Key.Resources.Select(r => r.Split('/')).ToList();
        var firstTenant = patterns.Select(p => p[0]).FirstOrDefault(t => t != "*") ?? ChromaDefaults.Tenant;
        var databases = patterns
            .Where(p => p[0] == "*" || p[0] == firstTenant)
            .Select(p => p.Length == 1 ? "*" : p[1])
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return call.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("user_id", call.Key.KeyId);
            w.WriteString("tenant", firstTenant);
            w.WriteStartArray("databases");
            foreach (var database in databases)
            {
                w.WriteStringValue(database);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    // ---------------------------------------------------------------- tenants and databases

    private static async Task CreateTenant(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        call.TenantClient().CreateTenant(WireReader.RequiredString(body.RootElement, "name"));
        await call.EmptyObject(200);
    }

    private static Task GetTenant(ChromaCall call)
    {
        var tenant = call.TenantClient().GetTenant(call.Route("tenant"));
        return call.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteString("name", tenant.Name);
            w.WriteNull("resource_name");
            w.WriteEndObject();
        });
    }

    private static Task ListDatabases(ChromaCall call)
    {
        var (limit, offset) = call.LimitOffset();
        var databases = call.TenantClient().ListDatabases(call.Route("tenant"), limit, offset);
        return call.Json(200, w =>
        {
            w.WriteStartArray();
            foreach (var database in databases)
            {
                WireWriter.Database(w, database.Tenant, database.Name);
            }

            w.WriteEndArray();
        });
    }

    private static async Task CreateDatabase(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        call.TenantClient().CreateDatabase(WireReader.RequiredString(body.RootElement, "name"), call.Route("tenant"));
        await call.EmptyObject(200);
    }

    private static Task GetDatabase(ChromaCall call)
    {
        var database = call.TenantClient().GetDatabase(call.Route("database"), call.Route("tenant"));
        return call.Json(200, w => WireWriter.Database(w, database.Tenant, database.Name));
    }

    private static Task DeleteDatabase(ChromaCall call)
    {
        call.TenantClient().DeleteDatabase(call.Route("database"), call.Route("tenant"));
        return call.EmptyObject(200);
    }

    // ---------------------------------------------------------------- collections

    private static Task ListCollections(ChromaCall call)
    {
        var (limit, offset) = call.LimitOffset();
        var collections = call.Client().ListCollections(limit, offset);
        return call.Json(200, w =>
        {
            w.WriteStartArray();
            foreach (var collection in collections)
            {
                WireWriter.Collection(w, collection);
            }

            w.WriteEndArray();
        });
    }

    private static Task CountCollections(ChromaCall call)
    {
        var count = call.Client().CountCollections();
        return call.Json(200, w => w.WriteNumberValue(count));
    }

    private static async Task CreateCollection(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var name = WireReader.RequiredString(root, "name");
        var metadata = WireReader.Metadata(root, "metadata");
        var configuration = ConfigurationReader.ForCreate(root, "configuration");
        if (ConfigurationReader.EmbeddingFunction(root, "configuration") is { } function)
        {
            // Sent without an index section, the legacy hnsw:* metadata still sets the index (as on Chroma's server).
            configuration = (configuration ?? CollectionConfiguration.FromLegacyMetadata(metadata) ?? new CollectionConfiguration()) with { EmbeddingFunction = function };
        }

        if (ConfigurationReader.VectorStorage(root, "configuration") is { } storage)
        {
            // EmbeddedChroma's own configuration.vector_storage (Chroma's server has none); the index settings as above.
            configuration = (configuration ?? CollectionConfiguration.FromLegacyMetadata(metadata) ?? new CollectionConfiguration()) with { VectorStorage = storage };
        }

        var options = new CollectionOptions { Metadata = metadata, Configuration = configuration };
        var client = call.Client();
        var collection = WireReader.OptionalBool(root, "get_or_create") ? client.GetOrCreateCollection(name, options) : client.CreateCollection(name, options);
        await call.Json(200, w => WireWriter.Collection(w, collection));
    }

    private static Task GetCollection(ChromaCall call)
    {
        var collection = call.Client().GetCollection(call.Route("collection_name"));
        return call.Json(200, w => WireWriter.Collection(w, collection));
    }

    private static Task GetCollectionById(ChromaCall call)
    {
        var collection = call.Collection();
        return call.Json(200, w => WireWriter.Collection(w, collection));
    }

    private static async Task ModifyCollection(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var collection = call.Collection();
        collection.Modify(
            WireReader.OptionalString(root, "new_name"),
            WireReader.Metadata(root, "new_metadata"),
            ConfigurationReader.ForModify(root, "new_configuration"));
        await call.EmptyObject(200);
    }

    private static Task DeleteCollection(ChromaCall call)
    {
        call.Client().DeleteCollection(call.Route("collection_name"));
        return call.EmptyObject(200);
    }

    // ---------------------------------------------------------------- records

    private enum RecordWriteKind
    {
        Add,
        Upsert,
        Update,
    }

    private static async Task Write(ChromaCall call, RecordWriteKind kind)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var ids = WireReader.Strings(root, "ids") ?? throw WireException.Shape("body", "missing field `ids`");
        var embeddings = WireReader.Embeddings(root, "embeddings");
        var metadatas = WireReader.Metadatas(root, "metadatas");
        var documents = WireReader.NullableStrings(root, "documents");
        var uris = WireReader.NullableStrings(root, "uris");
        var collection = call.Collection();
        switch (kind)
        {
            case RecordWriteKind.Add:
                collection.Add(ids, embeddings, metadatas, documents, uris);
                await call.EmptyObject(201);
                break;
            case RecordWriteKind.Upsert:
                collection.Upsert(ids, embeddings, metadatas, documents, uris);
                await call.EmptyObject(200);
                break;
            default:
                collection.Update(ids, embeddings, metadatas, documents, uris);
                await call.EmptyObject(200);
                break;
        }
    }

    private static async Task Get(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var include = WireReader.Include(root, "include");
        var flags = include?.Flags ?? ChromaDefaults.GetInclude;
        var ids = WireReader.Strings(root, "ids");
        var where = WireReader.Where(root, "where");
        var whereDocument = WireReader.WhereDocument(root, "where_document");
        var limit = WireReader.OptionalCount(root, "limit");
        var offset = WireReader.OptionalCount(root, "offset") ?? 0;
        var collection = call.Collection();

        // Chroma's server accepts "distances" in a get's include and returns nothing for it; the store refuses it.
        var result = collection.Get(ids, where, whereDocument, limit, offset, flags & ~EmbeddedChroma.Include.Distances);
        await call.Json(200, w => WireWriter.GetResult(w, result, include?.Names ?? (IReadOnlyList<string>)IncludeNames.ToNames(ChromaDefaults.GetInclude)));
    }

    private static async Task Query(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var include = WireReader.Include(root, "include");
        var flags = include?.Flags ?? ChromaDefaults.QueryInclude;
        var embeddings = WireReader.Embeddings(root, "query_embeddings") ?? throw WireException.Shape("body", "missing field `query_embeddings`");
        var nResults = WireReader.OptionalCount(root, "n_results") ?? ChromaDefaults.NResults;
        var ids = WireReader.Strings(root, "ids");
        var where = WireReader.Where(root, "where");
        var whereDocument = WireReader.WhereDocument(root, "where_document");
        var collection = call.Collection();
        var names = include?.Names ?? (IReadOnlyList<string>)IncludeNames.ToNames(ChromaDefaults.QueryInclude);
        if (nResults == 0)
        {
            // Chroma answers an empty list per query for n_results 0; the store refuses 0 (it asks for at least one).
            var empty = EmptyQuery(embeddings.Count, flags);
            await call.Json(200, w => WireWriter.QueryResult(w, empty, names));
            return;
        }

        var result = collection.Query(embeddings, nResults, where, whereDocument, ids, flags);
        await call.Json(200, w => WireWriter.QueryResult(w, result, names));
    }

    private static QueryResult EmptyQuery(int queries, Include include)
    {
        IReadOnlyList<IReadOnlyList<T>>? Lists<T>(Include flag) =>
            (include & flag) != 0 ? Enumerable.Range(0, queries).Select(_ => (IReadOnlyList<T>)[]).ToList() : null;

        return new QueryResult(
            Enumerable.Range(0, queries).Select(_ => (IReadOnlyList<string>)[]).ToList(),
            Lists<float[]>(EmbeddedChroma.Include.Embeddings),
            Lists<IReadOnlyDictionary<string, MetadataValue>?>(EmbeddedChroma.Include.Metadatas),
            Lists<string?>(EmbeddedChroma.Include.Documents),
            Lists<float>(EmbeddedChroma.Include.Distances),
            include,
            Lists<string?>(EmbeddedChroma.Include.Uris));
    }

    private static async Task Delete(ChromaCall call)
    {
        using var body = await call.BodyAsync();
        var root = body.RootElement;
        var ids = WireReader.Strings(root, "ids");
        var where = WireReader.Where(root, "where");
        var whereDocument = WireReader.WhereDocument(root, "where_document");
        var limit = WireReader.OptionalCount(root, "limit");
        var collection = call.Collection();
        if (limit is not null && where is null && whereDocument is null)
        {
            throw new ChromaValidationException("Validation error: limit, where: limit can only be specified when a where clause is provided");
        }

        // Chroma deletes nothing for a body without selectors or with an empty id list (the store asks for a selector).
        var deleted = (ids is null && where is null && whereDocument is null) || ids is { Count: 0 }
            ? 0
            : collection.Delete(ids, where, whereDocument, limit);
        await call.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("deleted", deleted);
            w.WriteEndObject();
        });
    }

    private static Task Count(ChromaCall call)
    {
        var count = call.Collection().Count();
        return call.Json(200, w => w.WriteNumberValue(count));
    }

    private static Task IndexingStatus(ChromaCall call)
    {
        var status = call.Collection().GetIndexingStatus();
        return call.Json(200, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("num_indexed_ops", status.IndexedRecords);
            w.WriteNumber("num_unindexed_ops", status.UnindexedRecords);
            w.WriteNumber("total_ops", status.TotalRecords);
            w.WritePropertyName("op_indexing_progress");
            WireWriter.Double(w, status.Progress);
            w.WriteEndObject();
        });
    }
}
