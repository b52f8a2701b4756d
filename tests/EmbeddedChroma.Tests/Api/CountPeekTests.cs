using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class CountPeekTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void Count_is_zero_when_collection_is_new()
    {
        _fx.CreateCollection().Count().Should().Be(0);
    }

    [Fact]
    public void Count_follows_add_upsert_update_and_delete()
    {
        var c = _fx.CreateCollection();

        c.Add(["a", "b"], [[1f], [2f]]);
        c.Count().Should().Be(2);
        c.Add(["b", "c"], [[2f], [3f]]);
        c.Count().Should().Be(3);
        c.Upsert(["c", "d"], [[3f], [4f]]);
        c.Count().Should().Be(4);
        c.Update(["e"], [[5f]]);
        c.Count().Should().Be(4);
        c.Delete(["a", "z"]);
        c.Count().Should().Be(3);
        _fx.Client.GetCollection("test").Count().Should().Be(3);
    }

    [Fact]
    public void Peek_returns_first_records_with_embeddings_metadatas_and_documents()
    {
        var c = _fx.CreateCollection();
        c.Add(["z", "y", "x"], [[1f, 1f], [2f, 2f], [3f, 3f]], [Meta(("k", 1)), null, Meta(("k", 3))], ["dz", "dy", null]);

        var peek = c.Peek(2);

        peek.Ids.Should().Equal("z", "y");
        peek.Embeddings.Should().BeEquivalentTo(new[] { new[] { 1f, 1f }, new[] { 2f, 2f } }, o => o.WithStrictOrdering());
        ShouldHaveMetadata(peek.Metadatas![0], ("k", 1L));
        peek.Metadatas[1].Should().BeNull();
        peek.Documents.Should().Equal("dz", "dy");
        peek.Included.Should().Be(Include.Embeddings | Include.Metadatas | Include.Documents);
    }

    [Fact]
    public void Peek_returns_ten_records_when_limit_is_not_given()
    {
        var c = _fx.CreateCollection();
        var ids = Enumerable.Range(0, 12).Select(i => $"r{i:D2}").ToArray();
        c.Add(ids, ids.Select((_, i) => new[] { (float)i }).ToArray());

        c.Peek().Ids.Should().Equal(ids.Take(10));
    }

    [Fact]
    public void Peek_returns_all_records_when_fewer_than_limit()
    {
        var c = _fx.CreateCollection();
        c.Add(["a"], [[1f]]);

        c.Peek(5).Ids.Should().Equal("a");
    }

    [Fact]
    public void Peek_returns_empty_lists_when_collection_is_empty()
    {
        var peek = _fx.CreateCollection().Peek();

        peek.Ids.Should().BeEmpty();
        peek.Embeddings.Should().BeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Peek_throws_validation_when_limit_is_not_positive(int limit)
    {
        var c = _fx.CreateCollection();

        var act = () => c.Peek(limit);

        act.Should().Throw<ChromaValidationException>().WithMessage($"*limit*{limit}*");
    }
}
