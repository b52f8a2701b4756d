using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>
/// The keys dashboard's JSON API and its security properties (issue #16): admin-key login into an opaque session
/// cookie, CSRF token and same-origin checks on every change, idle expiry, headers, loopback only, throttled failures,
/// and no secret in any answer but create and roll.
/// </summary>
public sealed class DashboardApiTests : IAsyncLifetime
{
    private DashboardFixture _host = null!;

    public async Task InitializeAsync() => _host = await DashboardFixture.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<DashboardClient> LoggedIn()
    {
        var client = _host.Client();
        (await client.LoginAsync(_host.AdminKey)).Status.Should().Be(HttpStatusCode.OK);
        return client;
    }

    private static async Task<(string Id, string Secret)> CreateKey(DashboardClient client, string name = "reader")
    {
        var (status, body, _) = await client.PostAsync("/dashboard/api/keys",
            $$"""{"name":"{{name}}","actions":["collection:count","db:list_collections","db:create_collection"],"resources":["default_tenant/default_database"]}""");
        status.Should().Be(HttpStatusCode.Created, body.ToString());
        return (body.GetProperty("key").GetProperty("keyId").GetString()!, body.GetProperty("secret").GetString()!);
    }

    public static TheoryData<string, string> EveryApiRoute => new()
    {
        { "GET", "/dashboard/api/session" },
        { "GET", "/dashboard/api/keys" },
        { "POST", "/dashboard/api/keys" },
        { "POST", "/dashboard/api/keys/abc/roll" },
        { "POST", "/dashboard/api/keys/abc/disable" },
        { "POST", "/dashboard/api/keys/abc/enable" },
        { "POST", "/dashboard/api/keys/abc/revoke" },
        { "GET", "/dashboard/api/keys/abc/usage" },
        { "GET", "/dashboard/api/audit" },
        { "POST", "/dashboard/api/logout" },
    };

    [Theory]
    [MemberData(nameof(EveryApiRoute))]
    public async Task Api_route_answers_401_when_no_session_cookie_is_sent(string method, string path)
    {
        using var client = _host.Client();

        var (status, body, _) = await client.SendAsync(new HttpMethod(method), path, method == "POST" ? "{}" : null);

        status.Should().Be(HttpStatusCode.Unauthorized);
        body.GetProperty("error").GetString().Should().Contain("log in");
    }

