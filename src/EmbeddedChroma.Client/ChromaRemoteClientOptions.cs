namespace EmbeddedChroma.Client;

/// <summary>How a <see cref="ChromaRemoteClient"/> presents its key: Chroma's two token headers.</summary>
public enum ChromaTokenHeader
{
    /// <summary><c>Authorization: Bearer &lt;key&gt;</c> (Chroma's default, RFC 6750).</summary>
    AuthorizationBearer = 0,

    /// <summary><c>X-Chroma-Token: &lt;key&gt;</c>.</summary>
    XChromaToken = 1,
}

/// <summary>Configuration of a <see cref="ChromaRemoteClient"/>: where the server is, who the caller is, and how calls are retried.</summary>
public sealed record ChromaRemoteClientOptions
{
    /// <summary>The server's address, e.g. <c>http://localhost:8000</c> (the <c>/api/v2</c> routes are appended). It may not carry a user, password or query: keys travel only in a header.</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>The key sent with every request, or <see langword="null"/> for a server without authentication (Chroma's own server by default).</summary>
    public ChromaCredential? Credential { get; init; }

    /// <summary>The header the key is sent in (default <c>Authorization: Bearer</c>).</summary>
    public ChromaTokenHeader TokenHeader { get; init; } = ChromaTokenHeader.AuthorizationBearer;

    /// <summary>The tenant of the client (default <c>default_tenant</c>).</summary>
    public string Tenant { get; init; } = ChromaDefaults.Tenant;

    /// <summary>The database of the client (default <c>default_database</c>).</summary>
    public string Database { get; init; } = ChromaDefaults.Database;

    /// <summary>How long one attempt of a request may take before it fails with a <see cref="ChromaTransportException"/> (default 100 seconds).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>How many times a request the server refused with 429 or 503 is sent again (default 3; 0 disables retries).</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>The first back-off delay when the server gives no <c>Retry-After</c>; it doubles with each retry (default 200 ms).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest the client waits before a retry; a <c>Retry-After</c> beyond it is not waited for: the call fails at once with the server's answer (default 30 seconds).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An <see cref="HttpClient"/> to send requests with (not disposed by the client), or <see langword="null"/>.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>A factory to obtain the <see cref="HttpClient"/> from (named <see cref="HttpClientName"/>) when <see cref="HttpClient"/> is not given.</summary>
    public IHttpClientFactory? HttpClientFactory { get; init; }

    /// <summary>The name of the client asked of <see cref="HttpClientFactory"/> (default <c>EmbeddedChroma</c>).</summary>
    public string HttpClientName { get; init; } = "EmbeddedChroma";
}
