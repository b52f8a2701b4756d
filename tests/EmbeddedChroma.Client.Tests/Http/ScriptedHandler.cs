using System.Net;
using System.Text;

namespace EmbeddedChroma.Client.Tests.Http;

/// <summary>An <see cref="HttpMessageHandler"/> that answers from a script and records every request (for retry, timeout and header tests).</summary>
public sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly Queue<Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>> _script = new();
    private readonly List<Recorded> _requests = [];

    public sealed record Recorded(HttpMethod Method, Uri Uri, IReadOnlyDictionary<string, string> Headers, string Body);

    public IReadOnlyList<Recorded> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToList();
            }
        }
    }

    /// <summary>Answers a request not in the script (pre-flight checks and anything after the script ran out).</summary>
    public Func<HttpRequestMessage, HttpResponseMessage> Fallback { get; set; } = _ => Json(HttpStatusCode.OK, "{}");

    public ScriptedHandler Then(HttpStatusCode status, string body, Action<HttpResponseMessage>? configure = null)
    {
        _script.Enqueue((_, _) =>
        {
            var response = Json(status, body);
            configure?.Invoke(response);
            return Task.FromResult(response);
        });
        return this;
    }

    public ScriptedHandler Then(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer)
    {
        _script.Enqueue(answer);
        return this;
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (_requests)
        {
            _requests.Add(new Recorded(request.Method, request.RequestUri!, headers, body));
        }

        if (request.RequestUri!.AbsolutePath.EndsWith("/pre-flight-checks", StringComparison.Ordinal))
        {
            return Fallback(request);
        }

        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>? next;
        lock (_script)
        {
            _script.TryDequeue(out next);
        }

        return next is null ? Fallback(request) : await next(request, cancellationToken);
    }
}
