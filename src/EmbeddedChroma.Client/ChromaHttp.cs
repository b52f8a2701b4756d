using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Client;

/// <summary>
/// Sends one Chroma API request: the key in a header, a timeout per attempt, retries for 429/503 honouring
/// <c>Retry-After</c>, and every failure turned into a <see cref="ChromaException"/> (never the key in a message).
/// </summary>
internal sealed class ChromaHttp : IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ChromaRemoteClientOptions _options;
    private readonly Func<double> _jitter;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay;

    public ChromaHttp(ChromaRemoteClientOptions options, Func<TimeSpan, CancellationToken, Task>? delay = null)
    {
        _options = options;
        Endpoint = new Uri(options.BaseAddress.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/", UriKind.Absolute);
        if (options.HttpClient is not null)
        {
            _http = options.HttpClient;
        }
        else if (options.HttpClientFactory is not null)
        {
            _http = options.HttpClientFactory.CreateClient(options.HttpClientName);
        }
        else
        {
            _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _ownsHttp = true;
        }

        _jitter = Random.Shared.NextDouble;
        _delay = delay ?? Task.Delay;
    }

    /// <summary>The server's address, without credentials.</summary>
    public Uri Endpoint { get; }

    /// <summary>Sends a request and returns the parsed answer (a JSON <c>null</c> for an empty body).</summary>
    public async Task<JsonDocument> SendAsync(HttpMethod method, string path, Action<Utf8JsonWriter>? body, string operation, CancellationToken cancellationToken)
    {
        byte[]? payload = null;
        if (body is not null)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                body(writer);
            }

            payload = buffer.WrittenSpan.ToArray();
        }

        var uri = new Uri(Endpoint, path);
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = _options.Credential is null ? null : await _options.Credential.GetKeyAsync(cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(method, uri);
            if (payload is not null)
            {
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = JsonType;
            }

            if (key is not null)
            {
                if (_options.TokenHeader == ChromaTokenHeader.XChromaToken)
                {
                    request.Headers.TryAddWithoutValidation("X-Chroma-Token", key);
                }
                else
                {
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
                }
            }

            int status;
            byte[] answer;
            TimeSpan? retryAfter;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                if (_options.Timeout != System.Threading.Timeout.InfiniteTimeSpan)
                {
                    timeout.CancelAfter(_options.Timeout);
                }

                try
                {
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                    retryAfter = RetryAfter(response);
                    answer = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex)
                {
                    throw new ChromaTransportException(
                        $"{operation}: no answer from {Endpoint} within {_options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (whether the call took effect is unknown).", Endpoint, null, ex);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    throw new ChromaTransportException(
                        $"{operation}: the request to {Endpoint} failed ({ex.GetType().Name}: {Scrub(ex.Message, key)}); whether the call took effect is unknown.", Endpoint, null, ex);
                }
            }

            if (status is >= 200 and < 300)
            {
                return Parse(answer, operation, status);
            }

            if ((status is 429 or 503 || IsTransientServerError(status, answer)) && attempt < _options.MaxRetries)
            {
                var wait = retryAfter ?? Backoff(attempt);
                if (wait <= _options.MaxRetryDelay)
                {
                    await _delay(wait, cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }

            throw Error(status, answer, retryAfter, operation, key);
        }
    }

    /// <summary>
    /// Chroma's single-node server answers 500 "database is locked" when its SQLite file is busy (several writers at
    /// once): the request was not applied, so it is sent again like a 503.
    /// </summary>
    private static bool IsTransientServerError(int status, byte[] answer) =>
        status == 500 && answer.AsSpan().IndexOf("database is locked"u8) >= 0;

    private TimeSpan Backoff(int attempt)
    {
        var ms = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt) * (0.8 + (0.4 * _jitter()));
        return TimeSpan.FromMilliseconds(Math.Min(ms, _options.MaxRetryDelay.TotalMilliseconds));
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private JsonDocument Parse(byte[] answer, string operation, int status)
    {
        if (answer.Length == 0)
        {
            return JsonDocument.Parse("null");
        }

        try
        {
            return JsonDocument.Parse(answer, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            throw new ChromaTransportException($"{operation}: {Endpoint} answered {status} with a body that is not JSON (not a Chroma server?).", Endpoint, status, ex);
        }
    }

    /// <summary>The exception for a refused request: Chroma's error name and message, the status, the hierarchy's best type.</summary>
    private ChromaException Error(int status, byte[] answer, TimeSpan? retryAfter, string operation, string? key)
    {
        string? name = null, message = null;
        try
        {
            using var doc = JsonDocument.Parse(answer);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                name = doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                message = doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            }
        }
        catch (JsonException)
        {
            // Not Chroma's error body (a proxy's page, an empty answer): the status decides alone.
        }

        var said = message is null ? $"HTTP {status}" : $"{Scrub(message, key)} ({name ?? "error"}, HTTP {status})";
        var text = $"{operation}: {said}";
        return status switch
        {
            401 => new ChromaAuthenticationException($"{operation}: the server refused the credential ({said})."),
            403 => new ChromaAuthorizationException($"{operation}: the key may not do this ({said})."),
            429 => new ChromaRateLimitedException($"{operation}: rate limited by the server ({said}).", retryAfter ?? TimeSpan.FromSeconds(1)),
            _ when name == "NotFoundError" || status == 404 => new ChromaNotFoundException(text),
            // Chroma's server answers a rename onto an existing name with a 500 naming SQLite's UNIQUE constraint.
            _ when status == 409 || name is "UniqueConstraintError" || (message?.Contains("already exists", StringComparison.Ordinal) ?? false)
                   || (message?.Contains("UNIQUE constraint failed", StringComparison.Ordinal) ?? false)
                => new ChromaConflictException(text),
            _ when status is 400 or 413 or 422 || name == "InvalidArgumentError" =>
                message is not null && (message.Contains("where", StringComparison.OrdinalIgnoreCase) || message.Contains("operator", StringComparison.OrdinalIgnoreCase))
                    ? new ChromaFilterException(text)
                    : new ChromaValidationException(text),
            _ => new ChromaTransportException($"{operation}: {Endpoint} answered {said}.", Endpoint, status),
        };
    }

    /// <summary>The server's (or the transport's) text with the key masked, escaped and capped, safe to put in a message.</summary>
    private static string Scrub(string text, string? key)
    {
        if (key is not null && key.Length > 0)
        {
            text = text.Replace(key, "***", StringComparison.Ordinal);
        }

        return Echo.Text(text, 512);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
