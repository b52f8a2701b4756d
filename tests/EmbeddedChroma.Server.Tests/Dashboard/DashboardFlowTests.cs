using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>The dashboard's key management through its API: list, create, roll, disable/enable, revoke, usage, audit; and what every answer carries.</summary>
public sealed class DashboardFlowTests : IAsyncLifetime
{
    private DashboardFixture _host = null!;

    public async Task InitializeAsync() => _host = await DashboardFixture.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private KeyRingClient AdminRing => _host.Store.GetKeyRing(_host.Store.Authenticate(_host.AdminKey));

    private async Task<DashboardClient> LoggedIn()
    {
        var client = _host.Client();
        (await client.LoginAsync(_host.AdminKey)).Status.Should().Be(HttpStatusCode.OK);
        return client;
    }

    private HttpClient Chroma(string key)
    {
        var http = new HttpClient { BaseAddress = _host.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    [Fact]
    public async Task Keys_flow_creates_rolls_disables_enables_and_revokes_when_driven_through_the_api()
    {
        var client = await LoggedIn();

        var created = await client.PostAsync("/dashboard/api/keys", """{"name":"ingest","actions":["collection:add","db:list_collections"],"resources":["default_tenant/default_database"],"expiresAt":"2099-01-01T00:00:00Z","maxUses":500}""");
        created.Status.Should().Be(HttpStatusCode.Created);
        var id = created.Body.GetProperty("key").GetProperty("keyId").GetString()!;
        var secret = created.Body.GetProperty("secret").GetString()!;
        _host.Store.Authenticate(secret).KeyId.Should().Be(id);

        var listed = (await client.GetAsync("/dashboard/api/keys")).Body.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("keyId").GetString() == id);
        listed.GetProperty("name").GetString().Should().Be("ingest");
        listed.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).Should().Equal("collection:add", "db:list_collections");
        listed.GetProperty("resources").EnumerateArray().Select(a => a.GetString()).Should().Equal("default_tenant/default_database");
        listed.GetProperty("expiresAt").GetDateTimeOffset().Should().Be(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero));
        listed.GetProperty("state").GetString().Should().Be("Active");
        listed.GetProperty("lastUsed").ValueKind.Should().Be(JsonValueKind.Null);
        listed.GetProperty("remainingUses").GetInt64().Should().Be(500);

        (await client.PostAsync($"/dashboard/api/keys/{id}/disable")).Body.GetProperty("state").GetString().Should().Be("Disabled");
        (await client.PostAsync($"/dashboard/api/keys/{id}/enable")).Body.GetProperty("state").GetString().Should().Be("Active");

        var rolled = await client.PostAsync($"/dashboard/api/keys/{id}/roll", """{"graceSeconds":3600}""");
        rolled.Status.Should().Be(HttpStatusCode.Created);
        var successor = rolled.Body.GetProperty("secret").GetString()!;
        successor.Should().NotBe(secret);
        AdminRing.GetKey(id).State.Should().Be(ApiKeyState.Rotating);
        _host.Store.Authenticate(secret).KeyId.Should().Be(id, "the old key works during the grace period");

