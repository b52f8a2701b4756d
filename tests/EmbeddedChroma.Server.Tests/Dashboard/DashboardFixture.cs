using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>A clock that moves only when told to.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// A fresh store served by <see cref="ChromaEndpoints.MapChroma"/> and <see cref="ChromaDashboardEndpoints.MapChromaDashboard"/>
/// on Kestrel at a free loopback port. <paramref name="pretendRemote"/> rewrites every connection's remote address to a
/// non-loopback one before routing (as a caller on another machine would have). Every response seen through
/// <see cref="Client"/> is recorded, to prove which ones carry a secret.
/// </summary>
public sealed class DashboardFixture : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardFixture(string folder, ChromaStore store, string adminKey, WebApplication app, Uri baseAddress, ManualClock clock)
    {
        Folder = folder;
        Store = store;
        AdminKey = adminKey;
        _app = app;
        BaseAddress = baseAddress;
        Clock = clock;
    }

    public string Folder { get; }

    public ChromaStore Store { get; }

    public string AdminKey { get; }

    public Uri BaseAddress { get; }

    public string Origin => BaseAddress.GetLeftPart(UriPartial.Authority);

    public ManualClock Clock { get; }

    public static async Task<DashboardFixture> StartAsync(Func<ChromaDashboardOptions, ChromaDashboardOptions>? configure = null, IPAddress? pretendRemote = null, TimeProvider? storeTime = null, bool https = false)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ec-dash-" + Guid.NewGuid().ToString("N"));
        var store = ChromaStore.Create(folder, out var adminKey, storeTime is null ? null : new ChromaStoreOptions { TimeProvider = storeTime });
        var clock = new ManualClock();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (https)
            {
                listen.UseHttps(SelfSignedLoopbackCertificate());
            }
        }));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        if (pretendRemote is not null)
        {
            app.Use((context, next) =>
            {
                context.Connection.RemoteIpAddress = pretendRemote;
                return next(context);
            });
        }

        app.MapChroma(store);
        var options = new ChromaDashboardOptions { TimeProvider = clock };
        app.MapChromaDashboard(store, configure is null ? options : configure(options));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardFixture(folder, store, adminKey, app, new Uri(address), clock);
    }

    /// <summary>A throwaway certificate for 127.0.0.1 (the test client accepts it).</summary>
    private static X509Certificate2 SelfSignedLoopbackCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    /// <summary>A browser-like client: its own cookie jar, and the page's Origin on every request.</summary>
    public DashboardClient Client() => new(this);

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
}

/// <summary>One "browser": a cookie jar, the CSRF token once logged in, and every answer it received.</summary>
public sealed class DashboardClient : IDisposable
{
    private readonly HttpClient _http;

    public DashboardClient(DashboardFixture host)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler
        {
            CookieContainer = Cookies,
            UseCookies = true,
            AllowAutoRedirect = false,
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        })
        {
            BaseAddress = host.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        _origin = host.Origin;
    }

    private readonly string _origin;

    public CookieContainer Cookies { get; }

    public string? Csrf { get; set; }

    /// <summary>Every answer received: path, status, headers and body text.</summary>
    public List<(string Path, HttpStatusCode Status, string Headers, string Body)> Seen { get; } = [];

    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? json = null,
        Action<HttpRequestMessage>? configure = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content ?? (json is null ? null : new StringContent(json, Encoding.UTF8, "application/json")) };
        request.Headers.Add("Origin", _origin);
        if (method != HttpMethod.Get && Csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", Csrf);
        }

        configure?.Invoke(request);
        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Seen.Add((path, response.StatusCode, response.Headers + response.Content.Headers.ToString(), text));
        var body = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, body, response);
    }

    public Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string path, string? json = null) => SendAsync(HttpMethod.Post, path, json);

    /// <summary>Posts the login form; on success keeps the session's CSRF token.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> LoginAsync(string key)
    {
        var answer = await SendAsync(HttpMethod.Post, "/dashboard/api/login", content: new FormUrlEncodedContent([new("key", key)]));
        if (answer.Status == HttpStatusCode.OK)
        {
            Csrf = answer.Body.GetProperty("csrf").GetString();
        }

        return answer;
    }

    public void Dispose() => _http.Dispose();
}
