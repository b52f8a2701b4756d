using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Validation;

/// <summary>
/// The store-wide caps on collections, databases and tenants: creating past one throws
/// <see cref="ChromaLimitExceededException"/> naming the option and changes nothing; existing entries stay reachable.
/// </summary>
public sealed class ResourceCapTests
{
    [Fact]
    public void Options_default_caps_are_generous()
    {
        var options = new ChromaStoreOptions();
        options.MaxCollections.Should().Be(10_000);
        options.MaxDatabases.Should().Be(10_000);
        options.MaxTenants.Should().Be(10_000);
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(1, 1, -3)]
    public void Create_throws_validation_when_a_cap_is_not_positive(int collections, int databases, int tenants)
    {
        using var folder = new TempStoreFolder("ec-cap");
        var act = () => ChromaStore.Create(folder.Path, out _, new ChromaStoreOptions { MaxCollections = collections, MaxDatabases = databases, MaxTenants = tenants });
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("ChromaStoreOptions.Max* must be positive*");
        ChromaStore.Exists(folder.Path).Should().BeFalse();
    }

    [Fact]
    public void CreateCollection_throws_limit_exceeded_at_the_cap_and_get_or_create_of_an_existing_one_still_works()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxCollections = 3 });
        fixture.Client.CreateCollection("one");
        fixture.Client.CreateCollection("two");
        fixture.Client.GetOrCreateCollection("three").Add(["a"], [[1f, 2f]]);

        var create = () => fixture.Client.CreateCollection("four");
        var error = create.Should().ThrowExactly<ChromaLimitExceededException>().Which;
        error.Message.Should().Contain("'four'").And.Contain("MaxCollections").And.Contain("3");
        error.LimitName.Should().Be(nameof(ChromaStoreOptions.MaxCollections));
        error.Limit.Should().Be(3);
        var getOrCreateNew = () => fixture.Client.GetOrCreateCollection("four");
        getOrCreateNew.Should().ThrowExactly<ChromaLimitExceededException>();

        fixture.Client.GetOrCreateCollection("three").Count().Should().Be(1, "get_or_create of an existing collection works at the cap");
        fixture.Client.GetCollection("two").Name.Should().Be("two");
        fixture.Client.ListCollections().Select(c => c.Name).Should().Equal("one", "two", "three");
    }

    [Fact]
    public void CreateCollection_conflict_wins_over_the_cap_for_an_existing_name()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxCollections = 1 });
        fixture.Client.CreateCollection("only");
        var act = () => fixture.Client.CreateCollection("only");
        act.Should().ThrowExactly<ChromaCollectionExistsException>();
    }

    [Fact]
    public void MaxCollections_counts_every_database_and_deleting_makes_room()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxCollections = 2 });
        fixture.Client.CreateDatabase("other");
        var other = fixture.Client.WithDatabase("other");
        fixture.Client.CreateCollection("first");
        other.CreateCollection("second");

        var act = () => other.CreateCollection("third");
        act.Should().ThrowExactly<ChromaLimitExceededException>().WithMessage("*'third'*other*2 collections*MaxCollections*");

        fixture.Client.DeleteCollection("first");
        other.CreateCollection("third").Name.Should().Be("third");
        other.ListCollections().Select(c => c.Name).Should().Equal("second", "third");
    }

    [Fact]
    public void MaxCollections_applies_after_reopen_to_collections_created_before()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxCollections = 2 });
        fixture.Client.CreateCollection("first");
        fixture.Client.CreateCollection("second");
        fixture.Reopen();
        var act = () => fixture.Client.CreateCollection("third");
        act.Should().ThrowExactly<ChromaLimitExceededException>();
        fixture.Client.CountCollections().Should().Be(2);
    }

    [Fact]
    public void CreateDatabase_throws_limit_exceeded_at_the_cap_counting_the_default_database()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxDatabases = 2 });
        fixture.Client.CreateDatabase("second");
        var act = () => fixture.Client.CreateDatabase("third");
        act.Should().ThrowExactly<ChromaLimitExceededException>().Which.LimitName.Should().Be("MaxDatabases");
        fixture.Client.ListDatabases().Select(d => d.Name).Should().Equal(ChromaStore.DefaultDatabase, "second");
        var duplicate = () => fixture.Client.CreateDatabase("second");
        duplicate.Should().ThrowExactly<ChromaConflictException>("an existing name is a conflict, not a cap");

        fixture.Client.DeleteDatabase("second");
        fixture.Client.CreateDatabase("third");
    }

    [Fact]
    public void CreateTenant_throws_limit_exceeded_at_the_cap_counting_the_default_tenant()
    {
        using var fixture = new StoreFixture(new ChromaStoreOptions { MaxTenants = 2 });
        fixture.Client.CreateTenant("acme");
        var act = () => fixture.Client.CreateTenant("globex");
        act.Should().ThrowExactly<ChromaLimitExceededException>().WithMessage("*'globex'*MaxTenants*2*");
        fixture.Client.ListTenants().Should().Equal(ChromaStore.DefaultTenant, "acme");
        var duplicate = () => fixture.Client.CreateTenant("acme");
        duplicate.Should().ThrowExactly<ChromaConflictException>();
    }
}
