using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EmbeddedChroma.Server.Dashboard;

/// <summary>The dashboard's request pipeline (access checks, security headers, errors) and its JSON handlers.</summary>
internal sealed class DashboardApi
{
    public const string CookieName = "ecdash_session";
    public const string CsrfHeader = "X-CSRF-Token";
    private const long MaxBodyBytes = 64 * 1024;

    /// <summary>Scripts, styles and requests only from the page's own origin; no inline script, no framing, no plugins.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    private readonly ChromaDashboardOptions _options;
    private readonly DashboardSessions _sessions;
    private readonly LoginThrottle _throttle;

    public DashboardApi(ChromaStore store, ChromaDashboardOptions options)
    {
        Store = store;
        _options = options;
        _sessions = new DashboardSessions(options.TimeProvider, options.SessionIdleTimeout);
        _throttle = new LoginThrottle(options);
    }

    public ChromaStore Store { get; }

    public enum Access
    {
        /// <summary>The page's files: no session needed.</summary>
        Public,
        /// <summary>The login form: same origin, no session.</summary>
        Login,
        /// <summary>A read: a live session.</summary>
        Session,
        /// <summary>A change: a live session, same origin and the session's CSRF token.</summary>
        SessionChange,
    }

    /// <summary>One request with its session.</summary>
    internal sealed class Call(DashboardApi api, HttpContext http, DashboardSessions.Session? session)
    {
        public DashboardApi Api { get; } = api;

        public HttpContext Http { get; } = http;

        public DashboardSessions.Session Session => session ?? throw new InvalidOperationException("No session.");

        public KeyRingClient Ring => Api.Store.GetKeyRing(Session.Key);

        public string Id => Http.Request.RouteValues["id"] as string ?? string.Empty;
    }

    /// <summary>An answer decided by the pipeline (status and message).</summary>
    private sealed class Refusal(int status, string message, TimeSpan? retryAfter = null) : Exception(message)
    {
        public int Status { get; } = status;

        public TimeSpan? RetryAfter { get; } = retryAfter;
    }

    public Func<HttpContext, Task> Run(Func<Call, Task> handler, Access access) => context => RunAsync(context, handler, access);

