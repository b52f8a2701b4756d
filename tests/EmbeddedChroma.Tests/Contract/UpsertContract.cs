namespace EmbeddedChroma.Tests.Contract;

/// <summary>Upsert: new ids are inserted, existing ones replaced part by part (metadata merged), all or nothing.</summary>
public abstract class UpsertContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private async Task<IChromaCollection> Seeded()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(
            ["a", "b"],
            [[1f, 0f], [0f, 1f]],
            [Meta(("k1", 1), ("k2", "x")), Meta(("k1", 2))],
            ["doc a", "doc b"]);
        return c;
    }

    [Fact]
    public async Task Upsert_inserts_records_when_ids_are_new()
    {
        var c = await CreateCollectionAsync();

        await c.UpsertAsync(["a", "b"], [[1f, 2f], [3f, 4f]], [Meta(("n", 1)), null], ["da", null]);

        var all = await Everything(c);
        all.Ids.Should().Equal("a", "b");
        all.Embeddings![1].Should().Equal(3f, 4f);
        ShouldHaveMetadata(all.Metadatas![0], ("n", 1L));
        all.Documents.Should().Equal("da", null);
        c.Dimension.Should().Be(2);
    }

    [Fact]
    public async Task Upsert_replaces_embedding_when_id_exists()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a"], [[5f, 5f]]);

        (await c.GetAsync(["a"], include: Include.Embeddings)).Embeddings![0].Should().Equal(5f, 5f);
        var q = await c.QueryAsync([[5f, 5f]], nResults: 1);
        q.Ids[0].Should().Equal("a");
        q.Distances![0][0].Should().BeApproximately(0f, 1e-5f);
        (await c.CountAsync()).Should().Be(2);
    }

    [Fact]
    public async Task Upsert_merges_metadata_keys_when_id_exists()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a"], [[1f, 0f]], [Meta(("k2", "y"), ("k3", true))]);

        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k2", "y"), ("k3", true));
    }

    [Fact]
    public async Task Upsert_keeps_metadata_and_document_when_they_are_not_given()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a"], [[2f, 2f]]);

        var a = await c.GetAsync(["a"]);
        ShouldHaveMetadata(a.Metadatas![0], ("k1", 1L), ("k2", "x"));
        a.Documents![0].Should().Be("doc a");
    }

    [Fact]
    public async Task Upsert_replaces_document_when_given()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a"], [[1f, 0f]], documents: ["new text"]);

        (await c.GetAsync(["a"])).Documents![0].Should().Be("new text");
        (await c.GetAsync(whereDocument: WhereDocument.Contains("new text"))).Ids.Should().Equal("a");
        (await c.GetAsync(whereDocument: WhereDocument.Contains("doc a"))).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task Upsert_updates_existing_and_inserts_new_when_batch_mixes_them()
    {
        var c = await Seeded();

        await c.UpsertAsync(["new", "b"], [[3f, 3f], [4f, 4f]], [Meta(("k1", 9)), Meta(("k9", 9.5))], ["dn", "db2"]);

        var all = await Everything(c);
        all.Ids.Should().Equal("a", "b", "new");
        all.Embeddings![1].Should().Equal(4f, 4f);
        ShouldHaveMetadata(all.Metadatas![1], ("k1", 2L), ("k9", 9.5));
        all.Documents.Should().Equal("doc a", "db2", "dn");
        (await c.CountAsync()).Should().Be(3);
    }

    [Fact]
    public async Task Upsert_changes_nothing_when_batch_has_dimension_mismatch()
    {
        var c = await Seeded();
        var before = await Everything(c);

        var act = () => c.UpsertAsync(["a", "z"], [[9f, 9f], [1f, 2f, 3f]], [Meta(("k1", 100)), null]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*expected dimension 2, got 3 at index 1*");
        (await Everything(c)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }

    [Fact]
    public async Task Upsert_throws_validation_naming_duplicates_when_batch_repeats_ids()
    {
        var c = await Seeded();

        var act = () => c.UpsertAsync(["a", "a"], [[1f, 1f], [2f, 2f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*duplicate*'a'*");
    }

    [Fact]
    public async Task Upsert_throws_validation_when_embeddings_are_missing_without_generator()
    {
        var c = await Seeded();

        var act = () => c.UpsertAsync(["a"], metadatas: [Meta(("k", 1))]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*embeddings*");
        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }
}

public sealed class UpsertContractEmbedded : UpsertContract<EmbeddedTarget>;
