namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// Chroma's rules as the contract documents them, checked through <see cref="IChromaCollection"/>: embeddings come back
/// as given (not normalized), distances follow Chroma's definitions per space, an add of an existing id changes
/// nothing, an update of documents alone keeps the embedding, and lists show only what the key may see.
/// </summary>
public sealed class ChromaRulesContractTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    private async Task<IChromaCollection> SpaceAsync(DistanceSpace space)
    {
        var c = await _h.Client.CreateCollectionAsync(space.ToString().ToLowerInvariant() + "-space", new CollectionOptions { Configuration = new CollectionConfiguration { Space = space } });
        await c.AddAsync(new RecordBatch { Ids = ["a", "b"], Embeddings = [[3, 4], [0, 2]] });
        return c;
    }

    [Fact]
    public async Task GetAsync_and_QueryAsync_return_embeddings_as_given_when_the_space_is_cosine()
    {
        var c = await SpaceAsync(DistanceSpace.Cosine);

        var got = await c.GetAsync(new GetRequest { Include = Include.Embeddings });
        var queried = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 0]], Include = Include.Embeddings });

        got.Embeddings![0].Should().Equal(3f, 4f);
        got.Embeddings[1].Should().Equal(0f, 2f);
        queried.Embeddings![0][0].Should().Equal(3f, 4f);
    }

    [Theory]
    [InlineData(DistanceSpace.L2, 0f, 0f, 25f, 4f)]
    [InlineData(DistanceSpace.Cosine, 1f, 0f, 0.4f, 1f)]
    [InlineData(DistanceSpace.InnerProduct, 1f, 2f, -10f, -3f)]
    public async Task QueryAsync_returns_Chromas_distance_for_the_space_when_distances_are_included(DistanceSpace space, float q0, float q1, float toA, float toB)
    {
        var c = await SpaceAsync(space);

        var result = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[q0, q1]], NResults = 2, Include = Include.Distances });

        var distances = result.Ids[0].Zip(result.Distances![0]).ToDictionary(p => p.First, p => p.Second);
        distances["a"].Should().BeApproximately(toA, 1e-5f);
        distances["b"].Should().BeApproximately(toB, 1e-5f);
        result.Distances[0].Should().BeInAscendingOrder();
    }

    [Fact]
    public async Task AddAsync_leaves_an_existing_record_unchanged_when_its_id_is_added_again()
    {
        IChromaCollection c = await _h.CreateAsync("once");
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 1]], Documents = ["first"], Metadatas = [ContractHarness.Meta(("v", 1))] });

        await c.AddAsync(new RecordBatch { Ids = ["a", "b"], Embeddings = [[9, 9], [2, 2]], Documents = ["second", "b"], Metadatas = [ContractHarness.Meta(("v", 2)), null] });

        var all = await c.GetAsync(new GetRequest { Include = Include.Embeddings | Include.Documents | Include.Metadatas });
        all.Ids.Should().Equal("a", "b");
        all.Documents![0].Should().Be("first");
        all.Embeddings![0].Should().Equal(1f, 1f);
        all.Metadatas![0]!["v"].Should().Be(MetadataValue.FromInt64(1));
    }

    [Fact]
    public async Task UpdateAsync_changes_documents_and_keeps_embeddings_when_the_handle_has_no_generator()
    {
        IChromaCollection c = await _h.CreateAsync("docs");
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2]], Documents = ["old"] });

        await c.UpdateAsync(new RecordBatch { Ids = ["a"], Documents = ["new"] });

        var all = await c.GetAsync(new GetRequest { Include = Include.Embeddings | Include.Documents });
        all.Documents.Should().Equal("new");
        all.Embeddings![0].Should().Equal(1f, 2f);
    }

    [Fact]
    public async Task ListCollectionsAsync_and_CountCollectionsAsync_show_only_the_collections_in_the_keys_scope()
    {
        foreach (var name in new[] { "public-a", "secret-b", "public-c" })
        {
            await _h.CreateAsync(name);
        }

        var client = _h.ClientFor(_h.Mint([ChromaActions.AllData], ["default_tenant/default_database/public-a", "default_tenant/default_database/public-c"]));

        (await client.ListCollectionsAsync(null, 0)).Select(c => c.Name).Should().Equal("public-a", "public-c");
        (await client.CountCollectionsAsync()).Should().Be(2);
        (await client.ListCollectionsAsync(1, 1)).Select(c => c.Name).Should().Equal(new[] { "public-c" }, "paging applies to what the key sees");
    }

    [Fact]
    public async Task GetAsync_pages_in_insertion_order_when_limit_and_offset_are_given()
    {
        IChromaCollection c = await _h.CreateAsync("paged");
        var ids = Enumerable.Range(0, 12).Select(i => $"z{11 - i}").ToArray();
        await c.AddAsync(new RecordBatch { Ids = ids, Embeddings = ids.Select((_, i) => new[] { (float)i, 0f }).ToArray() });

        var pages = new List<string>();
        for (var offset = 0; offset < 12; offset += 5)
        {
            pages.AddRange((await c.GetAsync(new GetRequest { Limit = 5, Offset = offset, Include = Include.None })).Ids);
        }

        pages.Should().Equal(ids, "insertion order, not id order");
        (await c.GetAsync(new GetRequest { Offset = 12 })).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task ModifyAsync_throws_ChromaConflictException_and_changes_nothing_when_the_new_name_is_taken()
    {
        await _h.CreateAsync("taken");
        var c = await _h.Client.CreateCollectionAsync("mine", new CollectionOptions { Metadata = ContractHarness.Meta(("v", 1)) });

        await c.Invoking(x => x.ModifyAsync(new CollectionModification
        {
            Name = "taken",
            Metadata = ContractHarness.Meta(("v", 2)),
            Configuration = new CollectionConfigurationUpdate { EfSearch = 7 },
        })).Should().ThrowAsync<ChromaConflictException>();

        var reread = await _h.Client.GetCollectionAsync("mine", null);
        reread.Metadata!["v"].Should().Be(MetadataValue.FromInt64(1), "a failed modify changes nothing");
        reread.Configuration.EfSearch.Should().Be(new CollectionConfiguration().EfSearch);
        c.Name.Should().Be("mine");
    }

    [Fact]
    public async Task ModifyAsync_throws_ChromaNotFoundException_and_keeps_the_name_when_the_new_name_is_outside_the_keys_scope()
    {
        await _h.CreateAsync("scoped");
        var client = _h.ClientFor(_h.Mint([ChromaActions.AllData], ["default_tenant/default_database/scoped"]));
        var c = await client.GetCollectionAsync("scoped", null);

        await c.Invoking(x => x.ModifyAsync(new CollectionModification { Name = "escaped" })).Should().ThrowAsync<ChromaNotFoundException>();

        (await _h.Client.ListCollectionsAsync(null, 0)).Select(x => x.Name).Should().Equal("scoped");
    }
}
