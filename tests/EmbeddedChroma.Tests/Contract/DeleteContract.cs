namespace EmbeddedChroma.Tests.Contract;

/// <summary>Delete by ids and/or filters, its validation, and that deleted records never come back while new ones reuse the space.</summary>
public abstract class DeleteContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private async Task<IChromaCollection> Seeded()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(
            ["a", "b", "c", "d"],
            [[1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f]],
            [Meta(("group", "x")), Meta(("group", "y")), Meta(("group", "x")), null],
            ["apple pie", "banana split", "cherry tart", null]);
        return c;
    }

    [Fact]
    public async Task Delete_by_ids_removes_them_and_ignores_missing_ids()
    {
        var c = await Seeded();

        var deleted = await DeletedBy(c, x => x.DeleteAsync(["b", "ghost", "d"]));

        deleted.Should().Be(2);
        (await c.GetAsync()).Ids.Should().Equal("a", "c");
        (await c.CountAsync()).Should().Be(2);
    }

    [Fact]
    public async Task Delete_by_where_removes_matching_records()
    {
        var c = await Seeded();

        (await DeletedBy(c, x => x.DeleteAsync(where: Where.Eq("group", "x")))).Should().Be(2);

        (await c.GetAsync()).Ids.Should().Equal("b", "d");
    }

    [Fact]
    public async Task Delete_by_where_document_removes_matching_records()
    {
        var c = await Seeded();

        (await DeletedBy(c, x => x.DeleteAsync(whereDocument: WhereDocument.Contains("an")))).Should().Be(1);

        (await c.GetAsync()).Ids.Should().Equal("a", "c", "d");
        (await c.GetAsync(whereDocument: WhereDocument.Contains("banana"))).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_intersects_selectors_when_several_are_given()
    {
        var c = await Seeded();

        (await DeletedBy(c, x => x.DeleteAsync(["a", "b", "d"], Where.Eq("group", "x")))).Should().Be(1);

        (await c.GetAsync()).Ids.Should().Equal("b", "c", "d");
    }

    [Fact]
    public async Task Delete_removes_nothing_when_nothing_matches()
    {
        var c = await Seeded();

        (await DeletedBy(c, x => x.DeleteAsync(where: Where.Eq("group", "none")))).Should().Be(0);
        (await DeletedBy(c, x => x.DeleteAsync(["ghost"]))).Should().Be(0);

        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Delete_removes_the_first_matching_records_in_insertion_order_when_limit_is_given()
    {
        var c = await Seeded();
        await c.AddAsync(["e", "f"], [[5f, 0f], [6f, 0f]], [Meta(("group", "x")), Meta(("group", "x"))]);

        (await DeletedBy(c, x => x.DeleteAsync(where: Where.Eq("group", "x"), limit: 2))).Should().Be(2);
        (await c.GetAsync()).Ids.Should().Equal("b", "d", "e", "f");

        (await DeletedBy(c, x => x.DeleteAsync(["f", "b", "e"], Where.Eq("group", "x"), limit: 1))).Should().Be(1);
        (await c.GetAsync()).Ids.Should().Equal("b", "d", "f");

        (await DeletedBy(c, x => x.DeleteAsync(whereDocument: WhereDocument.Contains("an"), limit: 5))).Should().Be(1);
        (await c.GetAsync()).Ids.Should().Equal("d", "f");
    }

    [Fact]
    public async Task Delete_removes_nothing_when_limit_is_zero()
    {
        var c = await Seeded();

        (await DeletedBy(c, x => x.DeleteAsync(where: Where.Eq("group", "x"), limit: 0))).Should().Be(0);

        (await c.CountAsync()).Should().Be(4);
    }

    [Theory]
    [InlineData(true, 1, "*limit*where*")]
    [InlineData(false, -1, "*limit*")]
    public async Task Delete_throws_validation_when_limit_has_no_filter_or_is_negative(bool idsOnly, int limit, string message)
    {
        var c = await Seeded();

        Func<Task> act = idsOnly
            ? () => c.DeleteAsync(["a", "b"], limit: limit)
            : () => c.DeleteAsync(where: Where.Eq("group", "x"), limit: limit);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage(message);
        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Delete_throws_validation_when_no_selector_is_given()
    {
        var c = await Seeded();

        var act = () => c.DeleteAsync();

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ids, where or where_document*");
        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Delete_throws_validation_naming_duplicates_when_ids_repeat()
    {
        var c = await Seeded();

        var act = () => c.DeleteAsync(["a", "a"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*duplicate*'a'*");
        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Query_never_returns_deleted_ids_when_records_were_deleted()
    {
        var random = new Random(99);
        var c = await CreateCollectionAsync();
        var ids = Enumerable.Range(0, 90).Select(i => $"r{i}").ToArray();
        var vectors = ids.Select(_ => Enumerable.Range(0, 6).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        await c.AddAsync(ids, vectors);
        var victims = ids.Where((_, i) => i % 3 == 0).ToArray();

        (await DeletedBy(c, x => x.DeleteAsync(victims))).Should().Be(30);

        var result = await c.QueryAsync(vectors.Take(20).ToArray(), nResults: 90);
        foreach (var list in result.Ids)
        {
            list.Should().HaveCount(60).And.NotContain(victims);
        }

        (await c.GetAsync()).Ids.Should().NotContain(victims).And.HaveCount(60);
    }

    [Fact]
    public async Task Add_reuses_deleted_slots_and_returns_the_new_records_when_records_were_deleted()
    {
        var c = await Seeded();
        await c.DeleteAsync(["a", "c"]);

        await c.AddAsync(["e", "f", "g"], [[10f, 0f], [11f, 0f], [12f, 0f]], documents: ["e doc", "f doc", "g doc"]);

        (await c.CountAsync()).Should().Be(5);
        var all = await Everything(c);
        all.Ids.Should().Equal("b", "d", "e", "f", "g");
        all.Embeddings.Should().BeEquivalentTo(new[] { new[] { 2f, 0f }, new[] { 4f, 0f }, new[] { 10f, 0f }, new[] { 11f, 0f }, new[] { 12f, 0f } }, o => o.WithStrictOrdering());
        var q = await c.QueryAsync([[1f, 0f]], nResults: 10);
        q.Ids[0].Should().Equal("b", "d", "e", "f", "g");
        q.Distances![0].Should().Equal(1f, 9f, 81f, 100f, 121f);
        (await c.QueryAsync([[10f, 0f]], nResults: 1)).Ids[0].Should().Equal("e");
    }

    [Fact]
    public async Task Add_accepts_a_deleted_id_again_with_new_content()
    {
        var c = await Seeded();
        await c.DeleteAsync(["a"]);

        await c.AddAsync(["a"], [[9f, 9f]], [Meta(("group", "new"))], ["reborn"]);

        var a = await c.GetAsync(["a"], include: Include.Embeddings | Include.Metadatas | Include.Documents);
        a.Embeddings![0].Should().Equal(9f, 9f);
        ShouldHaveMetadata(a.Metadatas![0], ("group", "new"));
        a.Documents![0].Should().Be("reborn");
        (await c.GetAsync(whereDocument: WhereDocument.Contains("apple"))).Ids.Should().BeEmpty();
        (await c.GetAsync()).Ids.Should().Equal("b", "c", "d", "a");
    }

    [Fact]
    public async Task Delete_then_add_keeps_results_consistent_over_many_rounds()
    {
        var random = new Random(7);
        var c = await CreateCollectionAsync(space: DistanceSpace.InnerProduct);
        var live = new Dictionary<string, float[]>();
        var next = 0;
        for (var round = 0; round < 15; round++)
        {
            var batch = Enumerable.Range(0, 8).Select(_ => ($"id{next++}", Enumerable.Range(0, 4).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray())).ToArray();
            await c.AddAsync(batch.Select(b => b.Item1).ToArray(), batch.Select(b => b.Item2).ToArray());
            foreach (var (id, v) in batch)
            {
                live[id] = v;
            }

            var victims = live.Keys.Where(_ => random.NextDouble() < 0.4).ToArray();
            if (victims.Length > 0)
            {
                (await DeletedBy(c, x => x.DeleteAsync(victims))).Should().Be(victims.Length);
                foreach (var v in victims)
                {
                    live.Remove(v);
                }
            }

            (await c.CountAsync()).Should().Be(live.Count);
            var query = new[] { (float)random.NextDouble(), (float)random.NextDouble(), 0.5f, -0.5f };
            var expected = live
                .Select(p => (p.Key, Distance: 1 - p.Value.Select((x, i) => (double)x * query[i]).Sum()))
                .OrderBy(p => p.Distance)
                .Take(5)
                .Select(p => p.Key);
            (await c.QueryAsync([query], nResults: 5)).Ids[0].Should().Equal(expected, $"round {round}");
        }
    }
}

public sealed class DeleteContractEmbedded : DeleteContract<EmbeddedTarget>;