    [Fact]
    public async Task Api_route_answers_401_when_cookie_holds_an_unknown_session_id()
    {
        using var client = _host.Client();
        client.Cookies.Add(_host.BaseAddress, new Cookie("ecdash_session", "forged-session-id", "/dashboard"));

        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Login_sets_an_HttpOnly_SameSite_Strict_session_cookie_on_path_dashboard_when_admin_key_is_given()
    {
        using var client = _host.Client();

        var (status, body, response) = await client.LoginAsync(_host.AdminKey);

        status.Should().Be(HttpStatusCode.OK);
        var cookie = response.Headers.GetValues("Set-Cookie").Should().ContainSingle().Subject;
        var parts = cookie.Split(';', StringSplitOptions.TrimEntries);
        parts[0].Should().StartWith("ecdash_session=");
        var value = parts[0]["ecdash_session=".Length..];
        value.Length.Should().BeGreaterThanOrEqualTo(43, "the session id is 32 random bytes");
        value.Should().NotContain(_host.AdminKey[..12]).And.NotContain(_host.Store.Authenticate(_host.AdminKey).KeyId);
        parts.Should().Contain("path=/dashboard").And.Contain("samesite=strict").And.Contain("httponly");
        parts.Should().NotContain(p => p.StartsWith("expires", StringComparison.OrdinalIgnoreCase) || p.StartsWith("max-age", StringComparison.OrdinalIgnoreCase),
            "a session cookie lives in memory only");
        parts.Should().NotContain("secure", "the test host is plain http; over https the cookie is Secure");
        body.GetProperty("keyId").GetString().Should().Be(_host.Store.Authenticate(_host.AdminKey).KeyId);
        body.GetProperty("csrf").GetString().Should().NotBeNullOrEmpty().And.NotBe(value);
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_sets_a_Secure_session_cookie_when_served_over_https()
    {
        await using var host = await DashboardFixture.StartAsync(https: true);
        using var client = host.Client();

        var (status, _, response) = await client.LoginAsync(host.AdminKey);

        host.BaseAddress.Scheme.Should().Be("https");
        status.Should().Be(HttpStatusCode.OK);
        var parts = response.Headers.GetValues("Set-Cookie").Single().Split(';', StringSplitOptions.TrimEntries);
        parts.Should().Contain("secure").And.Contain("httponly").And.Contain("samesite=strict").And.Contain("path=/dashboard");
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_answers_401_and_sets_no_cookie_when_key_is_wrong_or_not_an_admin_key()
    {
        var admin = await LoggedIn();
        var (_, secret) = await CreateKey(admin);
        using var client = _host.Client();

        var wrong = await client.LoginAsync(_host.AdminKey[..^4] + "AAAA");
        var notAdmin = await client.LoginAsync(secret);
        var empty = await client.LoginAsync("");

        wrong.Status.Should().Be(HttpStatusCode.Unauthorized);
        notAdmin.Status.Should().Be(HttpStatusCode.Unauthorized);
        notAdmin.Body.GetProperty("error").GetString().Should().Contain("admin key");
        empty.Status.Should().Be(HttpStatusCode.Unauthorized);
        wrong.Response.Headers.Contains("Set-Cookie").Should().BeFalse();
        notAdmin.Response.Headers.Contains("Set-Cookie").Should().BeFalse();
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Login_answers_429_with_retry_after_when_failures_exceed_the_burst_until_the_refill()
    {
        using var client = _host.Client();
        for (var i = 0; i < 5; i++)
        {
            (await client.LoginAsync("eck_wrong")).Status.Should().Be(HttpStatusCode.Unauthorized);
        }

        var refused = await client.LoginAsync(_host.AdminKey);

        refused.Status.Should().Be(HttpStatusCode.TooManyRequests, "after 5 failures even the right key waits");
        refused.Response.Headers.RetryAfter.Should().NotBeNull();
        _host.Clock.Advance(TimeSpan.FromSeconds(12));
        (await client.LoginAsync(_host.AdminKey)).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Change_is_refused_403_and_nothing_changes_when_csrf_header_is_missing_or_wrong()
    {
        var client = await LoggedIn();
        var (id, _) = await CreateKey(client, "target");
        var token = client.Csrf!;

        client.Csrf = null;
        var missing = await client.PostAsync($"/dashboard/api/keys/{id}/revoke");
        client.Csrf = token[..^2] + (token[^2..] == "AA" ? "BB" : "AA");
        var wrong = await client.PostAsync($"/dashboard/api/keys/{id}/revoke");
        var create = await client.PostAsync("/dashboard/api/keys", """{"name":"sneaky","actions":["*"]}""");

        missing.Status.Should().Be(HttpStatusCode.Forbidden);
        wrong.Status.Should().Be(HttpStatusCode.Forbidden);
        create.Status.Should().Be(HttpStatusCode.Forbidden);
        missing.Body.GetProperty("error").GetString().Should().Contain("X-CSRF-Token");
        var ring = _host.Store.GetKeyRing(_host.Store.Authenticate(_host.AdminKey));
        ring.GetKey(id).State.Should().Be(ApiKeyState.Active);
        ring.ListKeys().Should().NotContain(k => k.Name == "sneaky");
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    public async Task Change_is_refused_403_when_request_comes_from_another_origin_even_with_the_token(string header, string value)
    {
        var client = await LoggedIn();
        var (id, _) = await CreateKey(client, "target");

        var (status, _, _) = await client.SendAsync(HttpMethod.Post, $"/dashboard/api/keys/{id}/disable", configure: r =>
        {
            r.Headers.Remove(header);
            r.Headers.Add(header, value);
        });

        status.Should().Be(HttpStatusCode.Forbidden);
        _host.Store.GetKeyRing(_host.Store.Authenticate(_host.AdminKey)).GetKey(id).State.Should().Be(ApiKeyState.Active);
    }

    [Fact]
    public async Task Change_and_login_are_refused_403_when_neither_origin_nor_fetch_site_is_sent()
    {
        var client = await LoggedIn();
        var (id, _) = await CreateKey(client, "target");

        var change = await client.SendAsync(HttpMethod.Post, $"/dashboard/api/keys/{id}/disable", configure: r => r.Headers.Remove("Origin"));
        var login = await client.SendAsync(HttpMethod.Post, "/dashboard/api/login", content: new FormUrlEncodedContent([new("key", _host.AdminKey)]), configure: r => r.Headers.Remove("Origin"));

        change.Status.Should().Be(HttpStatusCode.Forbidden);
        login.Status.Should().Be(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Session_ends_when_idle_longer_than_the_timeout_but_not_while_used()
    {
        var client = await LoggedIn();

        _host.Clock.Advance(TimeSpan.FromMinutes(14));
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.OK, "a use refreshes the session");
        _host.Clock.Advance(TimeSpan.FromMinutes(14));
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.OK);
        _host.Clock.Advance(TimeSpan.FromMinutes(15));

        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized);
        _host.Clock.Advance(TimeSpan.FromMinutes(-30));
        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized, "an expired session is gone, not suspended");
    }

    [Fact]
    public async Task Logout_ends_the_session_when_the_old_cookie_is_replayed()
    {
        var client = await LoggedIn();
        var cookie = client.Cookies.GetCookies(new Uri(_host.BaseAddress, "/dashboard/"))["ecdash_session"]!.Value;

        (await client.PostAsync("/dashboard/api/logout")).Status.Should().Be(HttpStatusCode.OK);
        using var replay = _host.Client();
        replay.Cookies.Add(_host.BaseAddress, new Cookie("ecdash_session", cookie, "/dashboard"));

        (await replay.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Session_ends_when_the_admin_key_is_revoked_meanwhile()
    {
        var client = await LoggedIn();
        var ring = _host.Store.GetKeyRing(_host.Store.Authenticate(_host.AdminKey));

        ring.RevokeKey(ring.Context.KeyId);

        (await client.GetAsync("/dashboard/api/keys")).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/dashboard/api/session")).Status.Should().Be(HttpStatusCode.Unauthorized, "the session was ended");
    }
}
