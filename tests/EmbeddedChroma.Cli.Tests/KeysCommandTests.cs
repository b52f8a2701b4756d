using System.Text.Json;

namespace EmbeddedChroma.Cli.Tests;

/// <summary><c>keys create | list | show | roll | disable | enable | revoke | usage | audit</c>: scripts' shapes and the one-time secret.</summary>
public sealed class KeysCommandTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    private static JsonElement Json(CliResult result)
    {
        result.ExitCode.Should().Be(0, result.ToString());
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }

    [Fact]
    public void Keys_create_prints_the_secret_once_with_a_warning_and_list_and_show_never_print_it()
    {
        var created = _store.RunPrintingKey("keys", "create", "--name", "web search", "--actions", "collection:query,collection:get", "--actions", "collection:count",
            "--resources", "default_tenant/default_database/books", "--expires", "30d", "--rate", "50:100", "--max-uses", "1000");

        created.ExitCode.Should().Be(0, created.ToString());
        var keys = ApiKeyScanner.Find(created.All);
        keys.Should().ContainSingle();
        created.Stdout.Trim().Should().HaveLength(keys[0].Length, "standard output is the key alone");
        created.Stderr.Should().Contain("shown only this once");

        var list = Json(_store.Run("keys", "list", "--json"));
        list.GetArrayLength().Should().Be(2);
        var info = list.EnumerateArray().Single(k => k.GetProperty("name").GetString() == "web search");
        info.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).Should().BeEquivalentTo(["collection:query", "collection:get", "collection:count"]);
        info.GetProperty("resources")[0].GetString().Should().Be("default_tenant/default_database/books");
        info.GetProperty("state").GetString().Should().Be("Active");
        info.GetProperty("rateLimit").GetProperty("burst").GetInt32().Should().Be(100);
        info.GetProperty("remainingUses").GetInt64().Should().Be(1000);
        info.GetProperty("expiresAt").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow.AddDays(30), TimeSpan.FromMinutes(10));

        var id = info.GetProperty("keyId").GetString()!;
        var show = Json(_store.Run("keys", "show", id, "--json"));
        show.GetProperty("name").GetString().Should().Be("web search");
        _store.Run("keys", "show", id).Stdout.Should().Contain("web search");
        _store.Run("keys", "list").Stdout.Should().Contain(id).And.Contain("web search");
    }

    [Fact]
    public void Keys_roll_disable_enable_revoke_change_the_state_and_the_key_stops_working_when_revoked()
    {
        var (id, key) = _store.CreateKey("app", "*", "*");
        _store.RunWith(key, "collections", "list").ExitCode.Should().Be(0);

        Json(_store.Run("keys", "disable", id, "--json")).GetProperty("state").GetString().Should().Be("Disabled");
        _store.RunWith(key, "collections", "list").ExitCode.Should().Be(3, "a disabled key is refused");
        Json(_store.Run("keys", "enable", id, "--json")).GetProperty("state").GetString().Should().Be("Active");
        _store.RunWith(key, "collections", "list").ExitCode.Should().Be(0);

        var rolled = _store.RunPrintingKey("keys", "roll", id, "--grace", "1h", "--json");
        var successor = Json(rolled);
        var newKey = successor.GetProperty("key").GetString()!;
        var newId = successor.GetProperty("info").GetProperty("keyId").GetString()!;
        ApiKeyScanner.Find(rolled.All).Should().ContainSingle("the successor is printed once");
        Json(_store.Run("keys", "show", id, "--json")).GetProperty("state").GetString().Should().Be("Rotating");
        _store.RunWith(key, "collections", "list").ExitCode.Should().Be(0, "the old key works during the grace period");
        _store.RunWith(newKey, "collections", "list").ExitCode.Should().Be(0);

        var revoked = _store.Run("keys", "revoke", newId);
        revoked.ExitCode.Should().Be(0, revoked.ToString());
        revoked.Stdout.Should().Contain("Revoked");
        _store.RunWith(newKey, "collections", "list").ExitCode.Should().Be(3);
        _store.Run("keys", "enable", newId).ExitCode.Should().NotBe(0, "a revoked key cannot be enabled");
        _store.Run("keys", "show", "nosuchkey123").ExitCode.Should().Be(2);
        _store.Run("keys", "roll", id, "--grace", "soon").ExitCode.Should().Be(1);
    }

    [Fact]
    public void Keys_usage_and_audit_report_calls_and_events_as_json_and_the_audit_chain_verifies()
    {
        var (id, key) = _store.CreateKey("counter", "*", "*");
        _store.RunWith(key, "collections", "list").ExitCode.Should().Be(0);

        var usage = Json(_store.Run("keys", "usage", id, "--json"));
        usage.GetProperty("keyId").GetString().Should().Be(id);
        usage.GetProperty("counts").EnumerateArray().Should().Contain(c => c.GetProperty("outcome").GetString() == "Allowed" && c.GetProperty("count").GetInt64() > 0);
        _store.Run("keys", "usage", id).Stdout.Should().Contain("Allowed");

        var audit = Json(_store.Run("keys", "audit", "--verify", "--json"));
        audit.GetProperty("entries").EnumerateArray().Should().Contain(e => e.GetProperty("keyId").GetString() == id);
        audit.GetProperty("verification").GetProperty("valid").GetBoolean().Should().BeTrue();
        var table = _store.Run("keys", "audit", "--verify");
        table.ExitCode.Should().Be(0, table.ToString());
        table.Stderr.Should().Contain("Audit chain valid");
    }

    [Fact]
    public void Keys_create_exits_1_with_a_hint_when_an_option_value_is_invalid()
    {
        var rate = _store.Run("keys", "create", "--name", "x", "--actions", "*", "--resources", "*", "--rate", "fast");
        rate.ExitCode.Should().Be(1, rate.ToString());
        rate.Stderr.Should().Contain("--rate").And.Contain("hint:");

        var missing = _store.Run("keys", "create", "--name", "x", "--resources", "*");
        missing.ExitCode.Should().Be(1, "--actions is required: " + missing);

        var action = _store.Run("keys", "create", "--name", "x", "--actions", "collection:fly", "--resources", "*");
        action.ExitCode.Should().Be(1, action.ToString());
        Json(_store.Run("keys", "list", "--json")).GetArrayLength().Should().Be(1, "nothing was created");
    }
}
