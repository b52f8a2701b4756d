using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Embedded-only Add behaviour: a store option (<see cref="ChromaStoreOptions.MaxBatchSize"/>) and the synchronous
/// call's wording when embeddings are missing (through the contract, AddAsync embeds the documents or names the
/// missing generator). The rest of Add's behaviour is in Contract/AddContract.cs, run against every implementation.
/// </summary>
public sealed class AddTests
{
    [Fact]
    public void Add_throws_validation_when_batch_exceeds_max_batch_size()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { MaxBatchSize = 3 });
        var c = fx.CreateCollection();

        var act = () => c.Add(["a", "b", "c", "d"], [[1f], [2f], [3f], [4f]]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*4 entries*maximum batch size is 3*");
        c.Count().Should().Be(0);
    }

    [Fact]
    public void Add_throws_validation_when_embeddings_are_missing_without_generator()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();

        var act = () => c.Add(["a"], documents: ["text"]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*embeddings are required*'test'*");
        c.Count().Should().Be(0);
    }
}
