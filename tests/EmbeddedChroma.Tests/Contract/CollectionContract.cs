using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Contract;

/// <summary>Collections: create/get/get-or-create/list/count/delete, handles of deleted collections, and modify (name, metadata, ef_search; fixed settings refused).</summary>
public abstract class CollectionContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    [Fact]
    public async Task CreateCollection_uses_chroma_defaults_when_no_options_are_given()
    {
        var c = await Client.CreateCollectionAsync("books");

        c.Name.Should().Be("books");
        c.Tenant.Should().Be(TenantName(ChromaDefaults.Tenant));
        c.Database.Should().Be("default_database");
        c.Metadata.Should().BeNull();
        c.Dimension.Should().BeNull();
        c.Configuration.Space.Should().Be(DistanceSpace.L2);
        c.Configuration.EfConstruction.Should().Be(100);
        c.Configuration.EfSearch.Should().Be(100);
        c.Configuration.MaxNeighbors.Should().Be(16);
        (await c.CountAsync()).Should().Be(0);
        CollectionConfiguration.SpaceName(c.Configuration.Space).Should().Be("l2");
    }

    [Fact]
    public async Task CreateCollection_keeps_configuration_and_metadata_when_given()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("owner", "ann"), ("version", 2), ("ratio", 2.0), ("public", true)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfConstruction = 200, EfSearch = 50, MaxNeighbors = 32 },
        });

        c.Configuration.Should().Be(new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfConstruction = 200, EfSearch = 50, MaxNeighbors = 32 });
        ShouldHaveMetadata(c.Metadata, ("owner", "ann"), ("version", 2L), ("ratio", 2.0), ("public", true));
        c.Metadata!["version"].Kind.Should().Be(MetadataValueKind.Int);
        c.Metadata["ratio"].Kind.Should().Be(MetadataValueKind.Float);

        var fetched = await Client.GetCollectionAsync("books");
        fetched.Configuration.Should().Be(c.Configuration);
        fetched.Metadata.Should().BeEquivalentTo(c.Metadata);
    }

    [Theory]
    [InlineData(0, 100, 16, "ef_construction")]
    [InlineData(100, 0, 16, "ef_search")]
    [InlineData(100, 100, 1, "max_neighbors")]
    public async Task CreateCollection_throws_validation_when_configuration_is_out_of_range(int efConstruction, int efSearch, int maxNeighbors, string field)
    {
        var act = () => Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EfConstruction = efConstruction, EfSearch = efSearch, MaxNeighbors = maxNeighbors },
        });

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{field}*");
        (await Client.CountCollectionsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task CreateCollection_takes_the_index_settings_from_legacy_hnsw_metadata_when_no_configuration_is_given()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("hnsw:space", "cosine"), ("hnsw:M", 8), ("hnsw:construction_ef", 50), ("hnsw:search_ef", 30), ("hnsw:num_threads", 4), ("hnsw:resize_factor", 1.2), ("owner", "ann")),
        });

        c.Configuration.Should().Be(new CollectionConfiguration { Space = DistanceSpace.Cosine, MaxNeighbors = 8, EfConstruction = 50, EfSearch = 30 });
        ShouldHaveMetadata(c.Metadata, ("hnsw:space", "cosine"), ("hnsw:M", 8L), ("hnsw:construction_ef", 50L), ("hnsw:search_ef", 30L), ("hnsw:num_threads", 4L), ("hnsw:resize_factor", 1.2), ("owner", "ann"));
        (await Client.GetCollectionAsync("books")).Configuration.Space.Should().Be(DistanceSpace.Cosine);

        // The space is really cosine: parallel vectors of different lengths are at distance 0 (l2 would say 1).
        await c.AddAsync(["a"], [[2f, 0f]]);
        var result = await c.QueryAsync([[1f, 0f]], nResults: 1, include: Include.Distances);
        result.Distances![0][0].Should().BeApproximately(0f, 1e-6f);
    }

    [Fact]
    public async Task CreateCollection_keeps_the_configuration_over_legacy_hnsw_metadata_when_both_are_given()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("hnsw:space", "cosine"), ("hnsw:M", 8)),
            Configuration = new CollectionConfiguration { EfSearch = 33 },
        });

        c.Configuration.Should().Be(new CollectionConfiguration { EfSearch = 33 });
        ShouldHaveMetadata(c.Metadata, ("hnsw:space", "cosine"), ("hnsw:M", 8L));
    }

    [Theory]
    [InlineData("hnsw:space", "bogus", "*bogus*")]
    [InlineData("hnsw:space", 1, "*hnsw:space*")]
    [InlineData("hnsw:M", "x", "*hnsw:M*")]
    [InlineData("hnsw:M", -1, "*hnsw:M*")]
    [InlineData("hnsw:search_ef", 1.5, "*hnsw:search_ef*")]
    [InlineData("hnsw:foo", 1, "*hnsw:foo*")]
    public async Task CreateCollection_throws_validation_when_legacy_hnsw_metadata_is_unknown_or_mistyped(string key, object value, string message)
    {
        var act = () => Client.CreateCollectionAsync("books", new CollectionOptions { Metadata = Meta((key, value)) });
        var withConfiguration = () => Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta((key, value)),
            Configuration = new CollectionConfiguration(),
        });

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage(message);
        await withConfiguration.Should().ThrowAsync<ChromaValidationException>().WithMessage(message, "Chroma checks the keys even when a configuration is given");
        (await Client.CountCollectionsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task CreateCollection_throws_validation_when_legacy_hnsw_metadata_is_out_of_range()
    {
        var act = () => Client.CreateCollectionAsync("books", new CollectionOptions { Metadata = Meta(("hnsw:construction_ef", 0)) });

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ef_construction*");
        (await Client.CountCollectionsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task CreateCollection_throws_validation_when_metadata_holds_an_array()
    {
        var act = () => Client.CreateCollectionAsync("books", new CollectionOptions { Metadata = Meta(("tags", new[] { "a" })) });

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'tags'*");
    }

    [Fact]
    public async Task CreateCollection_throws_collection_exists_when_name_exists()
    {
        await Client.CreateCollectionAsync("books");

        var act = () => Client.CreateCollectionAsync("books");

        (await act.Should().ThrowAsync<ChromaCollectionExistsException>().WithMessage("*'books'*")).Which.CollectionName.Should().Be("books");
        (await Client.CountCollectionsAsync()).Should().Be(1);
    }

    [Fact]
    public async Task GetCollection_returns_the_same_collection_when_it_exists()
    {
        var created = await Client.CreateCollectionAsync("books");

        var fetched = await Client.GetCollectionAsync("books");

        fetched.Id.Should().Be(created.Id);
        fetched.Name.Should().Be("books");
    }

    [Fact]
    public async Task GetCollection_throws_not_found_when_missing()
    {
        var act = () => Client.GetCollectionAsync("missing");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'missing'*");
    }

    [Fact]
    public async Task GetOrCreateCollection_creates_it_when_missing()
    {
        var c = await Client.GetOrCreateCollectionAsync("books", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });

        c.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        (await Client.GetCollectionAsync("books")).Id.Should().Be(c.Id);
    }

    [Fact]
    public async Task GetOrCreateCollection_ignores_other_arguments_when_it_exists()
    {
        var created = await Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("a", 1)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine, EfSearch = 42 },
        });
        await created.AddAsync(["x"], [[1f, 2f]]);

        var again = await Client.GetOrCreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("b", 2)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfSearch = 7 },
        });

        again.Id.Should().Be(created.Id);
        again.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        again.Configuration.EfSearch.Should().Be(42);
        ShouldHaveMetadata(again.Metadata, ("a", 1L));
        (await again.CountAsync()).Should().Be(1);
        (await Client.CountCollectionsAsync()).Should().Be(1);
    }

    [Fact]
    public async Task ListCollections_returns_oldest_first()
    {
        foreach (var name in new[] { "zebra", "apple", "mango" })
        {
            await Client.CreateCollectionAsync(name);
        }

        await ListingOrder(["zebra", "apple", "mango"], async () => (await Client.ListCollectionsAsync()).Select(c => c.Name));
    }

    [Fact]
    public async Task ListCollections_applies_limit_and_offset()
    {
        foreach (var name in new[] { "c01", "c02", "c03", "c04", "c05" })
        {
            await Client.CreateCollectionAsync(name);
        }

        var order = await ListingOrder(["c01", "c02", "c03", "c04", "c05"], async () => (await Client.ListCollectionsAsync()).Select(c => c.Name));

        (await Client.ListCollectionsAsync(2, 0)).Select(c => c.Name).Should().Equal(order[0], order[1]);
        (await Client.ListCollectionsAsync(2, 2)).Select(c => c.Name).Should().Equal(order[2], order[3]);
        (await Client.ListCollectionsAsync(null, 4)).Select(c => c.Name).Should().Equal(order[4]);
        (await Client.ListCollectionsAsync(null, 5)).Should().BeEmpty();
        (await Client.ListCollectionsAsync(0, 0)).Should().BeEmpty();
    }

    [Theory]
    [InlineData(-1, 0, "limit")]
    [InlineData(null, -1, "offset")]
    public async Task ListCollections_throws_validation_when_limit_or_offset_is_negative(int? limit, int offset, string field)
    {
        var act = () => Client.ListCollectionsAsync(limit, offset);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{field}*");
    }

    [Fact]
    public async Task ListCollections_describes_each_collection()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions
        {
            Metadata = Meta(("k", "v")),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
        });
        await c.AddAsync(["a"], [[1f, 2f, 3f]]);

        var info = (await Client.ListCollectionsAsync()).Single();

        info.Id.Should().Be(c.Id);
        info.Name.Should().Be("books");
        info.Tenant.Should().Be(TenantName(ChromaDefaults.Tenant));
        info.Database.Should().Be("default_database");
        ShouldHaveMetadata(info.Metadata, ("k", "v"));
        info.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        info.Dimension.Should().Be(3);
    }

    [Fact]
    public async Task CountCollections_counts_collections_of_this_database()
    {
        (await Client.CountCollectionsAsync()).Should().Be(0);
        await Client.CreateCollectionAsync("one");
        await Client.CreateCollectionAsync("two");
        await Client.CreateDatabaseAsync("other");
        await Client.WithDatabase("other").CreateCollectionAsync("three");

        (await Client.CountCollectionsAsync()).Should().Be(2);
        (await Client.WithDatabase("other").CountCollectionsAsync()).Should().Be(1);
    }

    [Fact]
    public async Task DeleteCollection_removes_it_and_its_records()
    {
        var c = await Client.CreateCollectionAsync("books");
        await c.AddAsync(["a", "b"], [[1f], [2f]]);

        await Client.DeleteCollectionAsync("books");

        (await Client.CountCollectionsAsync()).Should().Be(0);
        var get = () => Client.GetCollectionAsync("books");
        await get.Should().ThrowAsync<ChromaNotFoundException>();

        var recreated = await Client.CreateCollectionAsync("books");
        recreated.Id.Should().NotBe(c.Id);
        (await recreated.CountAsync()).Should().Be(0);
        recreated.Dimension.Should().BeNull();
        (await recreated.GetAsync()).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task DeleteCollection_throws_not_found_when_missing()
    {
        var act = () => Client.DeleteCollectionAsync("missing");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'missing'*");
    }

    [Theory]
    [MemberData(nameof(CollectionCases.CollectionCalls), MemberType = typeof(CollectionCases))]
    public async Task Collection_call_throws_not_found_when_collection_was_deleted(string call)
    {
        var c = await Client.CreateCollectionAsync("books");
        await c.AddAsync(["a"], [[1f, 2f]]);
        await Client.DeleteCollectionAsync("books");

        var act = () => CollectionCases.CollectionCallsByName[call](c);

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*'books'*");
    }

    [Fact]
    public async Task Collection_call_throws_not_found_when_deleted_collection_was_recreated_under_same_name()
    {
        var old = await Client.CreateCollectionAsync("books");
        await Client.DeleteCollectionAsync("books");
        var fresh = await Client.CreateCollectionAsync("books");
        await fresh.AddAsync(["a"], [[1f]]);

        var act = () => old.GetAsync();

        await act.Should().ThrowAsync<ChromaNotFoundException>();
        (await fresh.CountAsync()).Should().Be(1);
    }

    [Fact]
    public async Task Modify_renames_when_name_is_new()
    {
        var c = await Client.CreateCollectionAsync("books");
        await c.AddAsync(["a"], [[1f]]);

        await c.ModifyAsync(name: "novels");

        c.Name.Should().Be("novels");
        (await Client.GetCollectionAsync("novels")).Id.Should().Be(c.Id);
        (await (await Client.GetCollectionAsync("novels")).CountAsync()).Should().Be(1);
        var old = () => Client.GetCollectionAsync("books");
        await old.Should().ThrowAsync<ChromaNotFoundException>();
        (await Client.ListCollectionsAsync()).Select(i => i.Name).Should().Equal("novels");
    }

    [Fact]
    public async Task Modify_throws_collection_exists_when_new_name_exists()
    {
        var c = await Client.CreateCollectionAsync("books");
        await Client.CreateCollectionAsync("novels");

        var act = () => c.ModifyAsync(name: "novels");

        (await act.Should().ThrowAsync<ChromaCollectionExistsException>().WithMessage("*'novels'*")).Which.CollectionName.Should().Be("novels");
        c.Name.Should().Be("books");
    }

    [Fact]
    public async Task Modify_accepts_the_current_name_when_renaming_to_itself()
    {
        var c = await Client.CreateCollectionAsync("books");

        await c.ModifyAsync(name: "books");

        c.Name.Should().Be("books");
    }

    [Fact]
    public async Task Modify_throws_validation_when_new_name_is_invalid()
    {
        var c = await Client.CreateCollectionAsync("books");

        var act = () => c.ModifyAsync(name: "-bad-");

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'-bad-'*");
        c.Name.Should().Be("books");
    }

    [Fact]
    public async Task Modify_replaces_metadata_when_metadata_is_given()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions { Metadata = Meta(("a", 1), ("b", "x")) });

        await c.ModifyAsync(metadata: Meta(("c", 2.5)));

        ShouldHaveMetadata(c.Metadata, ("c", 2.5));
        ShouldHaveMetadata((await Client.GetCollectionAsync("books")).Metadata, ("c", 2.5));
    }

    [Fact]
    public async Task Modify_keeps_metadata_when_only_name_changes()
    {
        var c = await Client.CreateCollectionAsync("books", new CollectionOptions { Metadata = Meta(("a", 1)) });

        await c.ModifyAsync(name: "novels");

        ShouldHaveMetadata((await Client.GetCollectionAsync("novels")).Metadata, ("a", 1L));
    }

    [Theory]
    [MemberData(nameof(CollectionCases.FixedSettingChanges), MemberType = typeof(CollectionCases))]
    public async Task Modify_throws_validation_when_a_fixed_setting_changes(string field, CollectionConfigurationUpdate update)
    {
        var c = await Client.CreateCollectionAsync("books");

        var act = () => c.ModifyAsync(name: "renamed", configuration: update);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{field}*");
        c.Name.Should().Be("books");
        c.Configuration.Should().Be(new CollectionConfiguration());
    }

    [Fact]
    public async Task Modify_accepts_fixed_settings_when_they_equal_current_values()
    {
        var c = await Client.CreateCollectionAsync("books");

        await c.ModifyAsync(configuration: new CollectionConfigurationUpdate { Space = DistanceSpace.L2, EfConstruction = 100, MaxNeighbors = 16 });

        c.Configuration.Should().Be(new CollectionConfiguration());
    }

    [Fact]
    public async Task Modify_changes_ef_search_when_given()
    {
        var c = await Client.CreateCollectionAsync("books");

        await c.ModifyAsync(configuration: new CollectionConfigurationUpdate { EfSearch = 250 });

        c.Configuration.EfSearch.Should().Be(250);
        (await Client.GetCollectionAsync("books")).Configuration.EfSearch.Should().Be(250);
        (await Client.ListCollectionsAsync()).Single().Configuration.EfSearch.Should().Be(250);
    }

    [Fact]
    public async Task Modify_throws_validation_when_ef_search_is_out_of_range()
    {
        var c = await Client.CreateCollectionAsync("books");

        var act = () => c.ModifyAsync(configuration: new CollectionConfigurationUpdate { EfSearch = 0 });

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ef_search*");
        c.Configuration.EfSearch.Should().Be(100);
    }

    [Fact]
    public async Task CreateCollection_allows_same_name_when_databases_differ()
    {
        await Client.CreateDatabaseAsync("other");
        var a = await Client.CreateCollectionAsync("books");
        var b = await Client.WithDatabase("other").CreateCollectionAsync("books");

        a.Id.Should().NotBe(b.Id);
        await a.AddAsync(["only-in-a"], [[1f]]);
        (await b.CountAsync()).Should().Be(0);
    }
}

