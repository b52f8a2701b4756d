using System.Net;
using System.Net.Http.Headers;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// Every route is gated by the key ring, with RFC 6750 answers: 401 (with a challenge; <c>invalid_token</c> only when a
/// token was sent), 403 <c>insufficient_scope</c>, 400 <c>invalid_request</c>, 429 with <c>Retry-After</c>, and 404
/// worded as missing for collections outside the key's scope (issue #14).
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    private HostFixture _host = null!;

    public async Task InitializeAsync() => _host = await HostFixture.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> Send(string path, Action<HttpRequestHeaders> headers, HttpMethod? method = null, string? json = null)
    {
        using var http = _host.Http(string.Empty);
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path) { Content = json is null ? null : Wire.Json(json) };
        headers(request.Headers);
        return await http.SendAsync(request);
    }

    public static TheoryData<string, string> EveryRoute => new()
    {
        { "GET", "/api/v2/heartbeat" },
        { "GET", "/api/v2/version" },
        { "GET", "/api/v2/pre-flight-checks" },
        { "GET", "/api/v2/healthcheck" },
        { "GET", "/api/v2/auth/identity" },
        { "POST", "/api/v2/tenants" },
        { "GET", "/api/v2/tenants/default_tenant" },
        { "GET", "/api/v2/tenants/default_tenant/databases" },
        { "POST", "/api/v2/tenants/default_tenant/databases" },
        { "GET", Db },
        { "DELETE", Db },
        { "GET", Db + "/collections" },
        { "POST", Db + "/collections" },
        { "GET", Db + "/collections_count" },
        { "GET", Db + "/collections/by-id/00000000-0000-0000-0000-000000000000" },
        { "GET", Db + "/collections/books" },
        { "PUT", Db + "/collections/00000000-0000-0000-0000-000000000000" },
        { "DELETE", Db + "/collections/books" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/add" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/upsert" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/update" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/get" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/query" },
        { "POST", Db + "/collections/00000000-0000-0000-0000-000000000000/delete" },
        { "GET", Db + "/collections/00000000-0000-0000-0000-000000000000/count" },
        { "GET", Db + "/collections/00000000-0000-0000-0000-000000000000/indexing_status" },
    };

    [Theory]
    [MemberData(nameof(EveryRoute))]
    public async Task Every_route_answers_401_with_a_bare_challenge_when_no_credentials_are_sent(string method, string path)
    {
        using var response = await Send(path, _ => { }, new HttpMethod(method), method is "POST" or "PUT" ? "{}" : null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer realm=\"chroma\"", "RFC 6750 §3.1: no error code when no credentials were sent");
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        body.Error().Should().Be("AuthError");
    }

    [Theory]
    [MemberData(nameof(EveryRoute))]
    public async Task Every_route_answers_401_invalid_token_when_the_key_is_unknown(string method, string path)
    {
        var wrong = "eck_" + new string('A', 12) + "_" + new string('B', 43);

        using var response = await Send(path, h => h.Authorization = new AuthenticationHeaderValue("Bearer", wrong), new HttpMethod(method), method is "POST" or "PUT" ? "{}" : null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"invalid_token\"");
        (await response.Content.ReadAsStringAsync()).Should().NotContain(wrong);
    }

    [Fact]
    public async Task X_chroma_token_authenticates_like_a_bearer_header()
    {
        using var response = await Send("/api/v2/version", h => h.Add("X-Chroma-Token", _host.AdminKey));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Another_scheme_answers_401_without_an_error_code()
    {
        using var response = await Send("/api/v2/version", h => h.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz"));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Be("Bearer realm=\"chroma\"");
    }

    [Fact]
    public async Task Two_different_keys_answer_400_invalid_request()
    {
        var other = _host.IssueKey("other", [ChromaActions.Get], ["*"]);

        using var response = await Send("/api/v2/version", h =>
        {
            h.Authorization = new AuthenticationHeaderValue("Bearer", _host.AdminKey);
            h.Add("X-Chroma-Token", other);
        });

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"invalid_request\"");
        var text = await response.Content.ReadAsStringAsync();
        text.Should().NotContain(_host.AdminKey).And.NotContain(other);
    }

    [Fact]
    public async Task A_malformed_bearer_token_answers_400_invalid_request()
    {
        using var response = await Send("/api/v2/version", h => h.TryAddWithoutValidation("Authorization", "Bearer a b"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"invalid_request\"");
    }

    [Fact]
    public async Task A_narrow_key_gets_403_insufficient_scope_for_an_action_it_lacks_and_404_outside_its_scope()
    {
        using var admin = _host.Http();
        var booksId = await admin.CreateCollectionAsync("books");
        var secretId = await admin.CreateCollectionAsync("secret");
        await admin.PostAsync($"{Db}/collections/{booksId}/add", """{"ids":["a"],"embeddings":[[1,0]]}""");
        var reader = _host.IssueKey("reader", [ChromaActions.Get, ChromaActions.GetCollection, ChromaActions.Count], ["default_tenant/default_database/books"]);
        using var http = _host.Http(reader);

        (await http.PostAsync($"{Db}/collections/{booksId}/get", "{}")).Body.GetProperty("ids")[0].GetString().Should().Be("a");

        var (status, body) = await http.PostAsync($"{Db}/collections/{booksId}/add", """{"ids":["b"],"embeddings":[[0,1]]}""");
        status.Should().Be(HttpStatusCode.Forbidden);
        body.Error().Should().Be("AuthorizationError");

        var missingId = Guid.NewGuid().ToString();
        var hidden = await http.PostAsync($"{Db}/collections/{secretId}/get", "{}");
        var missing = await http.PostAsync($"{Db}/collections/{missingId}/get", "{}");
        hidden.Status.Should().Be(HttpStatusCode.NotFound);
        hidden.Body.Error().Should().Be("NotFoundError");
        missing.Body.Message().Should().Be($"Collection [{missingId}] does not exist.");
        hidden.Body.Message().Should().Be($"Collection [{secretId}] does not exist.", "an out-of-scope collection is worded as a missing one");
        (await http.GetJsonAsync($"{Db}/collections/secret")).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_403_answer_carries_an_insufficient_scope_challenge()
    {
        var reader = _host.IssueKey("reader", [ChromaActions.Get], ["*"]);

        using var response = await Send("/api/v2/tenants", h => h.Authorization = new AuthenticationHeaderValue("Bearer", reader), HttpMethod.Post, """{"name":"acme"}""");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("error=\"insufficient_scope\"");
    }

    [Fact]
    public async Task A_revoked_key_answers_401_on_its_next_request()
    {
        var key = _host.IssueKey("temp", [ChromaActions.AllData], ["*"]);
        using var http = _host.Http(key);
        (await http.GetJsonAsync(Db + "/collections")).Status.Should().Be(HttpStatusCode.OK);

        _host.RevokeKey(key);

        (await http.GetJsonAsync(Db + "/collections")).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_rate_limited_key_answers_429_with_retry_after()
    {
        var key = _host.IssueKey("slow", [ChromaActions.AllData], ["*"], new ApiKeyRateLimit(0.01, 2));
        using var http = _host.Http(key);
        await http.GetJsonAsync(Db + "/collections");
        await http.GetJsonAsync(Db + "/collections");

        using var response = await http.GetAsync(Db + "/collections");

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta!.Value.TotalSeconds.Should().BeGreaterThanOrEqualTo(1);
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        body.Error().Should().Be("RateLimitError");
    }

    [Fact]
    public async Task Request_logs_name_the_key_id_and_never_the_key()
    {
        using var http = _host.Http();
        await http.CreateCollectionAsync("books");
        await Send("/api/v2/version", h => h.Authorization = new AuthenticationHeaderValue("Bearer", _host.AdminKey + "x"));

        var lines = _host.Logs.Lines;

        lines.Should().Contain(l => l.Contains("/collections") && l.Contains("200") && l.Contains(_host.Store.Authenticate(_host.AdminKey).KeyId));
        lines.Should().NotContain(l => l.Contains(_host.AdminKey, StringComparison.Ordinal));
        string.Join('\n', lines).Should().NotContain(_host.AdminKey[4..20]);
    }
}