    private async Task RunAsync(HttpContext context, Func<Call, Task> handler, Access access)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        try
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = MaxBodyBytes;
            }

            if (context.Request.ContentLength > MaxBodyBytes)
            {
                throw new Refusal(413, "The request body is too large.");
            }

            CheckCaller(context);
            DashboardSessions.Session? session = null;
            if (access is Access.Login or Access.SessionChange)
            {
                CheckSameOrigin(context);
            }

            if (access is Access.Session or Access.SessionChange)
            {
                session = _sessions.Find(context.Request.Cookies[CookieName]) ?? throw new Refusal(401, "Not logged in, or the session expired: log in with the admin key.");
                if (access is Access.SessionChange && !session.CsrfMatches(context.Request.Headers[CsrfHeader].Count == 1 ? context.Request.Headers[CsrfHeader][0] : null))
                {
                    throw new Refusal(403, $"The {CsrfHeader} header is missing or does not match this session.");
                }
            }

            await handler(new Call(this, context, session)).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            var (status, message, retryAfter) = e switch
            {
                Refusal r => (r.Status, r.Message, r.RetryAfter),
                ChromaAuthenticationException => (401, "The key is no longer valid: log in again.", null),
                ChromaRateLimitedException rl => (429, rl.Message, rl.RetryAfter),
                ChromaValidationException or ChromaLimitExceededException => (400, e.Message, null),
                ChromaAuthorizationException => (403, e.Message, null),
                ChromaNotFoundException => (404, e.Message, null),
                ChromaConflictException => (409, e.Message, null),
                ChromaStoreClosedException or ChromaReadOnlyException or ChromaStorageFullException => (503, e.Message, null),
                ChromaException => (500, e.Message, null),
                BadHttpRequestException b => (b.StatusCode, "The request could not be read.", (TimeSpan?)null),
                _ => (500, "The dashboard failed; see the host's log.", (TimeSpan?)null),
            };
            if (e is ChromaAuthenticationException)
            {
                _sessions.End(context.Request.Cookies[CookieName]);
            }

            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }

            if (retryAfter is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            await Json(context, w =>
            {
                w.WriteStartObject();
                w.WriteString("error", message);
                w.WriteEndObject();
            }, status).ConfigureAwait(false);
        }
    }

    /// <summary>Loopback only (address and Host name) unless remote callers are allowed.</summary>
    private void CheckCaller(HttpContext context)
    {
        if (_options.AllowRemote)
        {
            return;
        }

        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            throw new Refusal(403, "The dashboard answers only loopback callers (ChromaDashboardOptions.AllowRemote is off).");
        }

        var host = context.Request.Host.Host;
        var loopbackName = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var named) && IPAddress.IsLoopback(named));
        if (!loopbackName)
        {
            throw new Refusal(403, "The dashboard answers only requests addressed to localhost or a loopback address.");
        }
    }

    /// <summary>A state-changing request must come from the page itself: same-origin Origin, or Sec-Fetch-Site: same-origin.</summary>
    private static void CheckSameOrigin(HttpContext context)
    {
        var request = context.Request;
        var fetchSite = request.Headers["Sec-Fetch-Site"];
        if (fetchSite.Count > 0 && !string.Equals(fetchSite[0], "same-origin", StringComparison.Ordinal))
        {
            throw new Refusal(403, "Cross-site request refused (Sec-Fetch-Site).");
        }

        var origin = request.Headers.Origin;
        if (origin.Count > 0)
        {
            var expected = request.Scheme + "://" + request.Host.Value;
            if (origin.Count != 1 || !string.Equals(origin[0], expected, StringComparison.OrdinalIgnoreCase))
            {
                throw new Refusal(403, "Cross-origin request refused (Origin).");
            }
        }
        else if (fetchSite.Count == 0)
        {
            throw new Refusal(403, "A state-changing request needs a same-origin Origin header.");
        }
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "-";

    // ---------------------------------------------------------------- static files

    private static readonly Dictionary<string, (byte[] Bytes, string Type)> Files = LoadFiles();

    private static Dictionary<string, (byte[], string)> LoadFiles()
    {
        var assembly = typeof(DashboardApi).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml") })
        {
            using var stream = assembly.GetManifestResourceStream("EmbeddedChroma.Server.Dashboard." + name)
                ?? throw new InvalidOperationException($"The dashboard's resource {name} is missing from {assembly.GetName().Name}.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name] = (copy.ToArray(), type);
        }

        return files;
    }

    public static Func<Call, Task> Page(string name) => call =>
    {
        var (bytes, type) = Files[name];
        call.Http.Response.ContentType = type;
        call.Http.Response.ContentLength = bytes.Length;
        return call.Http.Response.Body.WriteAsync(bytes, call.Http.RequestAborted).AsTask();
    };

    // ---------------------------------------------------------------- session

    public async Task Login(Call call)
    {
        var context = call.Http;
        var address = Address(context);
        if (!_throttle.MayTry(address, out var retryAfter))
        {
            throw new Refusal(429, "Too many failed logins; wait before trying again.", retryAfter);
        }

        if (!context.Request.HasFormContentType)
        {
            throw new Refusal(415, "Post the login as a form (application/x-www-form-urlencoded) with the field 'key'.");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var key = form["key"].Count == 1 ? form["key"][0]?.Trim() : null;
        ApiKeyContext authenticated;
        try
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ChromaAuthenticationException("No key was given.");
            }

            authenticated = Store.Authenticate(key);
            var info = Store.GetKeyRing(authenticated).GetKey(authenticated.KeyId);
            if (info.CreatedBy is not null)
            {
                throw new ChromaAuthorizationException("The dashboard needs an admin key.");
            }
        }
        catch (Exception e) when (e is ChromaAuthenticationException or ChromaAuthorizationException or ChromaRateLimitedException or ChromaValidationException)
        {
            _throttle.Failed(address);
            throw new Refusal(e is ChromaRateLimitedException ? 429 : 401,
                e is ChromaAuthorizationException ? "The dashboard needs the store's admin key." : "Login failed: the key is wrong, unknown, disabled, expired or revoked.",
                (e as ChromaRateLimitedException)?.RetryAfter);
        }

        var (id, session) = _sessions.Start(authenticated);
        context.Response.Cookies.Append(CookieName, id, new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = ChromaDashboardEndpoints.Path,
            IsEssential = true,
        });
        await WriteSession(context, session).ConfigureAwait(false);
    }

    public static Task SessionInfo(Call call) => call.Api.WriteSession(call.Http, call.Session);

    private Task WriteSession(HttpContext context, DashboardSessions.Session session) => Json(context, w =>
    {
        w.WriteStartObject();
        w.WriteString("keyId", session.Key.KeyId);
        w.WriteString("keyName", session.Key.KeyName);
        w.WriteString("csrf", session.Csrf);
        w.WriteNumber("idleTimeoutSeconds", (long)_options.SessionIdleTimeout.TotalSeconds);
        w.WriteEndObject();
    });

    public Task Logout(Call call)
    {
        _sessions.End(call.Http.Request.Cookies[CookieName]);
        call.Http.Response.Cookies.Delete(CookieName, new CookieOptions
        {
            HttpOnly = true,
            Secure = call.Http.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = ChromaDashboardEndpoints.Path,
        });
        return Json(call.Http, w =>
        {
            w.WriteStartObject();
            w.WriteEndObject();
        });
    }

    // ---------------------------------------------------------------- keys

    public static Task ListKeys(Call call)
    {
        var keys = call.Ring.ListKeys();
        return Json(call.Http, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            foreach (var key in keys)
            {
                WriteKey(w, key);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    public static async Task CreateKey(Call call)
    {
        using var body = await Body(call).ConfigureAwait(false);
        var root = body.RootElement;
        var spec = new ApiKeySpec
        {
            Name = RequiredString(root, "name"),
            Actions = StringList(root, "actions") ?? throw new ChromaValidationException("'actions' is required: a list of actions such as collection:query."),
            Resources = StringList(root, "resources") ?? ["*"],
            ExpiresAt = OptionalTime(root, "expiresAt"),
            MaxUses = OptionalLong(root, "maxUses"),
        };
        var created = call.Ring.CreateKey(spec);
        await WriteCreated(call.Http, created).ConfigureAwait(false);
    }

    public static async Task RollKey(Call call)
    {
        using var body = await Body(call).ConfigureAwait(false);
        var grace = OptionalLong(body.RootElement, "graceSeconds") ?? 0;
        if (grace is < 0 or > 366L * 24 * 3600)
        {
            throw new ChromaValidationException("'graceSeconds' must be 0 to 366 days in seconds.");
        }

        var created = call.Ring.RotateKey(call.Id, TimeSpan.FromSeconds(grace));
        await WriteCreated(call.Http, created).ConfigureAwait(false);
    }

    public static Task SetState(Call call, string change)
    {
        var ring = call.Ring;
        switch (change)
        {
            case "disable":
                ring.DisableKey(call.Id);
                break;
            case "enable":
                ring.EnableKey(call.Id);
                break;
            default:
                ring.RevokeKey(call.Id);
                break;
        }

        var info = ring.GetKey(call.Id);
        return Json(call.Http, w => WriteKey(w, info));
    }

    /// <summary>The one answer that carries a secret: the new key's text, shown once by the page.</summary>
    private static Task WriteCreated(HttpContext context, CreatedApiKey created) => Json(context, w =>
    {
        w.WriteStartObject();
        w.WriteString("secret", created.Key);
        w.WritePropertyName("key");
        WriteKey(w, created.Info);
        w.WriteEndObject();
    }, status: 201);

    private static void WriteKey(Utf8JsonWriter w, ApiKeyInfo key) => ApiKeyJson.Write(w, key);

    // ---------------------------------------------------------------- usage and audit

    public static Task Usage(Call call)
    {
        var hoursText = call.Http.Request.Query["hours"];
        var hours = 24;
        if (hoursText.Count > 0 && (!int.TryParse(hoursText[0], NumberStyles.None, CultureInfo.InvariantCulture, out hours) || hours is < 1 or > 744))
        {
            throw new ChromaValidationException("'hours' must be 1 to 744.");
        }

        var ring = call.Ring;
        var usage = ring.GetUsage(call.Id);
        var now = call.Api._options.TimeProvider.GetUtcNow();
        var thisHour = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        var from = thisHour - TimeSpan.FromHours(hours - 1);
        var history = ring.GetUsageHistory(call.Id, from);
        return Json(call.Http, w =>
        {
            w.WriteStartObject();
            w.WriteString("keyId", usage.KeyId);
            WriteTime(w, "lastUsed", usage.LastUsed);
            w.WriteString("from", from);
            w.WriteNumber("hours", hours);
            w.WriteStartArray("totals");
            foreach (var ((action, outcome), count) in usage.Counts.OrderBy(p => p.Key.Action, StringComparer.Ordinal).ThenBy(p => p.Key.Outcome))
            {
                w.WriteStartObject();
                w.WriteString("action", action);
                w.WriteString("outcome", outcome.ToString());
                w.WriteNumber("count", count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("buckets");
            foreach (var bucket in history)
            {
                w.WriteStartObject();
                w.WriteString("hour", bucket.Hour);
                w.WriteString("action", bucket.Action);
                w.WriteString("outcome", bucket.Outcome.ToString());
                w.WriteNumber("count", bucket.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    public static Task Audit(Call call)
    {
        var limitText = call.Http.Request.Query["limit"];
        var limit = 200;
        if (limitText.Count > 0 && (!int.TryParse(limitText[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 5000))
        {
            throw new ChromaValidationException("'limit' must be 1 to 5000.");
        }

        var ring = call.Ring;
        var verification = ring.VerifyAudit();
        var entries = ring.ReadAudit(Math.Max(0, verification.Entries - limit), limit);
        return Json(call.Http, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("verification");
            w.WriteBoolean("valid", verification.IsValid);
            w.WriteNumber("entries", verification.Entries);
            if (verification.FirstInvalidSequence is { } first)
            {
                w.WriteNumber("firstInvalidSequence", first);
            }
            else
            {
                w.WriteNull("firstInvalidSequence");
            }

            w.WriteString("headMac", verification.HeadMac);
            w.WriteString("ringProblem", verification.RingProblem);
            w.WriteEndObject();
            w.WriteStartArray("entries");
            for (var i = entries.Count - 1; i >= 0; i--)
            {
                var e = entries[i];
                w.WriteStartObject();
                w.WriteNumber("sequence", e.Sequence);
                w.WriteString("time", e.Time);
                w.WriteString("event", e.Event);
                w.WriteString("keyId", e.KeyId);
                w.WriteString("actorKeyId", e.ActorKeyId);
                w.WriteString("detail", e.Detail);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    // ---------------------------------------------------------------- JSON

    private static async Task Json(HttpContext context, Action<Utf8JsonWriter> write, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            write(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<JsonDocument> Body(Call call)
    {
        var request = call.Http.Request;
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new Refusal(415, "Send the request body as application/json.");
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, call.Http.RequestAborted).ConfigureAwait(false);
        try
        {
            var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new ChromaValidationException("The request body must be a JSON object.");
            }

            return document;
        }
        catch (JsonException)
        {
            throw new ChromaValidationException("The request body is not valid JSON.");
        }
    }

    private static string RequiredString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new ChromaValidationException($"'{name}' is required: a non-empty string.");

    private static string[]? StringList(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
        {
            throw new ChromaValidationException($"'{name}' must be a list of strings.");
        }

        return value.EnumerateArray().Select(v => v.GetString()!.Trim()).Where(v => v.Length > 0).ToArray();
    }

    private static DateTimeOffset? OptionalTime(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var time)
            ? time
            : throw new ChromaValidationException($"'{name}' must be an ISO 8601 time or null.");
    }

    private static long? OptionalLong(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw new ChromaValidationException($"'{name}' must be a whole number or null.");
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            w.WriteString(name, t);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
