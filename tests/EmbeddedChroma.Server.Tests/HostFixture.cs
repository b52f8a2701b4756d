using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// A fresh store in a temporary folder served by <see cref="ChromaEndpoints.MapChroma"/> on Kestrel at a free loopback
/// port, with every log line captured (to prove no key is ever logged). Disposing stops the host, closes the store
/// and deletes the folder.
/// </summary>
public sealed class HostFixture : IAsyncDisposable
{
    public const string Db = "/api/v2/tenants/default_tenant/databases/default_database";

    private readonly WebApplication _app;

    private HostFixture(string folder, ChromaStore store, string adminKey, WebApplication app, Uri baseAddress, CapturedLogs logs)
    {
        Folder = folder;
        Store = store;
        AdminKey = adminKey;
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
    }

    public string Folder { get; }

    public ChromaStore Store { get; }

    public string AdminKey { get; }

    public Uri BaseAddress { get; }

    public CapturedLogs Logs { get; }

    public static async Task<HostFixture> StartAsync(ChromaServerOptions? options = null, ChromaStoreOptions? storeOptions = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ec-host-" + Guid.NewGuid().ToString("N"));
        var store = ChromaStore.Create(folder, out var adminKey, storeOptions);
        var logs = new CapturedLogs();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        var app = builder.Build();
        app.MapChroma(store, options);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HostFixture(folder, store, adminKey, app, new Uri(address), logs);
    }

    /// <summary>An HTTP client sending <paramref name="key"/> as a bearer token (the admin key by default; <c>""</c> for none).</summary>
    public HttpClient Http(string? key = null)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        key ??= AdminKey;
        if (key.Length > 0)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>A key with the given actions on the given resources.</summary>
    public string IssueKey(string name, IReadOnlyList<string> actions, IReadOnlyList<string> resources, ApiKeyRateLimit? rateLimit = null) =>
        Store.GetKeyRing(Store.Authenticate(AdminKey)).CreateKey(new ApiKeySpec { Name = name, Actions = actions, Resources = resources, RateLimit = rateLimit }).Key;

    public void RevokeKey(string key) =>
        Store.GetKeyRing(Store.Authenticate(AdminKey)).RevokeKey(Store.Authenticate(key).KeyId);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Store.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Every log line written while the host ran.</summary>
    public sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines.ToArray();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = new StringBuilder().Append(category).Append(' ').Append(formatter(state, exception));
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (k, v) in pairs)
                    {
                        line.Append(' ').Append(k).Append('=').Append(v);
                    }
                }

                if (exception is not null)
                {
                    line.Append(' ').Append(exception);
                }

                owner._lines.Enqueue(line.ToString());
            }
        }
    }
}

/// <summary>Small helpers for JSON requests and answers.</summary>
public static class Wire
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(this HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : Json(json) };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response.StatusCode, body);
    }

    public static Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(this HttpClient http, string path, string json) => http.SendAsync(HttpMethod.Post, path, json);

    public static Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(this HttpClient http, string path) => http.SendAsync(HttpMethod.Get, path);

    /// <summary>Creates a collection and returns its id.</summary>
    public static async Task<string> CreateCollectionAsync(this HttpClient http, string name, string extra = "")
    {
        var (status, body) = await http.PostAsync(HostFixture.Db + "/collections", $"{{\"name\":\"{name}\"{extra}}}");
        status.Should().Be(HttpStatusCode.OK, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    public static string Error(this JsonElement body) => body.GetProperty("error").GetString()!;

    public static string Message(this JsonElement body) => body.GetProperty("message").GetString()!;
}
