using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class EmbeddingGeneratorTests : IDisposable
{
    private readonly StoreFixture _fx = new();
    private readonly DeterministicEmbeddingGenerator _generator = new();

    public void Dispose() => _fx.Dispose();

    private static readonly string[] Documents = ["cat cat dog", "car space", "dog", "space space space"];

    [Fact]
    public async Task AddAsync_generates_embeddings_from_documents_when_embeddings_are_missing()
    {
        var c = _fx.CreateCollection(generator: _generator);

        await c.AddAsync(["a", "b", "c", "d"], metadatas: [Meta(("k", 1)), null, null, null], documents: Documents);

        var all = Everything(c);
        all.Embeddings.Should().BeEquivalentTo(Documents.Select(DeterministicEmbeddingGenerator.Embed), o => o.WithStrictOrdering());
        all.Documents.Should().Equal(Documents);
        ShouldHaveMetadata(all.Metadatas![0], ("k", 1L));
        c.Dimension.Should().Be(DeterministicEmbeddingGenerator.Dimension);
        _generator.Calls.Should().ContainSingle().Which.Should().Equal(Documents);
    }

    [Fact]
    public async Task AddAsync_uses_given_embeddings_without_calling_generator()
    {
        var c = _fx.CreateCollection(generator: _generator);

        await c.AddAsync(["a"], [[9f, 9f, 9f, 9f, 9f]], documents: ["cat"]);

        c.Get(include: Include.Embeddings).Embeddings![0].Should().Equal(9f, 9f, 9f, 9f, 9f);
        _generator.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task UpsertAsync_generates_embeddings_for_new_and_existing_ids()
    {
        var c = _fx.CreateCollection(generator: _generator);
        await c.AddAsync(["a"], documents: ["cat"]);

        await c.UpsertAsync(["a", "b"], documents: ["dog dog", "car"]);

        var all = Everything(c);
        all.Ids.Should().Equal("a", "b");
        all.Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("dog dog"));
        all.Embeddings[1].Should().Equal(DeterministicEmbeddingGenerator.Embed("car"));
        all.Documents.Should().Equal("dog dog", "car");
    }

    [Fact]
    public async Task UpdateAsync_regenerates_embedding_when_document_changes()
    {
        var c = _fx.CreateCollection(generator: _generator);
        await c.AddAsync(["a", "b"], documents: ["cat", "dog"]);

        await c.UpdateAsync(["a"], documents: ["space car"]);

        c.Get(["a"], include: Include.Embeddings).Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("space car"));
        c.Get(["b"], include: Include.Embeddings).Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("dog"));
    }

    [Fact]
    public async Task QueryAsync_embeds_query_texts_and_returns_nearest_records()
    {
        var c = _fx.CreateCollection(space: DistanceSpace.Cosine, generator: _generator);
        await c.AddAsync(["a", "b", "c", "d"], documents: Documents);

        var result = await c.QueryTextsAsync(["space", "dog"], nResults: 2);

        result.Ids.Should().HaveCount(2);
        result.Ids[0][0].Should().Be("d");
        result.Ids[1][0].Should().Be("c");
        var q = DeterministicEmbeddingGenerator.Embed("space");
        var d = DeterministicEmbeddingGenerator.Embed(Documents[3]);
        var cos = q.Zip(d, (x, y) => (double)x * y).Sum() / Math.Sqrt(q.Sum(x => (double)x * x) * d.Sum(x => (double)x * x));
        result.Distances![0][0].Should().BeApproximately((float)(1 - cos), 1e-5f);
        _generator.Calls.Last().Should().Equal("space", "dog");
    }

    [Fact]
    public async Task QueryAsync_applies_filters_when_given()
    {
        var c = _fx.CreateCollection(generator: _generator);
        await c.AddAsync(["a", "b", "c", "d"], metadatas: [Meta(("g", 1)), Meta(("g", 2)), Meta(("g", 1)), Meta(("g", 2))], documents: Documents);

        var result = await c.QueryTextsAsync(["space"], nResults: 4, where: Where.Eq("g", 1));

        result.Ids[0].Should().BeEquivalentTo("a", "c");
    }

    [Fact]
    public void Add_throws_validation_pointing_to_AddAsync_when_embeddings_are_missing_and_generator_is_set()
    {
        var c = _fx.CreateCollection(generator: _generator);

        var act = () => c.Add(["a"], documents: ["cat"]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*embeddings are missing*AddAsync*");
        c.Count().Should().Be(0);
        _generator.Calls.Should().BeEmpty();
    }

    [Fact]
    public void Upsert_throws_validation_pointing_to_UpsertAsync_when_embeddings_are_missing_and_generator_is_set()
    {
        var c = _fx.CreateCollection(generator: _generator);

        var act = () => c.Upsert(["a"], documents: ["cat"]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*UpsertAsync*");
    }

    [Fact]
    public void Update_throws_validation_pointing_to_UpdateAsync_when_document_changes_without_embedding()
    {
        var c = _fx.CreateCollection(generator: _generator);
        c.Add(["a"], [DeterministicEmbeddingGenerator.Embed("cat")], documents: ["cat"]);

        var act = () => c.Update(["a"], documents: ["dog"]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*UpdateAsync*");
        c.Get().Documents.Should().Equal("cat");
    }

    [Fact]
    public async Task AddAsync_throws_validation_naming_collection_when_it_has_no_generator()
    {
        var c = _fx.CreateCollection();

        var act = () => c.AddAsync(["a"], documents: ["cat"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'test'*no embedding generator*");
    }

    [Fact]
    public async Task QueryAsync_throws_validation_naming_collection_when_it_has_no_generator()
    {
        var c = _fx.CreateCollection();
        c.Add(["a"], [[1f]]);

        var act = () => c.QueryTextsAsync(["cat"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'test'*no embedding generator*");
    }

    [Fact]
    public async Task AddAsync_throws_validation_naming_index_when_a_document_is_null()
    {
        var c = _fx.CreateCollection(generator: _generator);

        var act = () => c.AddAsync(["a", "b"], documents: ["cat", null]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*documents[1]*null*");
        c.Count().Should().Be(0);
    }

    [Fact]
    public async Task AddAsync_throws_validation_when_neither_embeddings_nor_documents_are_given()
    {
        var c = _fx.CreateCollection(generator: _generator);

        var act = () => c.AddAsync(["a"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*neither embeddings nor documents*");
    }

    [Fact]
    public async Task GetCollection_uses_generator_when_it_is_passed_again_after_reopen()
    {
        var c = _fx.CreateCollection(generator: _generator);
        await c.AddAsync(["a", "b"], documents: ["cat", "space"]);
        _fx.Reopen();

        var withoutGenerator = _fx.Client.GetCollection("test");
        var missing = () => withoutGenerator.QueryTextsAsync(["cat"]);
        await missing.Should().ThrowAsync<ChromaValidationException>();

        var reattached = _fx.Client.GetCollection("test", new DeterministicEmbeddingGenerator());
        (await reattached.QueryTextsAsync(["cat"], nResults: 1)).Ids[0].Should().Equal("a");
    }
}
