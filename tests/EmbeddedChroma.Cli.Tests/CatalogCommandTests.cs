using System.Text.Json;

namespace EmbeddedChroma.Cli.Tests;

/// <summary><c>tenants | databases | collections list | info | create | delete</c>.</summary>
public sealed class CatalogCommandTests : IDisposable
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
    public void Tenants_databases_and_collections_are_created_listed_shown_and_deleted_when_driven_by_the_commands()
    {
        _store.Run("tenants", "create", "acme").ExitCode.Should().Be(0);
        Json(_store.Run("tenants", "list", "--json")).EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().Contain(["default_tenant", "acme"]);
        Json(_store.Run("tenants", "info", "acme", "--json")).GetProperty("name").GetString().Should().Be("acme");

        _store.Run("databases", "create", "prod", "--tenant", "acme").ExitCode.Should().Be(0);
        Json(_store.Run("databases", "list", "--tenant", "acme", "--json")).EnumerateArray().Select(d => d.GetProperty("name").GetString()).Should().Equal("prod");
        Json(_store.Run("databases", "info", "prod", "--tenant", "acme", "--json")).GetProperty("tenant").GetString().Should().Be("acme");

        var create = _store.Run("collections", "create", "books", "--tenant", "acme", "--database", "prod", "--space", "cosine", "--metadata", "{\"owner\":\"ops\",\"year\":2026}");
        create.ExitCode.Should().Be(0, create.ToString());
        var list = Json(_store.Run("collections", "list", "--tenant", "acme", "--database", "prod", "--json"));
        list.EnumerateArray().Single().GetProperty("name").GetString().Should().Be("books");
        list.EnumerateArray().Single().GetProperty("space").GetString().Should().Be("cosine");
        var info = Json(_store.Run("collections", "info", "books", "--tenant", "acme", "--database", "prod", "--json"));
        info.GetProperty("records").GetString().Should().Be("0");
        info.GetProperty("metadata").GetString().Should().Contain("\"owner\":\"ops\"").And.Contain("\"year\":2026");
        _store.Run("collections", "list").Stdout.Should().NotContain("books", "the default database holds none");

        _store.Run("tenants", "delete", "acme").ExitCode.Should().Be(4, "a tenant with databases is not empty");
        _store.Run("collections", "delete", "books", "--tenant", "acme", "--database", "prod").ExitCode.Should().Be(0);
        _store.Run("databases", "delete", "prod", "--tenant", "acme").ExitCode.Should().Be(0);
        _store.Run("tenants", "delete", "acme").ExitCode.Should().Be(0);
        Json(_store.Run("tenants", "list", "--json")).EnumerateArray().Select(t => t.GetProperty("name").GetString()).Should().NotContain("acme");
    }

    [Fact]
    public void Catalog_commands_exit_2_for_a_missing_name_and_4_for_an_existing_one()
    {
        _store.Run("collections", "info", "nope").ExitCode.Should().Be(2);
        _store.Run("collections", "delete", "nope").ExitCode.Should().Be(2);
        _store.Run("tenants", "info", "nope").ExitCode.Should().Be(2);
        _store.Run("databases", "info", "nope").ExitCode.Should().Be(2);
        _store.Run("collections", "create", "twice").ExitCode.Should().Be(0);
        var again = _store.Run("collections", "create", "twice");
        again.ExitCode.Should().Be(4, again.ToString());
        again.Stderr.Should().MatchRegex("^error: .*\nhint: .*\n$", "an error is one line plus a hint");
        _store.Run("collections", "create", "bad", "--space", "manhattan").ExitCode.Should().Be(1);
    }

    [Fact]
    public void Commands_exit_2_with_a_hint_to_init_when_the_store_does_not_exist()
    {
        var result = CliRunner.Run(["collections", "list", "--store", _store.File("missing")], key: _store.AdminKey);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Should().Contain("embeddedchroma init");
    }

    [Fact]
    public void Errors_print_a_stack_trace_only_when_verbose()
    {
        var quiet = _store.Run("collections", "info", "nope");
        quiet.Stderr.Should().NotContain("   at ");
        var verbose = _store.Run("collections", "info", "nope", "--verbose");
        verbose.ExitCode.Should().Be(2);
        verbose.Stderr.Should().Contain("ChromaNotFoundException").And.Contain("   at ");
    }
}
