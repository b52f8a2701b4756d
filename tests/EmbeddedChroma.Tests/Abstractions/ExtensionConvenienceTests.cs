namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// The conveniences written once over the contract (<see cref="ChromaCollectionExtensions"/>,
/// <see cref="ChromaClientExtensions"/>): Chroma's optional arguments, with failures through the returned task like
/// the interface calls they wrap.
/// </summary>
public sealed class ExtensionConvenienceTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    private async Task<IChromaCollection> SeededAsync(int count = 4)
    {
        IChromaCollection c = await _h.CreateAsync("items");
        await c.AddAsync(
            Enumerable.Range(0, count).Select(i => "r" + i).ToArray(),
            Enumerable.Range(0, count).Select(i => new[] { (float)i, 1f }).ToArray(),
            Enumerable.Range(0, count).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)ContractHarness.Meta(("i", i))).ToArray(),
            Enumerable.Range(0, count).Select(i => (string?)("doc " + i)).ToArray());
        return c;
    }

    private static Task Returned(Func<Task> call, string what)
    {
        Task? task = null;
        Action invoke = () => task = call();
        invoke.Should().NotThrow($"{what} must report its failure through the returned task");
        return task!;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task PeekAsync_fails_through_the_task_with_ChromaValidationException_when_the_limit_is_not_positive(int limit)
    {
        var c = await SeededAsync();

        await Returned(() => c.PeekAsync(limit), "peek").Invoking(t => t).Should().ThrowAsync<ChromaValidationException>();
    }

    [Fact]
    public async Task PeekAsync_returns_the_first_records_with_embeddings_metadatas_and_documents_when_the_limit_is_positive()
    {
        var c = await SeededAsync();

        var peeked = await c.PeekAsync(2);
        var all = await c.PeekAsync();

        peeked.Ids.Should().Equal("r0", "r1");
        peeked.Embeddings![1].Should().Equal(1f, 1f);
        peeked.Metadatas![1]!["i"].Should().Be(MetadataValue.FromInt64(1));
        peeked.Documents.Should().Equal("doc 0", "doc 1");
        all.Ids.Should().HaveCount(4, "the default limit of 10 exceeds the 4 records");
    }

    [Fact]
    public async Task GetAsync_without_arguments_returns_every_record_in_insertion_order_with_Chromas_default_include()
    {
        var c = await SeededAsync(25);

        var all = await c.GetAsync();

        all.Ids.Should().Equal(Enumerable.Range(0, 25).Select(i => "r" + i));
        all.Included.Should().Be(ChromaDefaults.GetInclude);
        all.Documents.Should().HaveCount(25);
        all.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task Extension_arguments_reach_the_request_when_given()
    {
        var c = await SeededAsync();

        var page = await c.GetAsync(limit: 2, offset: 1, include: Include.Embeddings);
        var filtered = await c.GetAsync(where: Where.Gte("i", 2), whereDocument: WhereDocument.Contains("doc 3"));
        var nearest = await c.QueryAsync([[3f, 1f]], nResults: 2, ids: ["r0", "r1", "r3"], include: Include.Distances, efSearch: 50);

        page.Ids.Should().Equal("r1", "r2");
        page.Embeddings.Should().NotBeNull();
        page.Documents.Should().BeNull();
        filtered.Ids.Should().Equal("r3");
        nearest.Ids[0].Should().Equal("r3", "r1");
        nearest.Distances![0][0].Should().Be(0);
        await Returned(() => c.QueryAsync([[3f, 1f]], efSearch: 0), "query ef_search 0").Invoking(t => t).Should().ThrowAsync<ChromaValidationException>();
    }

    [Fact]
    public async Task Write_extensions_change_records_when_given_optional_lists()
    {
        var c = await SeededAsync();

        await c.UpsertAsync(["r0", "r9"], [[0f, 0f], [9f, 9f]]);
        await c.UpdateAsync(["r1"], metadatas: [ContractHarness.Meta(("i", null), ("tag", "t"))], documents: ["updated"]);
        await c.DeleteAsync(where: Where.Eq("i", 2));
        await c.DeleteAsync(ids: ["r3"]);
        await c.ModifyAsync(name: "renamed", configuration: new CollectionConfigurationUpdate { EfSearch = 33 });

        var all = await c.GetAsync(include: Include.Embeddings | Include.Metadatas | Include.Documents);
        all.Ids.Should().Equal("r0", "r1", "r9");
        all.Embeddings![0].Should().Equal(0f, 0f);
        all.Documents![0].Should().Be("doc 0", "an upsert without documents keeps the document");
        all.Documents[1].Should().Be("updated");
        all.Metadatas![1]!.Keys.Should().Equal("tag");
        c.Name.Should().Be("renamed");
        c.Configuration.EfSearch.Should().Be(33);
    }

    [Fact]
    public async Task DeleteAsync_without_selectors_fails_through_the_task_and_deletes_nothing()
    {
        var c = await SeededAsync();

        await Returned(() => c.DeleteAsync(), "delete").Invoking(t => t).Should().ThrowAsync<ChromaValidationException>();

        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task Write_extensions_fail_through_the_task_with_ChromaValidationException_when_ids_are_null()
    {
        var c = await SeededAsync();

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("add", () => c.AddAsync((IReadOnlyList<string>)null!, [[1f, 1f]])),
            ("upsert", () => c.UpsertAsync((IReadOnlyList<string>)null!, [[1f, 1f]])),
            ("update", () => c.UpdateAsync((IReadOnlyList<string>)null!, documents: ["x"])),
        })
        {
            await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaValidationException>(what);
        }

        (await c.CountAsync()).Should().Be(4);
    }

    [Fact]
    public async Task ListCollectionsAsync_without_arguments_lists_every_collection_oldest_first()
    {
        foreach (var name in new[] { "zeta", "alpha", "mid" })
        {
            await _h.CreateAsync(name);
        }

        var listed = await _h.Client.ListCollectionsAsync();

        listed.Select(c => c.Name).Should().Equal("zeta", "alpha", "mid");
        (await _h.Client.ListDatabasesAsync()).Select(d => d.Name).Should().Equal(ChromaDefaults.Database);
    }

    [Fact]
    public async Task Client_extensions_create_get_and_find_by_id_when_given_only_a_name_or_id()
    {
        var created = await _h.Client.CreateCollectionAsync("made");
        var same = await _h.Client.GetOrCreateCollectionAsync("made");
        var fresh = await _h.Client.GetOrCreateCollectionAsync("fresh");
        var byName = await _h.Client.GetCollectionAsync("made");
        var byId = await _h.Client.GetCollectionAsync(created.Id);

        same.Id.Should().Be(created.Id);
        fresh.Id.Should().NotBe(created.Id);
        byName.Id.Should().Be(created.Id);
        byId.Name.Should().Be("made");
        byId.EmbeddingGenerator.Should().BeNull();
        created.Configuration.Should().Be(new CollectionConfiguration(), "Chroma's defaults");
        await Returned(() => _h.Client.CreateCollectionAsync("made"), "create twice").Invoking(t => t).Should().ThrowAsync<ChromaConflictException>();
    }

    [Fact]
    public async Task WithDatabase_keeps_the_tenant_when_given_only_a_database()
    {
        await _h.Client.CreateTenantAsync("acme");
        var acme = _h.Client.WithDatabase(ChromaDefaults.Database, "acme");
        await acme.CreateDatabaseAsync("east");
        await acme.CreateDatabaseAsync("west");

        var east = acme.WithDatabase("east");
        var west = east.WithDatabase("west");
        await east.CreateCollectionAsync("shared-name");
        await west.CreateCollectionAsync("shared-name");

        east.Tenant.Should().Be("acme");
        east.Database.Should().Be("east");
        west.Tenant.Should().Be("acme");
        (await east.GetCollectionAsync("shared-name")).Database.Should().Be("east");
        (await west.GetCollectionAsync("shared-name")).Tenant.Should().Be("acme");
        (await _h.Client.CountCollectionsAsync()).Should().Be(0, "the default database is untouched");
    }

    [Fact]
    public async Task WithDatabase_throws_ChromaNotFoundException_when_the_database_is_outside_the_keys_scope()
    {
        await _h.Client.CreateDatabaseAsync("private");
        var client = _h.ClientFor(_h.Mint([ChromaActions.AllData], ["default_tenant/default_database"]));

        var act = () => client.WithDatabase("private");

        act.Should().Throw<ChromaNotFoundException>("out of scope reads like missing, as GetClient does");
    }
}