public sealed class CollectionContractEmbedded : CollectionContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="CollectionContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class CollectionCases
{
    public static TheoryData<string, CollectionConfigurationUpdate> FixedSettingChanges => new()
    {
        { "space", new CollectionConfigurationUpdate { Space = DistanceSpace.Cosine } },
        { "ef_construction", new CollectionConfigurationUpdate { EfConstruction = 50 } },
        { "max_neighbors", new CollectionConfigurationUpdate { MaxNeighbors = 8 } },
    };

    internal static readonly Dictionary<string, Func<IChromaCollection, Task>> CollectionCallsByName = new()
    {
        ["Count"] = c => c.CountAsync(),
        ["Add"] = c => c.AddAsync(["n"], [[1f, 2f]]),
        ["Upsert"] = c => c.UpsertAsync(["n"], [[1f, 2f]]),
        ["Update"] = c => c.UpdateAsync(["a"], metadatas: [StoreFixture.Meta(("k", 1))]),
        ["Delete"] = c => c.DeleteAsync(["a"]),
        ["Get"] = c => c.GetAsync(),
        ["Peek"] = c => c.PeekAsync(),
        ["Query"] = c => c.QueryAsync([[1f, 2f]]),
        ["Modify"] = c => c.ModifyAsync(name: "renamed"),
    };

    public static TheoryData<string> CollectionCalls => new(CollectionCallsByName.Keys);
}
