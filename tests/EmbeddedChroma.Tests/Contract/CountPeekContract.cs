namespace EmbeddedChroma.Tests.Contract;

/// <summary>Count and peek.</summary>
public abstract class CountPeekContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    [Fact]
    public async Task Count_is_zero_when_collection_is_new()
    {
        (await (await CreateCollectionAsync()).CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Count_follows_add_upsert_update_and_delete()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(["a", "b"], [[1f], [2f]]);
        (await c.CountAsync()).Should().Be(2);
        await c.AddAsync(["b", "c"], [[2f], [3f]]);
        (await c.CountAsync()).Should().Be(3);
        await c.UpsertAsync(["c", "d"], [[3f], [4f]]);
        (await c.CountAsync()).Should().Be(4);
        await c.UpdateAsync(["e"], [[5f]]);
        (await c.CountAsync()).Should().Be(4);
        await c.DeleteAsync(["a", "z"]);
        (await c.CountAsync()).Should().Be(3);
        (await (await Client.GetCollectionAsync("test")).CountAsync()).Should().Be(3);
    }

    [Fact]
    public async Task Peek_returns_first_records_with_embeddings_metadatas_and_documents()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["z", "y", "x"], [[1f, 1f], [2f, 2f], [3f, 3f]], [Meta(("k", 1)), null, Meta(("k", 3))], ["dz", "dy", null]);

        var peek = await c.PeekAsync(2);

        peek.Ids.Should().Equal("z", "y");
        peek.Embeddings.Should().BeEquivalentTo(new[] { new[] { 1f, 1f }, new[] { 2f, 2f } }, o => o.WithStrictOrdering());
        ShouldHaveMetadata(peek.Metadatas![0], ("k", 1L));
        peek.Metadatas[1].Should().BeNull();
        peek.Documents.Should().Equal("dz", "dy");
        peek.Included.Should().Be(Include.Embeddings | Include.Metadatas | Include.Documents);
    }

    [Fact]
    public async Task Peek_returns_ten_records_when_limit_is_not_given()
    {
        var c = await CreateCollectionAsync();
        var ids = Enumerable.Range(0, 12).Select(i => $"r{i:D2}").ToArray();
        await c.AddAsync(ids, ids.Select((_, i) => new[] { (float)i }).ToArray());

        (await c.PeekAsync()).Ids.Should().Equal(ids.Take(10));
    }

    [Fact]
    public async Task Peek_returns_all_records_when_fewer_than_limit()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a"], [[1f]]);

        (await c.PeekAsync(5)).Ids.Should().Equal("a");
    }

    [Fact]
    public async Task Peek_returns_empty_lists_when_collection_is_empty()
    {
        var peek = await (await CreateCollectionAsync()).PeekAsync();

        peek.Ids.Should().BeEmpty();
        peek.Embeddings.Should().BeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public async Task Peek_throws_validation_when_limit_is_not_positive(int limit)
    {
        var c = await CreateCollectionAsync();

        var act = () => c.PeekAsync(limit);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*limit*{limit}*");
    }
}

public sealed class CountPeekContractEmbedded : CountPeekContract<EmbeddedTarget>;
