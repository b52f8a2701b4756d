using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class CollectionTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void CreateCollection_uses_chroma_defaults_when_no_options_are_given()
    {
        var c = _fx.Client.CreateCollection("books");

        c.Name.Should().Be("books");
        c.Tenant.Should().Be("default_tenant");
        c.Database.Should().Be("default_database");
        c.Metadata.Should().BeNull();
        c.Dimension.Should().BeNull();
        c.Configuration.Space.Should().Be(DistanceSpace.L2);
        c.Configuration.EfConstruction.Should().Be(100);
        c.Configuration.EfSearch.Should().Be(100);
        c.Configuration.MaxNeighbors.Should().Be(16);
        c.Count().Should().Be(0);
        CollectionConfiguration.SpaceName(c.Configuration.Space).Should().Be("l2");
    }

    [Fact]
    public void CreateCollection_keeps_configuration_and_metadata_when_given()
    {
        var c = _fx.Client.CreateCollection("books", new CollectionOptions
        {
            Metadata = Meta(("owner", "ann"), ("version", 2), ("ratio", 2.0), ("public", true)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfConstruction = 200, EfSearch = 50, MaxNeighbors = 32 },
        });

        c.Configuration.Should().Be(new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfConstruction = 200, EfSearch = 50, MaxNeighbors = 32 });
        ShouldHaveMetadata(c.Metadata, ("owner", "ann"), ("version", 2L), ("ratio", 2.0), ("public", true));
        c.Metadata!["version"].Kind.Should().Be(MetadataValueKind.Int);
        c.Metadata["ratio"].Kind.Should().Be(MetadataValueKind.Float);

        var fetched = _fx.Client.GetCollection("books");
        fetched.Configuration.Should().Be(c.Configuration);
        fetched.Metadata.Should().BeEquivalentTo(c.Metadata);
    }

    [Theory]
    [InlineData(0, 100, 16, "ef_construction")]
    [InlineData(100, 0, 16, "ef_search")]
    [InlineData(100, 100, 1, "max_neighbors")]
    public void CreateCollection_throws_validation_when_configuration_is_out_of_range(int efConstruction, int efSearch, int maxNeighbors, string field)
    {
        var act = () => _fx.Client.CreateCollection("books", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EfConstruction = efConstruction, EfSearch = efSearch, MaxNeighbors = maxNeighbors },
        });

        act.Should().Throw<ChromaValidationException>().WithMessage($"*{field}*");
        _fx.Client.CountCollections().Should().Be(0);
    }

    [Fact]
    public void CreateCollection_throws_validation_when_metadata_holds_an_array()
    {
        var act = () => _fx.Client.CreateCollection("books", new CollectionOptions { Metadata = Meta(("tags", new[] { "a" })) });

        act.Should().Throw<ChromaValidationException>().WithMessage("*'tags'*");
    }

    [Fact]
    public void CreateCollection_throws_conflict_when_name_exists()
    {
        _fx.Client.CreateCollection("books");

        var act = () => _fx.Client.CreateCollection("books");

        act.Should().Throw<ChromaConflictException>().WithMessage("*'books'*");
        _fx.Client.CountCollections().Should().Be(1);
    }

    [Fact]
    public void GetCollection_returns_the_same_collection_when_it_exists()
    {
        var created = _fx.Client.CreateCollection("books");

        var fetched = _fx.Client.GetCollection("books");

        fetched.Id.Should().Be(created.Id);
        fetched.Name.Should().Be("books");
    }

    [Fact]
    public void GetCollection_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.GetCollection("missing");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'missing'*");
    }

    [Fact]
    public void GetOrCreateCollection_creates_it_when_missing()
    {
        var c = _fx.Client.GetOrCreateCollection("books", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });

        c.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        _fx.Client.GetCollection("books").Id.Should().Be(c.Id);
    }

    [Fact]
    public void GetOrCreateCollection_ignores_other_arguments_when_it_exists()
    {
        var created = _fx.Client.CreateCollection("books", new CollectionOptions
        {
            Metadata = Meta(("a", 1)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine, EfSearch = 42 },
        });
        created.Add(["x"], [[1f, 2f]]);

        var again = _fx.Client.GetOrCreateCollection("books", new CollectionOptions
        {
            Metadata = Meta(("b", 2)),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.InnerProduct, EfSearch = 7 },
        });

        again.Id.Should().Be(created.Id);
        again.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        again.Configuration.EfSearch.Should().Be(42);
        ShouldHaveMetadata(again.Metadata, ("a", 1L));
        again.Count().Should().Be(1);
        _fx.Client.CountCollections().Should().Be(1);
    }

    [Fact]
    public void ListCollections_returns_oldest_first()
    {
        foreach (var name in new[] { "zebra", "apple", "mango" })
        {
            _fx.Client.CreateCollection(name);
        }

        _fx.Client.ListCollections().Select(c => c.Name).Should().Equal("zebra", "apple", "mango");
    }

    [Fact]
    public void ListCollections_applies_limit_and_offset()
    {
        foreach (var name in new[] { "c01", "c02", "c03", "c04", "c05" })
        {
            _fx.Client.CreateCollection(name);
        }

        _fx.Client.ListCollections(limit: 2).Select(c => c.Name).Should().Equal("c01", "c02");
        _fx.Client.ListCollections(limit: 2, offset: 2).Select(c => c.Name).Should().Equal("c03", "c04");
        _fx.Client.ListCollections(offset: 4).Select(c => c.Name).Should().Equal("c05");
        _fx.Client.ListCollections(offset: 5).Should().BeEmpty();
        _fx.Client.ListCollections(limit: 0).Should().BeEmpty();
    }

    [Theory]
    [InlineData(-1, 0, "limit")]
    [InlineData(null, -1, "offset")]
    public void ListCollections_throws_validation_when_limit_or_offset_is_negative(int? limit, int offset, string field)
    {
        var act = () => _fx.Client.ListCollections(limit, offset);

        act.Should().Throw<ChromaValidationException>().WithMessage($"*{field}*");
    }

    [Fact]
    public void ListCollections_describes_each_collection()
    {
        var c = _fx.Client.CreateCollection("books", new CollectionOptions
        {
            Metadata = Meta(("k", "v")),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
        });
        c.Add(["a"], [[1f, 2f, 3f]]);

        var info = _fx.Client.ListCollections().Single();

        info.Id.Should().Be(c.Id);
        info.Name.Should().Be("books");
        info.Tenant.Should().Be("default_tenant");
        info.Database.Should().Be("default_database");
        ShouldHaveMetadata(info.Metadata, ("k", "v"));
        info.Configuration.Space.Should().Be(DistanceSpace.Cosine);
        info.Dimension.Should().Be(3);
    }

    [Fact]
    public void CountCollections_counts_collections_of_this_database()
    {
        _fx.Client.CountCollections().Should().Be(0);
        _fx.Client.CreateCollection("one");
        _fx.Client.CreateCollection("two");
        _fx.Client.CreateDatabase("other");
        _fx.Client.WithDatabase("other").CreateCollection("three");

        _fx.Client.CountCollections().Should().Be(2);
        _fx.Client.WithDatabase("other").CountCollections().Should().Be(1);
    }

    [Fact]
    public void DeleteCollection_removes_it_and_its_records()
    {
        var c = _fx.Client.CreateCollection("books");
        c.Add(["a", "b"], [[1f], [2f]]);

        _fx.Client.DeleteCollection("books");

        _fx.Client.CountCollections().Should().Be(0);
        var get = () => _fx.Client.GetCollection("books");
        get.Should().Throw<ChromaNotFoundException>();
        File.Exists(_fx.ArenaPath(c.Id)).Should().BeFalse();

        var recreated = _fx.Client.CreateCollection("books");
        recreated.Id.Should().NotBe(c.Id);
        recreated.Count().Should().Be(0);
        recreated.Dimension.Should().BeNull();
        recreated.Get().Ids.Should().BeEmpty();
    }

    [Fact]
    public void DeleteCollection_throws_not_found_when_missing()
    {
        var act = () => _fx.Client.DeleteCollection("missing");

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'missing'*");
    }

    public static TheoryData<string> CollectionCalls => new(CollectionCallsByName.Keys);

    private static readonly Dictionary<string, Action<Collection>> CollectionCallsByName = new()
    {
        ["Count"] = c => c.Count(),
        ["Add"] = c => c.Add(["n"], [[1f, 2f]]),
        ["Upsert"] = c => c.Upsert(["n"], [[1f, 2f]]),
        ["Update"] = c => c.Update(["a"], metadatas: [Meta(("k", 1))]),
        ["Delete"] = c => c.Delete(["a"]),
        ["Get"] = c => c.Get(),
        ["Peek"] = c => c.Peek(),
        ["Query"] = c => c.Query([[1f, 2f]]),
        ["Modify"] = c => c.Modify(name: "renamed"),
    };

    [Theory]
    [MemberData(nameof(CollectionCalls))]
    public void Collection_call_throws_not_found_when_collection_was_deleted(string call)
    {
        var c = _fx.Client.CreateCollection("books");
        c.Add(["a"], [[1f, 2f]]);
        _fx.Client.DeleteCollection("books");

        var act = () => CollectionCallsByName[call](c);

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*'books'*");
    }

    [Fact]
    public void Collection_call_throws_not_found_when_deleted_collection_was_recreated_under_same_name()
    {
        var old = _fx.Client.CreateCollection("books");
        _fx.Client.DeleteCollection("books");
        var fresh = _fx.Client.CreateCollection("books");
        fresh.Add(["a"], [[1f]]);

        var act = () => old.Get();

        act.Should().Throw<ChromaNotFoundException>();
        fresh.Count().Should().Be(1);
    }

    [Fact]
    public void Modify_renames_when_name_is_new()
    {
        var c = _fx.Client.CreateCollection("books");
        c.Add(["a"], [[1f]]);

        c.Modify(name: "novels");

        c.Name.Should().Be("novels");
        _fx.Client.GetCollection("novels").Id.Should().Be(c.Id);
        _fx.Client.GetCollection("novels").Count().Should().Be(1);
        var old = () => _fx.Client.GetCollection("books");
        old.Should().Throw<ChromaNotFoundException>();
        _fx.Client.ListCollections().Select(i => i.Name).Should().Equal("novels");
    }

    [Fact]
    public void Modify_throws_conflict_when_new_name_exists()
    {
        var c = _fx.Client.CreateCollection("books");
        _fx.Client.CreateCollection("novels");

        var act = () => c.Modify(name: "novels");

        act.Should().Throw<ChromaConflictException>().WithMessage("*'novels'*");
        c.Name.Should().Be("books");
    }

    [Fact]
    public void Modify_accepts_the_current_name_when_renaming_to_itself()
    {
        var c = _fx.Client.CreateCollection("books");

        c.Modify(name: "books");

        c.Name.Should().Be("books");
    }

    [Fact]
    public void Modify_throws_validation_when_new_name_is_invalid()
    {
        var c = _fx.Client.CreateCollection("books");

        var act = () => c.Modify(name: "-bad-");

        act.Should().Throw<ChromaValidationException>().WithMessage("*'-bad-'*");
        c.Name.Should().Be("books");
    }

    [Fact]
    public void Modify_replaces_metadata_when_metadata_is_given()
    {
        var c = _fx.Client.CreateCollection("books", new CollectionOptions { Metadata = Meta(("a", 1), ("b", "x")) });

        c.Modify(metadata: Meta(("c", 2.5)));

        ShouldHaveMetadata(c.Metadata, ("c", 2.5));
        ShouldHaveMetadata(_fx.Client.GetCollection("books").Metadata, ("c", 2.5));
    }

    [Fact]
    public void Modify_keeps_metadata_when_only_name_changes()
    {
        var c = _fx.Client.CreateCollection("books", new CollectionOptions { Metadata = Meta(("a", 1)) });

        c.Modify(name: "novels");

        ShouldHaveMetadata(_fx.Client.GetCollection("novels").Metadata, ("a", 1L));
    }

    public static TheoryData<string, CollectionConfigurationUpdate> FixedSettingChanges => new()
    {
        { "space", new CollectionConfigurationUpdate { Space = DistanceSpace.Cosine } },
        { "ef_construction", new CollectionConfigurationUpdate { EfConstruction = 50 } },
        { "max_neighbors", new CollectionConfigurationUpdate { MaxNeighbors = 8 } },
    };

    [Theory]
    [MemberData(nameof(FixedSettingChanges))]
    public void Modify_throws_validation_when_a_fixed_setting_changes(string field, CollectionConfigurationUpdate update)
    {
        var c = _fx.Client.CreateCollection("books");

        var act = () => c.Modify(name: "renamed", configuration: update);

        act.Should().Throw<ChromaValidationException>().WithMessage($"*{field}*");
        c.Name.Should().Be("books");
        c.Configuration.Should().Be(new CollectionConfiguration());
    }

    [Fact]
    public void Modify_accepts_fixed_settings_when_they_equal_current_values()
    {
        var c = _fx.Client.CreateCollection("books");

        c.Modify(configuration: new CollectionConfigurationUpdate { Space = DistanceSpace.L2, EfConstruction = 100, MaxNeighbors = 16 });

        c.Configuration.Should().Be(new CollectionConfiguration());
    }

    [Fact]
    public void Modify_changes_ef_search_when_given()
    {
        var c = _fx.Client.CreateCollection("books");

        c.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = 250 });

        c.Configuration.EfSearch.Should().Be(250);
        _fx.Client.GetCollection("books").Configuration.EfSearch.Should().Be(250);
        _fx.Client.ListCollections().Single().Configuration.EfSearch.Should().Be(250);
    }

    [Fact]
    public void Modify_throws_validation_when_ef_search_is_out_of_range()
    {
        var c = _fx.Client.CreateCollection("books");

        var act = () => c.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = 0 });

        act.Should().Throw<ChromaValidationException>().WithMessage("*ef_search*");
        c.Configuration.EfSearch.Should().Be(100);
    }

    public static TheoryData<string> ValidNames => new(
        "abc",
        "ABC",
        "a1b",
        "123",
        "my-collection",
        "my_collection",
        "my.collection",
        "a.b-c_d",
        "v1.2.3",
        "1.2.3",
        "1.2.3.4.5",
        "999.999.999.999",
        "a-_.-z",
        new string('x', 512),
        "a" + new string('-', 510) + "z");

    public static TheoryData<string, string> InvalidNames => new()
    {
        { "", "3 to 512" },
        { "a", "3 to 512" },
        { "ab", "3 to 512" },
        { new string('x', 513), "3 to 512" },
        { "-abc", "start and end" },
        { "abc-", "start and end" },
        { "_abc", "start and end" },
        { "abc_", "start and end" },
        { ".abc", "start and end" },
        { "abc.", "start and end" },
        { "a..b", ".." },
        { "ab..cd", ".." },
        { "has space", "[a-zA-Z0-9._-]" },
        { "slash/name", "[a-zA-Z0-9._-]" },
        { "colon:name", "[a-zA-Z0-9._-]" },
        { "dollar$name", "[a-zA-Z0-9._-]" },
        { "caf\u00e9s", "[a-zA-Z0-9._-]" },
        { "tab\tname", "[a-zA-Z0-9._-]" },
        { "192.168.1.1", "IPv4" },
        { "127.0.0.1", "IPv4" },
        { "10.0.0.255", "IPv4" },
        { "0.0.0.0", "IPv4" },
        { "255.255.255.255", "IPv4" },
    };

    [Theory]
    [MemberData(nameof(ValidNames))]
    public void CreateCollection_accepts_name_when_it_follows_chroma_rules(string name)
    {
        var c = _fx.Client.CreateCollection(name);

        c.Name.Should().Be(name);
        _fx.Client.GetCollection(name).Id.Should().Be(c.Id);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void CreateCollection_throws_validation_when_name_breaks_chroma_rules(string name, string rule)
    {
        var act = () => _fx.Client.CreateCollection(name);

        act.Should().Throw<ChromaValidationException>().WithMessage($"*{rule}*");
        _fx.Client.CountCollections().Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public void GetOrCreateCollection_throws_validation_when_name_breaks_chroma_rules(string name, string rule)
    {
        var act = () => _fx.Client.GetOrCreateCollection(name);

        act.Should().Throw<ChromaValidationException>().WithMessage($"*{rule}*");
    }

    [Fact]
    public void CreateCollection_throws_validation_naming_the_name_when_it_is_an_ipv4_address()
    {
        var act = () => _fx.Client.CreateCollection("192.168.1.1");

        act.Should().Throw<ChromaValidationException>().WithMessage("*'192.168.1.1'*");
    }

    [Fact]
    public void CreateCollection_allows_same_name_when_databases_differ()
    {
        _fx.Client.CreateDatabase("other");
        var a = _fx.Client.CreateCollection("books");
        var b = _fx.Client.WithDatabase("other").CreateCollection("books");

        a.Id.Should().NotBe(b.Id);
        a.Add(["only-in-a"], [[1f]]);
        b.Count().Should().Be(0);
    }
}
