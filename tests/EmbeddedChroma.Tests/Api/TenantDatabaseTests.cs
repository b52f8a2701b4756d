using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

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
    public void ListDatabases_contains_default_database_when_store_is_new()
    {
        _fx.Client.ListDatabases().Should().Equal(new DatabaseInfo("default_tenant", "default_database"));
        ChromaStore.DefaultDatabase.Should().Be("default_database");
        _fx.Client.Tenant.Should().Be("default_tenant");
        _fx.Client.Database.Should().Be("default_database");
    }

    [Fact]
    public void GetTenant_and_GetDatabase_succeed_when_defaults_exist()
    {
        _fx.Client.GetTenant("default_tenant");
        _fx.Client.GetDatabase("default_database").Should().Be(new DatabaseInfo("default_tenant", "default_database"));
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
    public void CreateTenant_throws_conflict_when_name_exists()
    {
        _fx.Client.CreateTenant("acme");

        var act = () => _fx.Client.CreateTenant("acme");

        act.Should().Throw<ChromaConflictException>().WithMessage("*'acme'*");
    }

    [Fact]
    public void CreateTenant_throws_validation_when_name_is_invalid()
    {
        var act = () => _fx.Client.CreateTenant("a");

        act.Should().Throw<ChromaValidationException>().WithMessage("*tenant*");
    }

    [Fact]
    public void GetTenant_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.GetTenant("nobody");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'nobody'*");
    }

    [Fact]
    public void CreateDatabase_makes_it_listed_and_gettable_when_name_is_new()
    {
        _fx.Client.CreateDatabase("second");

        _fx.Client.GetDatabase("second").Should().Be(new DatabaseInfo("default_tenant", "second"));
        _fx.Client.ListDatabases().Select(d => d.Name).Should().Equal("default_database", "second");
    }

    [Fact]
    public void CreateDatabase_creates_it_in_the_named_tenant_when_tenant_is_given()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");

        _fx.Client.GetDatabase("sales", "acme").Should().Be(new DatabaseInfo("acme", "sales"));
        _fx.Client.ListDatabases("acme").Should().Equal(new DatabaseInfo("acme", "sales"));
        _fx.Client.ListDatabases().Select(d => d.Name).Should().Equal("default_database");
    }

    [Fact]
    public void CreateDatabase_throws_conflict_when_name_exists_in_tenant()
    {
        _fx.Client.CreateDatabase("second");

        var act = () => _fx.Client.CreateDatabase("second");

        act.Should().Throw<ChromaConflictException>().WithMessage("*'second'*");
    }

    [Fact]
    public void CreateDatabase_allows_same_name_when_tenants_differ()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("shared");
        _fx.Client.CreateDatabase("shared", "acme");

        _fx.Client.GetDatabase("shared", "acme").Tenant.Should().Be("acme");
        _fx.Client.GetDatabase("shared").Tenant.Should().Be("default_tenant");
    }

    [Fact]
    public void CreateDatabase_throws_not_found_when_tenant_is_missing()
    {
        var act = () => _fx.Client.CreateDatabase("db1", "ghost");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'ghost'*");
    }

    [Fact]
    public void GetDatabase_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.GetDatabase("nothere");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'nothere'*");
    }

    [Fact]
    public void ListDatabases_returns_oldest_first_with_limit_and_offset()
    {
        foreach (var name in new[] { "zeta", "alpha", "mid" })
        {
            _fx.Client.CreateDatabase(name);
        }

        _fx.Client.ListDatabases().Select(d => d.Name).Should().Equal("default_database", "zeta", "alpha", "mid");
        _fx.Client.ListDatabases(limit: 2).Select(d => d.Name).Should().Equal("default_database", "zeta");
        _fx.Client.ListDatabases(limit: 2, offset: 1).Select(d => d.Name).Should().Equal("zeta", "alpha");
        _fx.Client.ListDatabases(offset: 3).Select(d => d.Name).Should().Equal("mid");
        _fx.Client.ListDatabases(offset: 10).Should().BeEmpty();
    }

    [Fact]
    public void ListDatabases_throws_not_found_when_tenant_is_missing()
    {
        var act = () => _fx.Client.ListDatabases("ghost");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'ghost'*");
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
    public void DeleteDatabase_leaves_other_databases_collections_when_names_repeat()
    {
        _fx.Client.CreateDatabase("other");
        var other = _fx.Client.WithDatabase("other");
        var inOther = other.CreateCollection("books");
        var inDefault = _fx.Client.CreateCollection("books");
        inDefault.Add(["kept"], [[1f]]);
        inOther.Add(["gone"], [[1f]]);

        _fx.Client.DeleteDatabase("other");

        inDefault.Get().Ids.Should().Equal("kept");
        _fx.Client.GetCollection("books").Id.Should().Be(inDefault.Id);
    }

    [Fact]
    public void DeleteDatabase_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.DeleteDatabase("ghost");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'ghost'*");
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
    public void WithDatabase_scopes_collections_when_databases_differ()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");
        var sales = _fx.Client.WithDatabase("sales", "acme");

        var c = sales.CreateCollection("orders");

        c.Tenant.Should().Be("acme");
        c.Database.Should().Be("sales");
        sales.ListCollections().Select(i => i.Name).Should().Equal("orders");
        _fx.Client.ListCollections().Should().BeEmpty();
        var get = () => _fx.Client.GetCollection("orders");
        get.Should().Throw<ChromaNotFoundException>();
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
