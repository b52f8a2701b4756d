using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// The embedded synchronous <see cref="Collection.Delete"/> returns how many records it removed (the contract's
/// <c>DeleteAsync</c>, like Chroma, returns nothing); Delete's behaviour is in Contract/DeleteContract.cs.
/// </summary>
public sealed class DeleteTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private Collection Seeded()
    {
        var c = _fx.CreateCollection();
        c.Add(
            ["a", "b", "c", "d"],
            [[1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f]],
            [Meta(("group", "x")), Meta(("group", "y")), Meta(("group", "x")), null],
            ["apple pie", "banana split", "cherry tart", null]);
        return c;
    }

    [Fact]
    public void Delete_by_ids_returns_number_deleted_and_ignores_missing_ids()
    {
        var c = Seeded();

        var deleted = c.Delete(["b", "ghost", "d"]);

        deleted.Should().Be(2);
        c.Get().Ids.Should().Equal("a", "c");
        c.Count().Should().Be(2);
    }

    [Fact]
    public void Delete_by_where_returns_number_deleted()
    {
        var c = Seeded();

        c.Delete(where: Where.Eq("group", "x")).Should().Be(2);

        c.Get().Ids.Should().Equal("b", "d");
    }

    [Fact]
    public void Delete_by_where_document_returns_number_deleted()
    {
        var c = Seeded();

        c.Delete(whereDocument: WhereDocument.Contains("an")).Should().Be(1);

        c.Get().Ids.Should().Equal("a", "c", "d");
        c.Get(whereDocument: WhereDocument.Contains("banana")).Ids.Should().BeEmpty();
    }

    [Fact]
    public void Delete_intersects_selectors_when_several_are_given()
    {
        var c = Seeded();

        c.Delete(["a", "b", "d"], Where.Eq("group", "x")).Should().Be(1);

        c.Get().Ids.Should().Equal("b", "c", "d");
    }

    [Fact]
    public void Delete_returns_zero_when_nothing_matches()
    {
        var c = Seeded();

        c.Delete(where: Where.Eq("group", "none")).Should().Be(0);
        c.Delete(["ghost"]).Should().Be(0);

        c.Count().Should().Be(4);
    }
}
