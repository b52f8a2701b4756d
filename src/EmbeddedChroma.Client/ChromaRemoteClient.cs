using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Internal;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Client;

/// <summary>
/// The client contract (<see cref="IChromaClient"/>) over Chroma's HTTP API v2: a Chroma server, Chroma's distributed
/// deployment or an EmbeddedChroma host. Code written against <see cref="IChromaClient"/> runs unchanged; only how the
/// client is obtained differs (<c>new ChromaRemoteClient(options)</c> instead of <c>ChromaStore.GetClient(credential)</c>).
/// </summary>
/// <remarks>
/// <para>The key goes in a header (<see cref="ChromaRemoteClientOptions.TokenHeader"/>) with every request, never in a
/// URL, a message or a log. Arguments are checked before anything is sent, with the embedded store's rules and exception
/// types; server errors map to the <see cref="ChromaException"/> hierarchy (network failures, timeouts and 5xx answers to
/// <see cref="ChromaTransportException"/>). Nothing else escapes a call; a cancelled call throws <see cref="OperationCanceledException"/>.</para>
/// <para>Writes larger than the server's <c>max_batch_size</c> are sent in several requests, so unlike the embedded
/// store a failure part-way leaves the earlier parts written.</para>
/// <para>Thread-safe. <see cref="WithDatabase"/> clients share the connection of the client they came from.</para>
/// </remarks>
public sealed class ChromaRemoteClient : IChromaClient, IDisposable
{
    private readonly ChromaHttp _http;
    private readonly ServerFacts _facts;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client for the server, tenant and database of <paramref name="options"/>. No request is sent until the first call.</summary>
    /// <exception cref="ChromaValidationException">The options are invalid (an address with a user, password or query; a bad tenant or database name; a negative timeout or retry count).</exception>
    public ChromaRemoteClient(ChromaRemoteClientOptions options)
        : this(options, null)
    {
    }

    /// <summary>A client whose back-off waits go through <paramref name="delay"/> (tests).</summary>
    internal ChromaRemoteClient(ChromaRemoteClientOptions options, Func<TimeSpan, CancellationToken, Task>? delay)
    {
        Validate(options);
        _http = new ChromaHttp(options, delay);
        _ownsHttp = true;
        _facts = new ServerFacts(_http);
        Tenant = options.Tenant;
        Database = options.Database;
    }

    private ChromaRemoteClient(ChromaRemoteClient parent, string tenant, string database)
    {
        _http = parent._http;
        _facts = parent._facts;
        _ownsHttp = false;
        Tenant = tenant;
        Database = database;
    }

    /// <inheritdoc/>
    public string Tenant { get; }

    /// <inheritdoc/>
    public string Database { get; }

    /// <summary>The server's address (without credentials).</summary>
    public Uri Endpoint => _http.Endpoint;

    internal ChromaHttp Http => _http;

    internal ServerFacts Facts => _facts;

    private string DatabasePath => $"api/v2/tenants/{Segment(Tenant)}/databases/{Segment(Database)}";

    /// <inheritdoc/>
    public IChromaClient WithDatabase(string database, string tenant)
    {
        Names.Validate(tenant, "tenant");
        Names.Validate(database, "database");
        return new ChromaRemoteClient(this, tenant, database);
    }

