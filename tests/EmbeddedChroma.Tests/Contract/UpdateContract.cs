namespace EmbeddedChroma.Tests.Contract;

/// <summary>Update: existing records change (metadata merged, null removes a key), missing ids are skipped, all or nothing.</summary>
public abstract class UpdateContract<TTarget> : ContractSuite<TTarget>
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
    public async Task Update_ignores_ids_when_they_do_not_exist()
    {
        var c = await Seeded();
        var before = await Everything(c);

        await c.UpdateAsync(["ghost"], [[9f, 9f]], [Meta(("k", 1))], ["ghost doc"]);

        (await c.CountAsync()).Should().Be(2);
        (await Everything(c)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Update_changes_existing_and_ignores_missing_when_batch_mixes_them()
    {
        var c = await Seeded();

        await c.UpdateAsync(["ghost", "b"], metadatas: [Meta(("k", 1)), Meta(("k3", "z"))]);

        (await c.GetAsync()).Ids.Should().Equal("a", "b");
        ShouldHaveMetadata((await c.GetAsync(["b"])).Metadatas![0], ("k1", 2L), ("k3", "z"));
    }

    [Fact]
    public async Task Update_merges_metadata_keys_when_metadata_is_given()
    {
        var c = await Seeded();

        await c.UpdateAsync(["a"], metadatas: [Meta(("k2", "y"), ("k3", 3.0))]);

        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k2", "y"), ("k3", 3.0));
    }

    [Fact]
    public async Task Update_removes_key_when_its_value_is_null()
    {
        var c = await Seeded();

        await c.UpdateAsync(["a"], metadatas: [Meta(("k2", null), ("k4", false))]);

        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k4", false));
        (await c.GetAsync(where: Where.Eq("k2", "x"))).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task Update_replaces_document_when_given()
    {
        var c = await Seeded();

        await c.UpdateAsync(["a"], documents: ["brand new"]);

        var a = await c.GetAsync(["a"], include: Include.Embeddings | Include.Documents | Include.Metadatas);
        a.Documents![0].Should().Be("brand new");
        a.Embeddings![0].Should().Equal(1f, 0f);
        ShouldHaveMetadata(a.Metadatas![0], ("k1", 1L), ("k2", "x"));
        (await c.GetAsync(whereDocument: WhereDocument.Contains("brand"))).Ids.Should().Equal("a");
        (await c.GetAsync(whereDocument: WhereDocument.Contains("doc a"))).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task Update_replaces_embedding_when_given()
    {
        var c = await Seeded();

        await c.UpdateAsync(["b"], [[10f, 10f]]);

        (await c.GetAsync(["b"], include: Include.Embeddings)).Embeddings![0].Should().Equal(10f, 10f);
        (await c.QueryAsync([[10f, 10f]], nResults: 2)).Ids[0].Should().Equal("b", "a");
        (await c.GetAsync(["b"])).Documents![0].Should().Be("doc b");
    }

    [Fact]
    public async Task Update_keeps_insertion_order_when_records_change()
    {
        var c = await Seeded();
        await c.AddAsync(["c"], [[1f, 1f]]);

        await c.UpdateAsync(["a"], [[5f, 5f]], documents: ["changed"]);

        (await c.GetAsync()).Ids.Should().Equal("a", "b", "c");
    }

    [Fact]
    public async Task Update_throws_validation_naming_index_when_dimension_differs()
    {
        var c = await Seeded();

        var act = () => c.UpdateAsync(["a", "b"], [[1f, 1f], [1f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*expected dimension 2, got 1 at index 1*");
        (await c.GetAsync(["a"], include: Include.Embeddings)).Embeddings![0].Should().Equal(1f, 0f);
    }

    [Fact]
    public async Task Update_changes_nothing_when_any_record_is_invalid()
    {
        var c = await Seeded();
        var before = await Everything(c);

        var act = () => c.UpdateAsync(["a", "b"], metadatas: [Meta(("k1", 100)), Meta(("$bad", 1))]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*metadatas[1]*'b'*'$bad'*");
        (await Everything(c)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        ShouldHaveMetadata((await c.GetAsync(["a"])).Metadatas![0], ("k1", 1L), ("k2", "x"));
    }

    [Fact]
    public async Task Update_throws_validation_naming_duplicates_when_batch_repeats_ids()
    {
        var c = await Seeded();

        var act = () => c.UpdateAsync(["b", "b"], metadatas: [Meta(("k", 1)), Meta(("k", 2))]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*duplicate*'b'*");
    }
}

public sealed class UpdateContractEmbedded : UpdateContract<EmbeddedTarget>;
