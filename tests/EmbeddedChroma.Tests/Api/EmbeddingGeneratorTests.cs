using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Embedded-only: the synchronous calls embed documents and query texts with the collection's generator, as the async
/// ones do, and a generator is passed again after the store is reopened. The text calls through the contract are in Contract/EmbeddingGeneratorContract.cs.
/// </summary>
public sealed class EmbeddingGeneratorTests : IDisposable
{
    private readonly StoreFixture _fx = new();
    private readonly DeterministicEmbeddingGenerator _generator = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void Add_embeds_documents_with_the_generator_when_embeddings_are_missing()
    {
        var c = _fx.CreateCollection(generator: _generator);

        c.Add(["a", "b"], documents: ["cat", "space"]);

        _generator.Calls.Should().ContainSingle().Which.Should().Equal("cat", "space");
        c.Get(include: Include.Embeddings).Embeddings!.Should().SatisfyRespectively(
            e => e.Should().Equal(DeterministicEmbeddingGenerator.Embed("cat")),
            e => e.Should().Equal(DeterministicEmbeddingGenerator.Embed("space")));
    }

    [Fact]
    public void Add_with_documents_sends_no_text_to_the_generator_when_the_batch_is_invalid()
    {
        var c = _fx.CreateCollection(generator: _generator);

        var act = () => c.Add(["a", "a"], documents: ["cat", "dog"]);

        act.Should().Throw<ChromaValidationException>();
        _generator.Calls.Should().BeEmpty();
        c.Count().Should().Be(0);
    }

    [Fact]
    public void Upsert_and_Update_embed_changed_documents_with_the_generator()
    {
        var c = _fx.CreateCollection(generator: _generator);
        c.Add(["a"], [DeterministicEmbeddingGenerator.Embed("cat")], documents: ["cat"]);

        c.Update(["a"], documents: ["dog"]);
        c.Upsert(["b"], documents: ["space"]);

        var all = c.Get(include: Include.Embeddings | Include.Documents);
        all.Documents.Should().Equal("dog", "space");
        all.Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("dog"));
        all.Embeddings[1].Should().Equal(DeterministicEmbeddingGenerator.Embed("space"));
    }

    [Fact]
    public void Query_by_texts_embeds_them_and_finds_the_nearest_records()
    {
        var c = _fx.CreateCollection(generator: _generator);
        c.Add(["a", "b"], documents: ["cat", "space"]);

        var result = c.Query(queryTexts: ["space"], nResults: 1);

        result.Ids[0].Should().Equal("b");
    }

    [Fact]
    public void Query_by_texts_throws_a_chroma_exception_when_the_collection_has_no_generator()
    {
        var c = _fx.CreateCollection();
        c.Add(["a"], [[1f, 0f, 0f]]);

        var act = () => c.Query(queryTexts: ["space"]);

        act.Should().Throw<ChromaException>();
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
