using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class UpdateTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private Collection Seeded()
    {
        var c = _fx.CreateCollection();
        c.Add(
            ["a", "b"],
            [[1f, 0f], [0f, 1f]],
            [Meta(("k1", 1), ("k2", "x")), Meta(("k1", 2))],
            ["doc a", "doc b"]);
        return c;
    }

    [Fact]
    public void Update_ignores_ids_when_they_do_not_exist()
    {
        var c = Seeded();
        var before = Everything(c);

        c.Update(["ghost"], [[9f, 9f]], [Meta(("k", 1))], ["ghost doc"]);

        c.Count().Should().Be(2);
        Everything(c).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Update_changes_existing_and_ignores_missing_when_batch_mixes_them()
    {
        var c = Seeded();

        c.Update(["ghost", "b"], metadatas: [Meta(("k", 1)), Meta(("k3", "z"))]);

        c.Get().Ids.Should().Equal("a", "b");
        ShouldHaveMetadata(c.Get(["b"]).Metadatas![0], ("k1", 2L), ("k3", "z"));
    }

    [Fact]
    public void Update_merges_metadata_keys_when_metadata_is_given()
    {
        var c = Seeded();

        c.Update(["a"], metadatas: [Meta(("k2", "y"), ("k3", 3.0))]);

        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k2", "y"), ("k3", 3.0));
    }

    [Fact]
    public void Update_removes_key_when_its_value_is_null()
    {
        var c = Seeded();

        c.Update(["a"], metadatas: [Meta(("k2", null), ("k4", false))]);

        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k4", false));
        c.Get(where: Where.Eq("k2", "x")).Ids.Should().BeEmpty();
    }

    [Fact]
    public void Update_replaces_document_when_given()
    {
        var c = Seeded();

        c.Update(["a"], documents: ["brand new"]);

        var a = c.Get(["a"], include: Include.Embeddings | Include.Documents | Include.Metadatas);
        a.Documents![0].Should().Be("brand new");
        a.Embeddings![0].Should().Equal(1f, 0f);
        ShouldHaveMetadata(a.Metadatas![0], ("k1", 1L), ("k2", "x"));
        c.Get(whereDocument: WhereDocument.Contains("brand")).Ids.Should().Equal("a");
        c.Get(whereDocument: WhereDocument.Contains("doc a")).Ids.Should().BeEmpty();
    }

    [Fact]
    public void Update_replaces_embedding_when_given()
    {
        var c = Seeded();

        c.Update(["b"], [[10f, 10f]]);

        c.Get(["b"], include: Include.Embeddings).Embeddings![0].Should().Equal(10f, 10f);
        c.Query([[10f, 10f]], nResults: 2).Ids[0].Should().Equal("b", "a");
        c.Get(["b"]).Documents![0].Should().Be("doc b");
    }

    [Fact]
    public void Update_keeps_insertion_order_when_records_change()
    {
        var c = Seeded();
        c.Add(["c"], [[1f, 1f]]);

        c.Update(["a"], [[5f, 5f]], documents: ["changed"]);

        c.Get().Ids.Should().Equal("a", "b", "c");
    }

    [Fact]
    public void Update_throws_validation_naming_index_when_dimension_differs()
    {
        var c = Seeded();

        var act = () => c.Update(["a", "b"], [[1f, 1f], [1f]]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*expected dimension 2, got 1 at index 1*");
        c.Get(["a"], include: Include.Embeddings).Embeddings![0].Should().Equal(1f, 0f);
    }

    [Fact]
    public void Update_changes_nothing_when_any_record_is_invalid()
    {
        var c = Seeded();
        var before = Everything(c);

        var act = () => c.Update(["a", "b"], metadatas: [Meta(("k1", 100)), Meta(("$bad", 1))]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*metadatas[1]*'b'*'$bad'*");
        Everything(c).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }

    [Fact]
    public void Update_throws_validation_naming_duplicates_when_batch_repeats_ids()
    {
        var c = Seeded();

        var act = () => c.Update(["b", "b"], metadatas: [Meta(("k", 1)), Meta(("k", 2))]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*duplicate*'b'*");
    }
}
