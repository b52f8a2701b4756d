using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Embedded-only tenant/database behaviour: ListTenants/DeleteTenant (not in the client contract), GetClient, the arena
/// files of a deleted database, and a delete that fails to commit. The rest is in Contract/TenantDatabaseContract.cs.
/// </summary>
public sealed class TenantDatabaseTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void ListTenants_contains_default_tenant_when_store_is_new()
    {
        _fx.Client.ListTenants().Should().Equal(ChromaStore.DefaultTenant);
        ChromaStore.DefaultTenant.Should().Be("default_tenant");
    }

    [Fact]
    public void CreateTenant_makes_it_listed_and_gettable_when_name_is_new()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateTenant("globex");

        _fx.Client.GetTenant("acme");
        _fx.Client.ListTenants().Should().Equal("default_tenant", "acme", "globex");
    }

    [Fact]
    public void DeleteDatabase_removes_the_database_and_its_collections()
    {
        _fx.Client.CreateDatabase("scratch");
        var scratch = _fx.Client.WithDatabase("scratch");
        var books = scratch.CreateCollection("books");
        books.Add(["a"], [[1f, 2f]]);
        var arena = _fx.ArenaPath(books.Id);
        File.Exists(arena).Should().BeTrue();

        _fx.Client.DeleteDatabase("scratch");

        _fx.Client.ListDatabases().Select(d => d.Name).Should().Equal("default_database");
        var get = () => _fx.Client.GetDatabase("scratch");
        get.Should().Throw<ChromaNotFoundException>();
        var count = () => books.Count();
        count.Should().Throw<ChromaNotFoundException>().WithMessage("*'books'*");
        File.Exists(arena).Should().BeFalse();

        _fx.Client.CreateDatabase("scratch");
        _fx.Client.WithDatabase("scratch").ListCollections().Should().BeEmpty();
        var old = () => _fx.Client.WithDatabase("scratch").GetCollection("books");
        old.Should().Throw<ChromaNotFoundException>();
    }

    [Fact]
    public void DeleteTenant_throws_conflict_when_it_has_databases()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");

        var act = () => _fx.Client.DeleteTenant("acme");

        act.Should().Throw<ChromaConflictException>().WithMessage("*'acme'*");
        _fx.Client.GetTenant("acme");
    }

    [Fact]
    public void DeleteTenant_removes_it_when_it_has_no_databases()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");
        _fx.Client.DeleteDatabase("sales", "acme");

        _fx.Client.DeleteTenant("acme");

        _fx.Client.ListTenants().Should().Equal("default_tenant");
        var get = () => _fx.Client.GetTenant("acme");
        get.Should().Throw<ChromaNotFoundException>();
    }

    [Fact]
    public void DeleteTenant_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.DeleteTenant("ghost");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'ghost'*");
    }

    [Fact]
    public void GetClient_binds_tenant_and_database_when_given()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");

        var client = _fx.Store.GetClient(_fx.AdminKey, "acme", "sales");

        client.Tenant.Should().Be("acme");
        client.Database.Should().Be("sales");
        client.CreateCollection("orders").Database.Should().Be("sales");
    }

    [Fact]
    public void DeleteDatabase_that_fails_to_commit_leaves_its_collections_usable()
    {
        _fx.Client.CreateDatabase("sales");
        var sales = _fx.Client.WithDatabase("sales");
        var orders = sales.CreateCollection("orders");
        orders.Add(["a", "b"], [[1f, 0f], [0f, 1f]], documents: ["alpha", "beta"]);

        // A trigger makes the final DELETE of the database row fail after the collection rows were deleted.
        using (var side = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_fx.Folder, "chroma.sqlite3")};Pooling=False"))
        {
            side.Open();
            using var command = side.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse BEFORE DELETE ON databases BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";
            command.ExecuteNonQuery();
        }

        var act = () => _fx.Client.DeleteDatabase("sales");
        act.Should().Throw<Exception>();

        sales.GetCollection("orders").Count().Should().Be(2);
        orders.Query([[1f, 0f]], 1).Ids[0].Should().Equal("a");
        orders.Get(whereDocument: WhereDocument.Contains("beta")).Ids.Should().Equal("b");
        orders.Add(["c"], [[1f, 1f]]);
        orders.Count().Should().Be(3);

        using (var side = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_fx.Folder, "chroma.sqlite3")};Pooling=False"))
        {
            side.Open();
            using var command = side.CreateCommand();
            command.CommandText = "DROP TRIGGER refuse;";
            command.ExecuteNonQuery();
        }

        _fx.Client.DeleteDatabase("sales");
        var gone = () => orders.Count();
        gone.Should().Throw<ChromaNotFoundException>();
        _fx.Reopen();
        _fx.Client.ListDatabases().Select(d => d.Name).Should().Equal("default_database");
    }
}
