namespace EmbeddedChroma.Tests.Contract;

/// <summary>Chroma's collection name rules (3 to 512 characters of [a-zA-Z0-9._-], alphanumeric at both ends, no "..", not an IPv4 address).</summary>
public abstract class CollectionNameContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    [Theory]
    [MemberData(nameof(CollectionNameCases.ValidNames), MemberType = typeof(CollectionNameCases))]
    public async Task CreateCollection_accepts_name_when_it_follows_chroma_rules(string name)
    {
        var c = await Client.CreateCollectionAsync(name);

        c.Name.Should().Be(name);
        (await Client.GetCollectionAsync(name)).Id.Should().Be(c.Id);
    }

    [Theory]
    [MemberData(nameof(CollectionNameCases.InvalidNames), MemberType = typeof(CollectionNameCases))]
    public async Task CreateCollection_throws_validation_when_name_breaks_chroma_rules(string name, string rule)
    {
        var act = () => Client.CreateCollectionAsync(name);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{rule}*");
        (await Client.CountCollectionsAsync()).Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(CollectionNameCases.InvalidNames), MemberType = typeof(CollectionNameCases))]
    public async Task GetOrCreateCollection_throws_validation_when_name_breaks_chroma_rules(string name, string rule)
    {
        var act = () => Client.GetOrCreateCollectionAsync(name);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{rule}*");
    }

    [Fact]
    public async Task CreateCollection_throws_validation_naming_the_name_when_it_is_an_ipv4_address()
    {
        var act = () => Client.CreateCollectionAsync("192.168.1.1");

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'192.168.1.1'*");
    }
}

public sealed class CollectionNameContractEmbedded : CollectionNameContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="CollectionNameContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class CollectionNameCases
{
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
}
