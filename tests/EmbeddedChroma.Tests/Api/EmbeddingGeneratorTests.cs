using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Embedded-only: the synchronous calls point to the async ones when a generator would be needed, and a generator is
/// passed again after the store is reopened. The text calls through the contract are in Contract/EmbeddingGeneratorContract.cs.
/// </summary>
public sealed class EmbeddingGeneratorTests : IDisposable
{
    private readonly StoreFixture _fx = new();
    private readonly DeterministicEmbeddingGenerator _generator = new();

    public void Dispose() => _fx.Dispose();

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
