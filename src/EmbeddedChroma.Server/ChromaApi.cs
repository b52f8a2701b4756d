using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Security;
using EmbeddedChroma.Server.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace EmbeddedChroma.Server;

/// <summary>
/// What every route shares: the body limit, authentication (RFC 6750), the error answer, and one structured log line
/// per request (method, route, status, time, the key's public id; never a key, a header or a body).
/// </summary>
internal sealed partial class ChromaApi
{
    public ChromaApi(ChromaStore store, ChromaServerOptions options, ILogger logger)
    {
        Store = store;
        Options = options;
        Logger = logger;
    }

    public ChromaStore Store { get; }

    public ChromaServerOptions Options { get; }

    public ILogger Logger { get; }

    /// <summary>
    /// The endpoint delegate of a route. A <see cref="Func{HttpContext, Task}"/> rather than a <see cref="RequestDelegate"/>
    /// so that minimal APIs treat it as a route handler, which the OpenAPI document lists.
    /// </summary>
    public Func<HttpContext, Task> Run(Func<ChromaCall, Task> handler) => context => RunAsync(context, handler);

    private async Task RunAsync(HttpContext context, Func<ChromaCall, Task> handler)
    {
        var started = Stopwatch.GetTimestamp();
        string? keyId = null;
        try
        {
            LimitBody(context);
            var key = Authenticate(context);
            keyId = key.KeyId;
            await handler(new ChromaCall(this, context, key, started)).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var answer = e is AnswerException a ? a.Answer : ErrorAnswer.From(e);
            if (answer.Status >= 500)
            {
                // The exception type only: messages of unexpected errors may hold paths; the body says nothing more.
                var route = Route(context);
                var type = e.GetType().Name;
                LogFailure(Logger, context.Request.Method, route, answer.Status, type);
            }

            await WriteError(context, answer).ConfigureAwait(false);
        }
        finally
        {
            if (Logger.IsEnabled(LogLevel.Information))
            {
                var route = Route(context);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                LogRequest(Logger, context.Request.Method, route, context.Response.StatusCode, elapsed, keyId ?? "-");
            }
        }
    }

    private static string Route(HttpContext context) =>
        (context.GetEndpoint() as Microsoft.AspNetCore.Routing.RouteEndpoint)?.RoutePattern.RawText ?? "?";

    private void LimitBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = Options.MaxRequestBodyBytes;
        }

        if (context.Request.ContentLength > Options.MaxRequestBodyBytes)
        {
            throw new AnswerException(new ErrorAnswer(413, "InvalidArgumentError", $"The request body is {context.Request.ContentLength} bytes; this host accepts at most {Options.MaxRequestBodyBytes}."));
        }
    }

    /// <summary>
    /// RFC 6750: no credentials → 401 without an error code; malformed ones (repeated headers, two different keys, a
    /// bearer value that is not a token) → 400 <c>invalid_request</c>; a well-formed key the ring refuses → 401
    /// <c>invalid_token</c>. Another scheme in <c>Authorization</c> (a proxy's Basic) is not ours and is ignored.
    /// </summary>
    private ApiKeyContext Authenticate(HttpContext context)
    {
        var authorizations = context.Request.Headers.Authorization;
        var tokens = context.Request.Headers["X-Chroma-Token"];
        if (authorizations.Count > 1 || tokens.Count > 1)
        {
            throw new AnswerException(ErrorAnswer.InvalidRequest("Send one Authorization or X-Chroma-Token header, not several."));
        }

        var authorization = authorizations.Count == 1 ? authorizations[0] : null;
        var token = tokens.Count == 1 ? tokens[0] : null;
        string? bearer = null;
        if (authorization is not null && IsBearer(authorization))
        {
            bearer = authorization;
            if (Credentials.ParseBearer(authorization) is null)
            {
                throw new AnswerException(ErrorAnswer.InvalidRequest("The Authorization header is not 'Bearer <key>'."));
            }
        }

        if (token is not null && (token.Length is 0 or > Credentials.MaxHeaderLength || !Credentials.IsToken(token)))
        {
            throw new AnswerException(ErrorAnswer.InvalidRequest("The X-Chroma-Token header does not hold a key."));
        }

        if (bearer is null && token is null)
        {
            throw new AnswerException(ErrorAnswer.NoCredentials());
        }

        if (bearer is not null && token is not null && !string.Equals(Credentials.ParseBearer(bearer), token, StringComparison.Ordinal))
        {
            throw new AnswerException(ErrorAnswer.InvalidRequest("Authorization and X-Chroma-Token carry different keys."));
        }

        return Store.AuthenticateHeaders(bearer, token);
    }

    private static bool IsBearer(string authorization) =>
        authorization.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase)
        && (authorization.Length == 6 || authorization[6] == ' ');

    private static async Task WriteError(HttpContext context, ErrorAnswer answer)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = answer.Status;
        if (answer.Challenge is { } challenge)
        {
            context.Response.Headers.WWWAuthenticate = challenge;
        }

        if (answer.RetryAfterHeader is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        context.Response.ContentType = "application/json";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, WireWriter.Options);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("error", answer.Error);
            writer.WriteString("message", answer.Message);
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Route} {Status} in {ElapsedMs:0.0} ms, key {KeyId}")]
    private static partial void LogRequest(ILogger logger, string method, string route, int status, double elapsedMs, string keyId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Method} {Route} failed with {Status}: {ExceptionType}")]
    private static partial void LogFailure(ILogger logger, string method, string route, int status, string exceptionType);

    /// <summary>An answer decided before the store was called (authentication syntax, body size).</summary>
    private sealed class AnswerException(ErrorAnswer answer) : Exception(answer.Message)
    {
        public ErrorAnswer Answer { get; } = answer;
    }
}

