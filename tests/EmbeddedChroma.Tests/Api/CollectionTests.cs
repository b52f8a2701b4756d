using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Collection behaviour that shows in the store folder (the arena file goes with the collection). The same calls without
/// the file checks, and the rest of the collection calls, are in Contract/CollectionContract.cs.
/// </summary>
public sealed class CollectionTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

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
}