        var successorId = rolled.Body.GetProperty("key").GetProperty("keyId").GetString()!;
        (await client.PostAsync($"/dashboard/api/keys/{successorId}/revoke")).Body.GetProperty("state").GetString().Should().Be("Revoked");
        using var chroma = Chroma(successor);
        (await chroma.GetAsync(HostFixture.Db + "/collections")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Create_answers_400_naming_the_problem_when_spec_is_invalid()
    {
        var client = await LoggedIn();

        var noActions = await client.PostAsync("/dashboard/api/keys", """{"name":"x"}""");
        var badAction = await client.PostAsync("/dashboard/api/keys", """{"name":"x","actions":["collection:fly"]}""");
        var notJson = await client.PostAsync("/dashboard/api/keys", "{nope");
        var badTime = await client.PostAsync("/dashboard/api/keys", """{"name":"x","actions":["*"],"expiresAt":"soon"}""");

        noActions.Status.Should().Be(HttpStatusCode.BadRequest);
        noActions.Body.GetProperty("error").GetString().Should().Contain("actions");
        badAction.Status.Should().Be(HttpStatusCode.BadRequest);
        notJson.Status.Should().Be(HttpStatusCode.BadRequest);
        badTime.Status.Should().Be(HttpStatusCode.BadRequest);
        badTime.Body.GetProperty("error").GetString().Should().Contain("expiresAt");
        AdminRing.ListKeys().Should().ContainSingle("only the admin key exists");
    }

    [Fact]
    public async Task Usage_counts_calls_per_hour_and_action_when_the_created_key_makes_calls()
    {
        var client = await LoggedIn();
        var created = await client.PostAsync("/dashboard/api/keys", """{"name":"counter","actions":["db:list_collections","db:create_collection"],"resources":["default_tenant/default_database"]}""");
        var id = created.Body.GetProperty("key").GetProperty("keyId").GetString()!;
        var before = await client.GetAsync($"/dashboard/api/keys/{id}/usage");
        before.Body.GetProperty("buckets").GetArrayLength().Should().Be(0);

        using var chroma = Chroma(created.Body.GetProperty("secret").GetString()!);
        for (var i = 0; i < 3; i++)
        {
            (await chroma.GetAsync(HostFixture.Db + "/collections")).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var after = await client.GetAsync($"/dashboard/api/keys/{id}/usage?hours=24");

        after.Status.Should().Be(HttpStatusCode.OK);
        after.Body.GetProperty("hours").GetInt32().Should().Be(24);
        var buckets = after.Body.GetProperty("buckets").EnumerateArray().ToList();
        buckets.Should().ContainSingle(b => b.GetProperty("action").GetString() == "db:list_collections" && b.GetProperty("outcome").GetString() == "Allowed")
            .Which.GetProperty("count").GetInt64().Should().Be(3);
        after.Body.GetProperty("totals").EnumerateArray().Should().Contain(t => t.GetProperty("action").GetString() == "db:list_collections" && t.GetProperty("count").GetInt64() == 3);
        after.Body.GetProperty("lastUsed").ValueKind.Should().Be(JsonValueKind.String);
        (await client.GetAsync($"/dashboard/api/keys/{id}/usage?hours=0")).Status.Should().Be(HttpStatusCode.BadRequest);
        (await client.GetAsync("/dashboard/api/keys/nosuchkey/usage")).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Audit_reports_a_valid_chain_and_the_newest_entries_first_when_keys_were_managed()
    {
        var client = await LoggedIn();
        var created = await client.PostAsync("/dashboard/api/keys", """{"name":"audited","actions":["collection:get"]}""");
        var id = created.Body.GetProperty("key").GetProperty("keyId").GetString()!;
        await client.PostAsync($"/dashboard/api/keys/{id}/revoke");

        var (status, body, _) = await client.GetAsync("/dashboard/api/audit");

        status.Should().Be(HttpStatusCode.OK);
        body.GetProperty("verification").GetProperty("valid").GetBoolean().Should().BeTrue();
        body.GetProperty("verification").GetProperty("entries").GetInt64().Should().Be(body.GetProperty("entries").GetArrayLength());
        var entries = body.GetProperty("entries").EnumerateArray().ToList();
        entries[0].GetProperty("event").GetString().Should().Be("key.revoked");
        entries[0].GetProperty("keyId").GetString().Should().Be(id);
        entries.Select(e => e.GetProperty("sequence").GetInt64()).Should().BeInDescendingOrder();
        entries.Should().Contain(e => e.GetProperty("event").GetString() == "key.created" && e.GetProperty("keyId").GetString() == id);
    }

    [Fact]
    public async Task Answers_carry_no_secret_except_the_create_and_roll_answers_when_a_whole_session_is_recorded()
    {
        var client = await LoggedIn();
        var created = await client.PostAsync("/dashboard/api/keys", """{"name":"s","actions":["db:list_collections"],"resources":["default_tenant/default_database"]}""");
        var id = created.Body.GetProperty("key").GetProperty("keyId").GetString()!;
        var first = created.Body.GetProperty("secret").GetString()!;
        using (var chroma = Chroma(first))
        {
            await chroma.GetAsync(HostFixture.Db + "/collections");
        }

        var rolled = await client.PostAsync($"/dashboard/api/keys/{id}/roll", """{"graceSeconds":0}""");
        var second = rolled.Body.GetProperty("secret").GetString()!;
        await client.GetAsync("/dashboard/api/keys");
        await client.GetAsync($"/dashboard/api/keys/{id}/usage");
        await client.GetAsync("/dashboard/api/audit");
        await client.GetAsync("/dashboard/api/session");
        await client.GetAsync("/dashboard/");
        await client.GetAsync("/dashboard/app.js");
        await client.PostAsync("/dashboard/api/logout");

        static string SecretPart(string key) => key[(key.IndexOf('_', 4) + 1)..];
        foreach (var (path, _, headers, body) in client.Seen)
        {
            var text = headers + body;
            text.Should().NotContain(_host.AdminKey, path).And.NotContain(SecretPart(_host.AdminKey), path);
            var mayCarry = path == "/dashboard/api/keys" && body.Contains("\"secret\"", StringComparison.Ordinal) || path.EndsWith("/roll", StringComparison.Ordinal);
            if (!mayCarry)
            {
                text.Should().NotContain(SecretPart(first), path).And.NotContain(SecretPart(second), path);
            }
        }

        client.Seen.Count(s => s.Body.Contains(first, StringComparison.Ordinal)).Should().Be(1, "the created key is shown once");
        client.Seen.Count(s => s.Body.Contains(second, StringComparison.Ordinal)).Should().Be(1, "the successor is shown once");
    }
}
