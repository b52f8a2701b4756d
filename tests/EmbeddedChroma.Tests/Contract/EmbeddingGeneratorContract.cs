using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Contract;

/// <summary>The text calls: documents and query texts embedded by the handle's generator, and what fails without one.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The generator is disposed in DisposeAsync (xunit's IAsyncLifetime).")]
public abstract class EmbeddingGeneratorContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private readonly DeterministicEmbeddingGenerator _generator = new();

    public override async Task DisposeAsync()
    {
        _generator.Dispose();
        await base.DisposeAsync();
    }

    private static readonly string[] Documents = ["cat cat dog", "car space", "dog", "space space space"];

    [Fact]
    public async Task AddAsync_generates_embeddings_from_documents_when_embeddings_are_missing()
    {
        var c = await CreateCollectionAsync(generator: _generator);

        await c.AddAsync(["a", "b", "c", "d"], metadatas: [Meta(("k", 1)), null, null, null], documents: Documents);

        var all = await Everything(c);
        all.Embeddings.Should().BeEquivalentTo(Documents.Select(DeterministicEmbeddingGenerator.Embed), o => o.WithStrictOrdering());
        all.Documents.Should().Equal(Documents);
        ShouldHaveMetadata(all.Metadatas![0], ("k", 1L));
        c.Dimension.Should().Be(DeterministicEmbeddingGenerator.Dimension);
        _generator.Calls.Should().ContainSingle().Which.Should().Equal(Documents);
    }

    [Fact]
    public async Task AddAsync_uses_given_embeddings_without_calling_generator()
    {
        var c = await CreateCollectionAsync(generator: _generator);

        await c.AddAsync(["a"], [[9f, 9f, 9f, 9f, 9f]], documents: ["cat"]);

        (await c.GetAsync(include: Include.Embeddings)).Embeddings![0].Should().Equal(9f, 9f, 9f, 9f, 9f);
        _generator.Calls.Should().BeEmpty();
    }

    [Fact]
    public async Task UpsertAsync_generates_embeddings_for_new_and_existing_ids()
    {
        var c = await CreateCollectionAsync(generator: _generator);
        await c.AddAsync(["a"], documents: ["cat"]);

        await c.UpsertAsync(["a", "b"], documents: ["dog dog", "car"]);

        var all = await Everything(c);
        all.Ids.Should().Equal("a", "b");
        all.Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("dog dog"));
        all.Embeddings[1].Should().Equal(DeterministicEmbeddingGenerator.Embed("car"));
        all.Documents.Should().Equal("dog dog", "car");
    }

    [Fact]
    public async Task UpdateAsync_regenerates_embedding_when_document_changes()
    {
        var c = await CreateCollectionAsync(generator: _generator);
        await c.AddAsync(["a", "b"], documents: ["cat", "dog"]);

        await c.UpdateAsync(["a"], documents: ["space car"]);

        (await c.GetAsync(["a"], include: Include.Embeddings)).Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("space car"));
        (await c.GetAsync(["b"], include: Include.Embeddings)).Embeddings![0].Should().Equal(DeterministicEmbeddingGenerator.Embed("dog"));
    }

    [Fact]
    public async Task QueryAsync_embeds_query_texts_and_returns_nearest_records()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.Cosine, generator: _generator);
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
        var c = await CreateCollectionAsync(generator: _generator);
        await c.AddAsync(["a", "b", "c", "d"], metadatas: [Meta(("g", 1)), Meta(("g", 2)), Meta(("g", 1)), Meta(("g", 2))], documents: Documents);

        var result = await c.QueryTextsAsync(["space"], nResults: 4, where: Where.Eq("g", 1));

        result.Ids[0].Should().BeEquivalentTo("a", "c");
    }




    [Fact]
    public async Task AddAsync_throws_validation_naming_collection_when_it_has_no_generator()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a"], documents: ["cat"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'test'*no embedding generator*");
    }

    [Fact]
    public async Task QueryAsync_throws_validation_naming_collection_when_it_has_no_generator()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a"], [[1f]]);

        var act = () => c.QueryTextsAsync(["cat"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'test'*no embedding generator*");
    }

    [Fact]
    public async Task AddAsync_throws_validation_naming_index_when_a_document_is_null()
    {
        var c = await CreateCollectionAsync(generator: _generator);

        var act = () => c.AddAsync(["a", "b"], documents: ["cat", null]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*documents[1]*null*");
        (await c.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task AddAsync_throws_validation_when_neither_embeddings_nor_documents_are_given()
    {
        var c = await CreateCollectionAsync(generator: _generator);

        var act = () => c.AddAsync(["a"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*neither embeddings nor documents*");
    }

    [Fact]
    public async Task GetCollection_uses_generator_only_when_it_is_passed()
    {
        var c = await CreateCollectionAsync(generator: _generator);
        await c.AddAsync(["a", "b"], documents: ["cat", "space"]);

        var withoutGenerator = await Client.GetCollectionAsync("test");
        var missing = () => withoutGenerator.QueryTextsAsync(["cat"]);
        await missing.Should().ThrowAsync<ChromaValidationException>();

        var reattached = await Client.GetCollectionAsync("test", new DeterministicEmbeddingGenerator());
        (await reattached.QueryTextsAsync(["cat"], nResults: 1)).Ids[0].Should().Equal("a");
    }
}

public sealed class EmbeddingGeneratorContractEmbedded : EmbeddingGeneratorContract<EmbeddedTarget>;