    /// <inheritdoc/>
    public async Task<long> HeartbeatAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await _http.SendAsync(HttpMethod.Get, "api/v2/heartbeat", null, "heartbeat", cancellationToken).ConfigureAwait(false);
        return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("nanosecond heartbeat", out var n) && n.TryGetInt64(out var value)
            ? value
            : throw Wire.Unexpected("heartbeat", "no 'nanosecond heartbeat'");
    }

    /// <summary>The server's version (Chroma's <c>/api/v2/version</c>).</summary>
    public async Task<string> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await _http.SendAsync(HttpMethod.Get, "api/v2/version", null, "version", cancellationToken).ConfigureAwait(false);
        return doc.RootElement.ValueKind == JsonValueKind.String ? doc.RootElement.GetString()! : throw Wire.Unexpected("version", "not a string");
    }

    /// <inheritdoc/>
    public async Task CreateTenantAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.Validate(name, "tenant");
        using var _ = await _http.SendAsync(HttpMethod.Post, "api/v2/tenants", w => NameBody(w, name), $"create tenant '{Echo.Text(name)}'", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<TenantInfo> GetTenantAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.RejectKey(name, "tenant name");
        using var doc = await _http.SendAsync(HttpMethod.Get, $"api/v2/tenants/{Segment(name)}", null, $"get tenant '{Echo.Text(name)}'", cancellationToken).ConfigureAwait(false);
        return new TenantInfo(Wire.String(doc.RootElement, "name", "get tenant"));
    }

    /// <inheritdoc/>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.Validate(name, "database");
        await RequireTenantAsync(cancellationToken).ConfigureAwait(false);
        using var _ = await _http.SendAsync(HttpMethod.Post, $"api/v2/tenants/{Segment(Tenant)}/databases", w => NameBody(w, name), $"create database '{Echo.Text(name)}' in tenant '{Echo.Text(Tenant)}'", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<DatabaseInfo> GetDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.RejectKey(name, "database name");
        using var doc = await _http.SendAsync(HttpMethod.Get, $"api/v2/tenants/{Segment(Tenant)}/databases/{Segment(name)}", null, $"get database '{Echo.Text(name)}' of tenant '{Echo.Text(Tenant)}'", cancellationToken).ConfigureAwait(false);
        return new DatabaseInfo(Wire.String(doc.RootElement, "tenant", "get database"), Wire.String(doc.RootElement, "name", "get database"));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<DatabaseInfo>> ListDatabasesAsync(int? limit, int offset, CancellationToken cancellationToken = default)
    {
        Checks.LimitOffset(limit, offset);
        await RequireTenantAsync(cancellationToken).ConfigureAwait(false);
        using var doc = await _http.SendAsync(HttpMethod.Get, $"api/v2/tenants/{Segment(Tenant)}/databases{Page(limit, offset)}", null, $"list databases of tenant '{Echo.Text(Tenant)}'", cancellationToken).ConfigureAwait(false);
        return Array(doc.RootElement, "list databases").Select(d => new DatabaseInfo(Wire.String(d, "tenant", "list databases"), Wire.String(d, "name", "list databases"))).ToList();
    }

    /// <summary>
    /// Chroma's server creates and lists databases of a tenant that does not exist (an empty list; a database no one
    /// can reach); the contract answers <see cref="ChromaNotFoundException"/>, so the tenant is looked up first.
    /// </summary>
    private async Task RequireTenantAsync(CancellationToken cancellationToken)
    {
        using var _ = await _http.SendAsync(HttpMethod.Get, $"api/v2/tenants/{Segment(Tenant)}", null, $"get tenant '{Echo.Text(Tenant)}'", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task DeleteDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.RejectKey(name, "database name");
        using var _ = await _http.SendAsync(HttpMethod.Delete, $"api/v2/tenants/{Segment(Tenant)}/databases/{Segment(name)}", null, $"delete database '{Echo.Text(name)}' of tenant '{Echo.Text(Tenant)}'", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task<IChromaCollection> CreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default) =>
        CreateOrGetAsync(name, options, getOrCreate: false, cancellationToken);

    /// <inheritdoc/>
    public Task<IChromaCollection> GetOrCreateCollectionAsync(string name, CollectionOptions? options, CancellationToken cancellationToken = default) =>
        CreateOrGetAsync(name, options, getOrCreate: true, cancellationToken);

    private async Task<IChromaCollection> CreateOrGetAsync(string name, CollectionOptions? options, bool getOrCreate, CancellationToken cancellationToken)
    {
        Names.Validate(name, "collection");
        // Chroma's legacy hnsw:* metadata: always checked, used only when no configuration is given (the embedded store's rule).
        var legacy = CollectionConfiguration.FromLegacyMetadata(options?.Metadata);
        var configuration = options?.Configuration ?? legacy ?? new CollectionConfiguration();
        configuration.Validate();
        Checks.Metadata(options?.Metadata, $"collection '{Echo.Text(name)}'", scalarsOnly: true);
        var operation = $"{(getOrCreate ? "get or create" : "create")} collection '{Echo.Text(name)}' in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'";
        using var doc = await SendCreateAsync(name, options, configuration, getOrCreate, operation, cancellationToken).ConfigureAwait(false);
        return new RemoteCollection(this, Wire.ReadCollection(doc.RootElement, operation), options?.EmbeddingGenerator);
    }

    private async Task<JsonDocument> SendCreateAsync(
        string name, CollectionOptions? options, CollectionConfiguration configuration, bool getOrCreate, string operation, CancellationToken cancellationToken)
    {
        try
        {
            return await SendCreateCoreAsync(name, options, configuration, getOrCreate, operation, cancellationToken).ConfigureAwait(false);
        }
        catch (ChromaConflictException ex) when (ex is not ChromaCollectionExistsException)
        {
            throw new ChromaCollectionExistsException(ex.Message, name);
        }
    }

    private Task<JsonDocument> SendCreateCoreAsync(
        string name, CollectionOptions? options, CollectionConfiguration configuration, bool getOrCreate, string operation, CancellationToken cancellationToken) =>
        _http.SendAsync(
            HttpMethod.Post,
            $"{DatabasePath}/collections",
            w =>
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (options?.Metadata is { } metadata)
                {
                    w.WritePropertyName("metadata");
                    Wire.Metadata(w, metadata, keepNulls: false);
                }

                w.WriteStartObject("configuration");
                w.WriteStartObject("hnsw");
                w.WriteString("space", CollectionConfiguration.SpaceName(configuration.Space));
                w.WriteNumber("ef_construction", configuration.EfConstruction);
                w.WriteNumber("ef_search", configuration.EfSearch);
                w.WriteNumber("max_neighbors", configuration.MaxNeighbors);
                w.WriteEndObject();
                if (configuration.VectorStorage != VectorStorage.Float32)
                {
                    // EmbeddedChroma's HTTP host reads it; sent only when chosen, so Chroma's own server sees its usual request.
                    w.WriteString("vector_storage", CollectionConfiguration.VectorStorageName(configuration.VectorStorage));
                }

                w.WriteEndObject();
                w.WriteBoolean("get_or_create", getOrCreate);
                w.WriteEndObject();
            },
            operation,
            cancellationToken);

    /// <inheritdoc/>
    public async Task<IChromaCollection> GetCollectionAsync(string name, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default)
    {
        Names.RejectKey(name, "collection name");
        var info = await GetInfoAsync(name, cancellationToken).ConfigureAwait(false);
        return new RemoteCollection(this, info, embeddingGenerator);
    }

    /// <inheritdoc/>
    public async Task<IChromaCollection> GetCollectionAsync(Guid id, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator, CancellationToken cancellationToken = default)
    {
        var info = await GetInfoAsync(id.ToString("D", CultureInfo.InvariantCulture), cancellationToken, byId: true).ConfigureAwait(false);
        return info.Tenant == Tenant && info.Database == Database
            ? new RemoteCollection(this, info, embeddingGenerator)
            : throw new ChromaNotFoundException($"Collection {id} does not exist in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'.");
    }

    internal async Task<CollectionInfo> GetInfoAsync(string nameOrId, CancellationToken cancellationToken, bool byId = false)
    {
        var path = byId ? $"{DatabasePath}/collections/by-id/{Segment(nameOrId)}" : $"{DatabasePath}/collections/{Segment(nameOrId)}";
        using var doc = await _http.SendAsync(HttpMethod.Get, path, null, $"get collection '{Echo.Text(nameOrId)}' in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'", cancellationToken).ConfigureAwait(false);
        return Wire.ReadCollection(doc.RootElement, "get collection");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<CollectionInfo>> ListCollectionsAsync(int? limit, int offset, CancellationToken cancellationToken = default)
    {
        Checks.LimitOffset(limit, offset);
        using var doc = await _http.SendAsync(HttpMethod.Get, $"{DatabasePath}/collections{Page(limit, offset)}", null, "list collections", cancellationToken).ConfigureAwait(false);
        return Array(doc.RootElement, "list collections").Select(c => Wire.ReadCollection(c, "list collections")).ToList();
    }

    /// <inheritdoc/>
    public async Task<int> CountCollectionsAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await _http.SendAsync(HttpMethod.Get, $"{DatabasePath}/collections_count", null, "count collections", cancellationToken).ConfigureAwait(false);
        return Wire.Count(doc.RootElement, "count collections");
    }

    /// <inheritdoc/>
    public async Task DeleteCollectionAsync(string name, CancellationToken cancellationToken = default)
    {
        Names.RejectKey(name, "collection name");
        using var _ = await _http.SendAsync(HttpMethod.Delete, $"{DatabasePath}/collections/{Segment(name)}", null, $"delete collection '{Echo.Text(name)}'", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the connection this client created (an <see cref="HttpClient"/> given in the options is left alone).</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"ChromaRemoteClient({Endpoint}, {Tenant}/{Database})";

    internal string CollectionPath(Guid id) => $"api/v2/tenants/{Segment(Tenant)}/databases/{Segment(Database)}/collections/{id:D}";

    internal static string Segment(string value) => Uri.EscapeDataString(value);

    private static string Page(int? limit, int offset)
    {
        var parts = new List<string>(2);
        if (limit is { } l)
        {
            parts.Add($"limit={l.ToString(CultureInfo.InvariantCulture)}");
        }

        if (offset != 0)
        {
            parts.Add($"offset={offset.ToString(CultureInfo.InvariantCulture)}");
        }

        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }

    private static void NameBody(Utf8JsonWriter w, string name)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteEndObject();
    }

    private static JsonElement.ArrayEnumerator Array(JsonElement e, string what) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : throw Wire.Unexpected(what, "not a list");

    private static void Validate(ChromaRemoteClientOptions options)
    {
        if (options is null)
        {
            throw new ChromaValidationException("The remote client's options are required.");
        }

        if (options.BaseAddress is null || !options.BaseAddress.IsAbsoluteUri || options.BaseAddress.Scheme is not ("http" or "https"))
        {
            throw new ChromaValidationException("BaseAddress must be an absolute http or https address, e.g. http://localhost:8000.");
        }

        if (!string.IsNullOrEmpty(options.BaseAddress.UserInfo) || !string.IsNullOrEmpty(options.BaseAddress.Query) || !string.IsNullOrEmpty(options.BaseAddress.Fragment))
        {
            // The address is shown in messages and logs: a key or password in it would leak.
            throw new ChromaValidationException("BaseAddress may not carry a user, password, query or fragment; give the key as Credential, which is sent in a header.");
        }

        Names.Validate(options.Tenant, "tenant");
        Names.Validate(options.Database, "database");
        if (options.Timeout <= TimeSpan.Zero && options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ChromaValidationException($"Timeout must be positive (or infinite), got {options.Timeout}.");
        }

        if (options.MaxRetries < 0 || options.RetryBaseDelay < TimeSpan.Zero || options.MaxRetryDelay < TimeSpan.Zero)
        {
            throw new ChromaValidationException("MaxRetries, RetryBaseDelay and MaxRetryDelay must not be negative.");
        }
    }
}

/// <summary>What the server's pre-flight check says (<c>max_batch_size</c>, <c>supports_base64_encoding</c>), asked once.</summary>
internal sealed class ServerFacts(ChromaHttp http)
{
    private Task<(int MaxBatchSize, bool Base64)>? _facts;

    public async Task<(int MaxBatchSize, bool Base64)> GetAsync(CancellationToken cancellationToken)
    {
        var task = _facts;
        if (task is null || task.IsFaulted || task.IsCanceled)
        {
            task = LoadAsync(cancellationToken);
            _facts = task;
        }

        return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<(int, bool)> LoadAsync(CancellationToken cancellationToken)
    {
        using var doc = await http.SendAsync(HttpMethod.Get, "api/v2/pre-flight-checks", null, "pre-flight checks", cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var max = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("max_batch_size", out var m) && m.TryGetInt32(out var n) && n > 0 ? n : int.MaxValue;
        var base64 = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("supports_base64_encoding", out var b) && b.ValueKind == JsonValueKind.True;
        return (max, base64);
    }
}
