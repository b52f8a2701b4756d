using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class UpsertTests : IDisposable
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
    public void Upsert_inserts_records_when_ids_are_new()
    {
        var c = _fx.CreateCollection();

        c.Upsert(["a", "b"], [[1f, 2f], [3f, 4f]], [Meta(("n", 1)), null], ["da", null]);

        var all = Everything(c);
        all.Ids.Should().Equal("a", "b");
        all.Embeddings![1].Should().Equal(3f, 4f);
        ShouldHaveMetadata(all.Metadatas![0], ("n", 1L));
        all.Documents.Should().Equal("da", null);
        c.Dimension.Should().Be(2);
    }

    [Fact]
    public void Upsert_replaces_embedding_when_id_exists()
    {
        var c = Seeded();

        c.Upsert(["a"], [[5f, 5f]]);

        c.Get(["a"], include: Include.Embeddings).Embeddings![0].Should().Equal(5f, 5f);
        var q = c.Query([[5f, 5f]], nResults: 1);
        q.Ids[0].Should().Equal("a");
        q.Distances![0][0].Should().BeApproximately(0f, 1e-5f);
        c.Count().Should().Be(2);
    }

    [Fact]
    public void Upsert_merges_metadata_keys_when_id_exists()
    {
        var c = Seeded();

        c.Upsert(["a"], [[1f, 0f]], [Meta(("k2", "y"), ("k3", true))]);

        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k2", "y"), ("k3", true));
    }

    [Fact]
    public void Upsert_keeps_metadata_and_document_when_they_are_not_given()
    {
        var c = Seeded();

        c.Upsert(["a"], [[2f, 2f]]);

        var a = c.Get(["a"]);
        ShouldHaveMetadata(a.Metadatas![0], ("k1", 1L), ("k2", "x"));
        a.Documents![0].Should().Be("doc a");
    }

    [Fact]
    public void Upsert_replaces_document_when_given()
    {
        var c = Seeded();

        c.Upsert(["a"], [[1f, 0f]], documents: ["new text"]);

        c.Get(["a"]).Documents![0].Should().Be("new text");
        c.Get(whereDocument: WhereDocument.Contains("new text")).Ids.Should().Equal("a");
        c.Get(whereDocument: WhereDocument.Contains("doc a")).Ids.Should().BeEmpty();
    }

    [Fact]
    public void Upsert_updates_existing_and_inserts_new_when_batch_mixes_them()
    {
        var c = Seeded();

        c.Upsert(["new", "b"], [[3f, 3f], [4f, 4f]], [Meta(("k1", 9)), Meta(("k9", 9.5))], ["dn", "db2"]);

        var all = Everything(c);
        all.Ids.Should().Equal("a", "b", "new");
        all.Embeddings![1].Should().Equal(4f, 4f);
        ShouldHaveMetadata(all.Metadatas![1], ("k1", 2L), ("k9", 9.5));
        all.Documents.Should().Equal("doc a", "db2", "dn");
        c.Count().Should().Be(3);
    }

    [Fact]
    public void Upsert_changes_nothing_when_batch_has_dimension_mismatch()
    {
        var c = Seeded();
        var before = Everything(c);

        var act = () => c.Upsert(["a", "z"], [[9f, 9f], [1f, 2f, 3f]], [Meta(("k1", 100)), null]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*expected dimension 2, got 3 at index 1*");
        Everything(c).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }

    [Fact]
    public void Upsert_throws_validation_naming_duplicates_when_batch_repeats_ids()
    {
        var c = Seeded();

        var act = () => c.Upsert(["a", "a"], [[1f, 1f], [2f, 2f]]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*duplicate*'a'*");
    }

    [Fact]
    public void Upsert_throws_validation_when_embeddings_are_missing_without_generator()
    {
        var c = Seeded();

        var act = () => c.Upsert(["a"], metadatas: [Meta(("k", 1))]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*embeddings*");
        ShouldHaveMetadata(c.Get(["a"]).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }
}