/// <summary>One request: its route values, body, key and clients.</summary>
internal sealed class ChromaCall
{
    private readonly ChromaApi _api;

    // Stage stamps (Stopwatch ticks) for the optional Server-Timing header; 0 = the stage did not happen.
    private readonly long _started;
    private readonly long _authenticated;
    private long _bodyStarted;
    private long _bodyRead;
    private long _lookupStarted;
    private long _lookupDone;

    public ChromaCall(ChromaApi api, HttpContext http, ApiKeyContext key, long started = 0)
    {
        _api = api;
        Http = http;
        Key = key;
        if (api.Options.ServerTiming)
        {
            _started = started;
            _authenticated = Stopwatch.GetTimestamp();
        }
    }

    public HttpContext Http { get; }

    public ApiKeyContext Key { get; }

    public ChromaStore Store => _api.Store;

    public ChromaServerOptions Options => _api.Options;

    public string Route(string name) => Http.Request.RouteValues[name] as string ?? string.Empty;

    /// <summary>A client for calls that name their tenant themselves (each call is gated on its own resource).</summary>
    public ChromaClient TenantClient() => new(Store, Key, ChromaDefaults.Tenant, ChromaDefaults.Database);

    /// <summary>The route's database (404, worded as missing, when the key does not reach it).</summary>
    public ChromaClient Client() => Store.GetClient(Key, Route("tenant"), Route("database"));

    /// <summary>The route's collection by id (400 for an id that is not a UUID, as Chroma's server; 404 for a missing or out-of-scope one).</summary>
    public Collection Collection()
    {
        var raw = Route("collection_id");
        if (!Guid.TryParseExact(raw, "D", out var id))
        {
            throw new ChromaValidationException("Collection ID is not a valid UUIDv4");
        }

        try
        {
            if (!Options.ServerTiming)
            {
                return Client().GetCollection(id);
            }

            _lookupStarted = Stopwatch.GetTimestamp();
            var collection = Client().GetCollection(id);
            _lookupDone = Stopwatch.GetTimestamp();
            return collection;
        }
        catch (ChromaNotFoundException)
        {
            // One wording for a missing id, another database's id and an id outside the key's scope.
            throw new ChromaNotFoundException($"Collection [{id}] does not exist.");
        }
    }

    public (int? Limit, int Offset) LimitOffset()
    {
        var query = Http.Request.Query;
        return (Number(query["limit"], "limit"), Number(query["offset"], "offset") ?? 0);
    }

