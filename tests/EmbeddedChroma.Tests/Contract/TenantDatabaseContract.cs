namespace EmbeddedChroma.Tests.Contract;

/// <summary>Tenants and databases through the client: create, get, list, delete, and collections scoped by database.</summary>
public abstract class TenantDatabaseContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    /// <summary>A client for the same caller in another tenant (a client creates, gets and lists databases of its own tenant).</summary>
    private IChromaClient InTenant(string tenant) => Client.WithDatabase(ChromaDefaults.Database, tenant);


    [Fact]
    public async Task ListDatabases_contains_default_database_when_store_is_new()
    {
        (await Client.ListDatabasesAsync()).Should().Equal(new DatabaseInfo(TenantName(ChromaDefaults.Tenant), "default_database"));
        ChromaDefaults.Database.Should().Be("default_database");
        Client.Tenant.Should().Be(TenantName(ChromaDefaults.Tenant));
        Client.Database.Should().Be("default_database");
    }

    [Fact]
    public async Task GetTenant_and_GetDatabase_succeed_when_defaults_exist()
    {
        await Client.GetTenantAsync(TenantName(ChromaDefaults.Tenant));
        (await Client.GetDatabaseAsync("default_database")).Should().Be(new DatabaseInfo(TenantName(ChromaDefaults.Tenant), "default_database"));
    }

    [Fact]
    public async Task CreateTenant_makes_it_gettable_when_name_is_new()
    {
        await Client.CreateTenantAsync(TenantName("acme"));
        await Client.CreateTenantAsync(TenantName("globex"));

        (await Client.GetTenantAsync(TenantName("acme"))).Should().Be(new TenantInfo(TenantName("acme")));
        (await Client.GetTenantAsync(TenantName("globex"))).Should().Be(new TenantInfo(TenantName("globex")));
    }

    [Fact]
    public async Task CreateTenant_throws_conflict_when_name_exists()
    {
        await Client.CreateTenantAsync(TenantName("acme"));

        var act = () => Client.CreateTenantAsync(TenantName("acme"));

        await act.Should().ThrowAsync<ChromaConflictException>().WithMessage($"*'{TenantName("acme")}'*");
    }

    [Fact]
    public async Task CreateTenant_throws_validation_when_name_is_invalid()
    {
        var act = () => Client.CreateTenantAsync("a");

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*tenant*");
    }

    [Fact]
    public async Task GetTenant_throws_not_found_when_missing()
    {
        var act = () => Client.GetTenantAsync("nobody");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'nobody'*");
    }

    [Fact]
    public async Task CreateDatabase_makes_it_listed_and_gettable_when_name_is_new()
    {
        await Client.CreateDatabaseAsync("second");

        (await Client.GetDatabaseAsync("second")).Should().Be(new DatabaseInfo(TenantName(ChromaDefaults.Tenant), "second"));
        (await Client.ListDatabasesAsync()).Select(d => d.Name).Should().Equal("default_database", "second");
    }

    [Fact]
    public async Task CreateDatabase_creates_it_in_the_named_tenant_when_tenant_is_given()
    {
        await Client.CreateTenantAsync(TenantName("acme"));
        await InTenant(TenantName("acme")).CreateDatabaseAsync("sales");

        (await InTenant(TenantName("acme")).GetDatabaseAsync("sales")).Should().Be(new DatabaseInfo(TenantName("acme"), "sales"));
        (await InTenant(TenantName("acme")).ListDatabasesAsync()).Should().Equal(new DatabaseInfo(TenantName("acme"), "sales"));
        (await Client.ListDatabasesAsync()).Select(d => d.Name).Should().Equal("default_database");
    }

    [Fact]
    public async Task CreateDatabase_throws_conflict_when_name_exists_in_tenant()
    {
        await Client.CreateDatabaseAsync("second");

        var act = () => Client.CreateDatabaseAsync("second");

        await act.Should().ThrowAsync<ChromaConflictException>().WithMessage("*'second'*");
    }

    [Fact]
    public async Task CreateDatabase_allows_same_name_when_tenants_differ()
    {
        await Client.CreateTenantAsync(TenantName("acme"));
        await Client.CreateDatabaseAsync("shared");
        await InTenant(TenantName("acme")).CreateDatabaseAsync("shared");

        (await InTenant(TenantName("acme")).GetDatabaseAsync("shared")).Tenant.Should().Be(TenantName("acme"));
        (await Client.GetDatabaseAsync("shared")).Tenant.Should().Be(TenantName(ChromaDefaults.Tenant));
    }

    [Fact]
    public async Task CreateDatabase_throws_not_found_when_tenant_is_missing()
    {
        var act = () => InTenant("ghost").CreateDatabaseAsync("db1");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'ghost'*");
    }

    [Fact]
    public async Task GetDatabase_throws_not_found_when_missing()
    {
        var act = () => Client.GetDatabaseAsync("nothere");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'nothere'*");
    }

    [Fact]
    public async Task ListDatabases_returns_oldest_first_with_limit_and_offset()
    {
        foreach (var name in new[] { "zeta", "alpha", "mid" })
        {
            await Client.CreateDatabaseAsync(name);
        }

        var order = await ListingOrder(["default_database", "zeta", "alpha", "mid"], async () => (await Client.ListDatabasesAsync()).Select(d => d.Name));
        (await Client.ListDatabasesAsync(2, 0)).Select(d => d.Name).Should().Equal(order[0], order[1]);
        (await Client.ListDatabasesAsync(2, 1)).Select(d => d.Name).Should().Equal(order[1], order[2]);
        (await Client.ListDatabasesAsync(null, 3)).Select(d => d.Name).Should().Equal(order[3]);
        (await Client.ListDatabasesAsync(null, 10)).Should().BeEmpty();
    }

    [Fact]
    public async Task ListDatabases_throws_not_found_when_tenant_is_missing()
    {
        var act = () => InTenant("ghost").ListDatabasesAsync();

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'ghost'*");
    }

    [Fact]
    public async Task DeleteDatabase_removes_the_database_and_its_collections()
    {
        await Client.CreateDatabaseAsync("scratch");
        var scratch = Client.WithDatabase("scratch");
        var books = await scratch.CreateCollectionAsync("books");
        await books.AddAsync(["a"], [[1f, 2f]]);

        await Client.DeleteDatabaseAsync("scratch");

        (await Client.ListDatabasesAsync()).Select(d => d.Name).Should().Equal("default_database");
        var get = () => Client.GetDatabaseAsync("scratch");
        await get.Should().ThrowAsync<ChromaNotFoundException>();
        var count = () => books.CountAsync();
        await count.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'books'*");

        await Client.CreateDatabaseAsync("scratch");
        (await Client.WithDatabase("scratch").ListCollectionsAsync()).Should().BeEmpty();
        var old = () => Client.WithDatabase("scratch").GetCollectionAsync("books");
        await old.Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task DeleteDatabase_leaves_other_databases_collections_when_names_repeat()
    {
        await Client.CreateDatabaseAsync("other");
        var other = Client.WithDatabase("other");
        var inOther = await other.CreateCollectionAsync("books");
        var inDefault = await Client.CreateCollectionAsync("books");
        await inDefault.AddAsync(["kept"], [[1f]]);
        await inOther.AddAsync(["gone"], [[1f]]);

        await Client.DeleteDatabaseAsync("other");

        (await inDefault.GetAsync()).Ids.Should().Equal("kept");
        (await Client.GetCollectionAsync("books")).Id.Should().Be(inDefault.Id);
    }

    [Fact]
    public async Task DeleteDatabase_throws_not_found_when_missing()
    {
        var act = () => Client.DeleteDatabaseAsync("ghost");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'ghost'*");
    }




    [Fact]
    public async Task WithDatabase_scopes_collections_when_databases_differ()
    {
        await Client.CreateTenantAsync(TenantName("acme"));
        await InTenant(TenantName("acme")).CreateDatabaseAsync("sales");
        var sales = Client.WithDatabase("sales", TenantName("acme"));

        var c = await sales.CreateCollectionAsync("orders");

        c.Tenant.Should().Be(TenantName("acme"));
        c.Database.Should().Be("sales");
        (await sales.ListCollectionsAsync()).Select(i => i.Name).Should().Equal("orders");
        (await Client.ListCollectionsAsync()).Should().BeEmpty();
        var get = () => Client.GetCollectionAsync("orders");
        await get.Should().ThrowAsync<ChromaNotFoundException>();
    }

}

public sealed class TenantDatabaseContractEmbedded : TenantDatabaseContract<EmbeddedTarget>;
