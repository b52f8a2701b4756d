using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>Repeated filters reuse their allowed slots only until the next write.</summary>
public sealed class FilterCacheTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static Dictionary<string, MetadataValue?> Tag(string tag) => new() { ["tag"] = tag };

    [Fact]
    public void Query_with_a_repeated_filter_sees_every_write_made_between_the_queries()
    {
        var c = _fx.CreateCollection();
        c.Add(["a", "b", "c"], [[1f, 0f], [0f, 1f], [1f, 1f]], [Tag("x"), Tag("y"), Tag("x")]);
        var where = Where.Eq("tag", "x");
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["a", "c"]);

        c.Add(["d"], [[0.9f, 0.1f]], [Tag("x")]);
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["a", "d", "c"]);

        c.Update(["a"], metadatas: [Tag("y")]);
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["d", "c"]);

        c.Delete(ids: ["c"]);
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["d"]);
    }

    [Fact]
    public void Query_with_different_selectors_does_not_share_allowed_slots()
    {
        var c = _fx.CreateCollection();
        c.Add(["a", "b"], [[1f, 0f], [0f, 1f]], [Tag("x"), Tag("y")]);

        c.Query([[1f, 0f]], nResults: 10, where: Where.Eq("tag", "x")).Ids[0].Should().Equal(["a"]);
        c.Query([[1f, 0f]], nResults: 10, where: Where.Eq("tag", "y")).Ids[0].Should().Equal(["b"]);
        c.Query([[1f, 0f]], nResults: 10, ids: ["b"]).Ids[0].Should().Equal(["b"]);
        c.Query([[1f, 0f]], nResults: 10, ids: ["a"]).Ids[0].Should().Equal(["a"]);
        c.Query([[1f, 0f]], nResults: 10, where: Where.Eq("tag", "x"), ids: ["b"]).Ids[0].Should().BeEmpty();
    }
}