    private static int? Number(StringValues values, string name)
    {
        if (StringValues.IsNullOrEmpty(values))
        {
            return null;
        }

        return int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ChromaValidationException($"Failed to deserialize query string: {name}: expected a non-negative integer.");
    }

    /// <summary>
    /// Reads the whole body into a pooled buffer (sized from <c>Content-Length</c> when sent) and parses it: no
    /// per-request growth copies, and no large-object-heap arrays for big bodies (an add of 100 × 384 is ~200 KB), which
    /// would otherwise cost a gen 2 collection every few dozen adds. Dispose the answer to return the buffer.
    /// </summary>
    public async Task<WireBody> BodyAsync()
    {
        if (Options.ServerTiming)
        {
            _bodyStarted = Stopwatch.GetTimestamp();
        }

        var length = Http.Request.ContentLength;
        var buffer = ArrayPool<byte>.Shared.Rent(length is > 0 and < int.MaxValue ? (int)length : 4096);
        var used = 0;
        try
        {
            while (true)
            {
                if (used == buffer.Length)
                {
                    if (used == length)
                    {
                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, used).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await Http.Request.Body.ReadAsync(buffer.AsMemory(used), Http.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                used += read;
            }

            var body = new WireBody(WireReader.Parse(buffer.AsMemory(0, used)), buffer);
            if (Options.ServerTiming)
            {
                _bodyRead = Stopwatch.GetTimestamp();
            }

            return body;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public async Task Json(int status, Action<Utf8JsonWriter> write)
    {
        if (Options.ServerTiming)
        {
            Http.Response.Headers["Server-Timing"] = ServerTimingHeader(Stopwatch.GetTimestamp());
        }

        Http.Response.StatusCode = status;
        Http.Response.ContentType = "application/json";

        // The whole answer is written into a pooled buffer first, so that it goes out with a Content-Length, headers
        // and body in one send: written straight into the response it went out chunked, in two sends (the body at the
        // flush, the closing chunk when the request ended), and the client read it twice.
        using var buffer = new PooledBufferWriter(4096);
        using (var writer = new Utf8JsonWriter(buffer, WireWriter.Options))
        {
            write(writer);
        }

        Http.Response.ContentLength = buffer.WrittenCount;
        await Http.Response.BodyWriter.WriteAsync(buffer.WrittenMemory, Http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The stages of this request so far (W3C Server-Timing, milliseconds); a stage the route did not have is left out.</summary>
    private string ServerTimingHeader(long now)
    {
        var parts = new List<string>(6) { Stage("auth", _started, _authenticated) };
        if (_bodyRead != 0)
        {
            parts.Add(Stage("body", _bodyStarted, _bodyRead));
        }

        var storeFrom = _authenticated;
        if (_lookupDone != 0)
        {
            if (_bodyRead != 0 && _lookupStarted >= _bodyRead)
            {
                parts.Add(Stage("parse", _bodyRead, _lookupStarted));
            }

            parts.Add(Stage("lookup", _lookupStarted, _lookupDone));
            storeFrom = _lookupDone;
        }
        else if (_bodyRead != 0)
        {
            storeFrom = _bodyRead;
        }

        parts.Add(Stage("store", storeFrom, now));
        parts.Add(Stage("total", _started, now));
        return string.Join(", ", parts);

        static string Stage(string name, long from, long to) =>
            string.Create(CultureInfo.InvariantCulture, $"{name};dur={Stopwatch.GetElapsedTime(from, to).TotalMilliseconds:0.###}");
    }

    public Task EmptyObject(int status) => Json(status, w =>
    {
        w.WriteStartObject();
        w.WriteEndObject();
    });
}

/// <summary>A parsed request body over a pooled buffer; disposing it disposes the document and returns the buffer.</summary>
internal sealed class WireBody(JsonDocument document, byte[] buffer) : IDisposable
{
    private byte[]? _buffer = buffer;

    public JsonElement RootElement => document.RootElement;

    public void Dispose()
    {
        document.Dispose();
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
