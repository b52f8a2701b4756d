namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// The async contract on the embedded store, used only through <see cref="IChromaClient"/> and
/// <see cref="IChromaCollection"/> variables: every call works, every failure arrives through the returned task (the
/// call itself never throws), an already-cancelled token gives a cancelled task that changed nothing, and the
/// request defaults are Chroma's.
/// </summary>
public sealed class AsyncContractTests : IDisposable
{
    private const int Dim = 3;
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static RecordBatch Batch(params string[] ids) => new()
    {
        Ids = ids,
        Embeddings = ids.Select((_, i) => new[] { i + 1f, 0.5f, -i }).ToArray(),
        Metadatas = ids.Select((id, i) => (IReadOnlyDictionary<string, MetadataValue?>?)ContractHarness.Meta(("i", i), ("id", id))).ToArray(),
        Documents = ids.Select(id => (string?)("doc " + id)).ToArray(),
    };

    private async Task<IChromaCollection> SeededAsync(string name = "seeded", params string[] ids)
    {
        IChromaCollection collection = await _h.CreateAsync(name);
        await collection.AddAsync(Batch(ids.Length == 0 ? ["a", "b", "c"] : ids));
        return collection;
    }

    /// <summary>Calls <paramref name="call"/>, asserting the call itself does not throw, and returns its task.</summary>
    private static Task Returned(Func<Task> call, string what)
    {
        Task? task = null;
        Action invoke = () => task = call();
        invoke.Should().NotThrow($"{what} must report its failure through the returned task");
        task.Should().NotBeNull(what);
        return task!;
    }

    [Fact]
    public async Task Every_client_and_collection_call_works_when_used_through_the_contract()
    {
        IChromaClient client = _h.Client;

        (await client.HeartbeatAsync()).Should().BePositive();
        await client.CreateTenantAsync("acme");
        (await client.GetTenantAsync("acme")).Should().Be(new TenantInfo("acme"));
        await client.CreateDatabaseAsync("db-one");
        await client.CreateDatabaseAsync("db-two");
        (await client.GetDatabaseAsync("db-one")).Should().Be(new DatabaseInfo(ChromaDefaults.Tenant, "db-one"));
        (await client.ListDatabasesAsync(null, 0)).Select(d => d.Name).Should().Equal(ChromaDefaults.Database, "db-one", "db-two");
        (await client.ListDatabasesAsync(1, 1)).Select(d => d.Name).Should().Equal("db-one");

        IChromaClient other = client.WithDatabase("db-one", ChromaDefaults.Tenant);
        other.Database.Should().Be("db-one");
        var created = await other.CreateCollectionAsync("books", new CollectionOptions { Metadata = ContractHarness.Meta(("topic", "sf")) });
        created.Database.Should().Be("db-one");
        created.Metadata!["topic"].Should().Be(MetadataValue.FromString("sf"));
        (await other.GetOrCreateCollectionAsync("books", null)).Id.Should().Be(created.Id);
        (await other.GetCollectionAsync("books", null)).Id.Should().Be(created.Id);
        (await other.GetCollectionAsync(created.Id, null)).Name.Should().Be("books");
        (await other.ListCollectionsAsync(null, 0)).Select(c => c.Id).Should().Equal(created.Id);
        (await other.CountCollectionsAsync()).Should().Be(1);
        (await client.CountCollectionsAsync()).Should().Be(0, "collections belong to their database");

        IChromaCollection books = created;
        books.Dimension.Should().BeNull();
        await books.AddAsync(Batch("a", "b", "c"));
        books.Dimension.Should().Be(Dim);
        (await books.CountAsync()).Should().Be(3);
        await books.UpsertAsync(new RecordBatch { Ids = ["c", "d"], Embeddings = [[9, 9, 9], [8, 8, 8]], Documents = ["new c", "doc d"] });
        await books.UpdateAsync(new RecordBatch { Ids = ["a", "missing"], Metadatas = [ContractHarness.Meta(("i", null), ("tag", "x")), null] });
        (await books.CountAsync()).Should().Be(4, "update skips ids that do not exist");

        var got = await books.GetAsync(new GetRequest { Ids = ["a", "c"] });
        got.Ids.Should().Equal("a", "c");
        got.Metadatas![0]!.Keys.Should().BeEquivalentTo("id", "tag");
        got.Documents.Should().Equal("doc a", "new c");

        var near = await books.QueryAsync(new QueryRequest { QueryEmbeddings = [[9, 9, 9], [1, 0.5f, 0]], NResults = 2 });
        near.Ids.Should().HaveCount(2);
        near.Ids[0][0].Should().Be("c");
        near.Ids[1][0].Should().Be("a");
        near.Distances![0][0].Should().Be(0);

        await books.DeleteAsync(new DeleteRequest { Ids = ["d"] });
        (await books.CountAsync()).Should().Be(3);
        await books.DeleteAsync(new DeleteRequest { Where = Where.Eq("id", "b") });
        (await books.GetAsync(new GetRequest())).Ids.Should().Equal("a", "c");

        await books.ModifyAsync(new CollectionModification { Name = "novels", Metadata = ContractHarness.Meta(("topic", "fiction")), Configuration = new CollectionConfigurationUpdate { EfSearch = 77 } });
        books.Name.Should().Be("novels");
        books.Configuration.EfSearch.Should().Be(77);
        var reread = await other.GetCollectionAsync("novels", null);
        reread.Metadata!["topic"].Should().Be(MetadataValue.FromString("fiction"));
        reread.Configuration.EfSearch.Should().Be(77);

        await other.DeleteCollectionAsync("novels");
        (await other.CountCollectionsAsync()).Should().Be(0);
        await client.DeleteDatabaseAsync("db-two");
        (await client.ListDatabasesAsync(null, 0)).Select(d => d.Name).Should().Equal(ChromaDefaults.Database, "db-one");
    }

    [Fact]
    public async Task Collection_calls_fail_through_the_task_with_ChromaValidationException_when_the_input_is_invalid()
    {
        IChromaCollection c = await SeededAsync();
        var bad = new (string What, Func<Task> Call)[]
        {
            ("add null batch", () => c.AddAsync(null!)),
            ("upsert null batch", () => c.UpsertAsync(null!)),
            ("update null batch", () => c.UpdateAsync(null!)),
            ("get null request", () => c.GetAsync(null!)),
            ("query null request", () => c.QueryAsync(null!)),
            ("delete null request", () => c.DeleteAsync(null!)),
            ("modify null changes", () => c.ModifyAsync(null!)),
            ("add null ids", () => c.AddAsync(new RecordBatch { Ids = null!, Embeddings = [[1, 2, 3]] })),
            ("add no ids", () => c.AddAsync(new RecordBatch { Ids = [], Embeddings = [] })),
            ("add without embeddings or generator", () => c.AddAsync(new RecordBatch { Ids = ["x"] })),
            ("add documents without a generator", () => c.AddAsync(new RecordBatch { Ids = ["x"], Documents = ["text"] })),
            ("add fewer embeddings", () => c.AddAsync(new RecordBatch { Ids = ["x", "y"], Embeddings = [[1, 2, 3]] })),
            ("add fewer metadatas", () => c.AddAsync(new RecordBatch { Ids = ["x", "y"], Embeddings = [[1, 2, 3], [1, 2, 3]], Metadatas = [null] })),
            ("add more documents", () => c.AddAsync(new RecordBatch { Ids = ["x"], Embeddings = [[1, 2, 3]], Documents = ["1", "2"] })),
            ("add duplicate ids", () => c.AddAsync(new RecordBatch { Ids = ["x", "x"], Embeddings = [[1, 2, 3], [1, 2, 3]] })),
            ("add wrong dimension", () => c.AddAsync(new RecordBatch { Ids = ["x"], Embeddings = [[1, 2]] })),
            ("add NaN", () => c.AddAsync(new RecordBatch { Ids = ["x"], Embeddings = [[1, float.NaN, 3]] })),
            ("add empty id", () => c.AddAsync(new RecordBatch { Ids = [""], Embeddings = [[1, 2, 3]] })),
            ("upsert without embeddings", () => c.UpsertAsync(new RecordBatch { Ids = ["a"] })),
            ("update wrong dimension", () => c.UpdateAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2, 3, 4]] })),
            ("get distances", () => c.GetAsync(new GetRequest { Include = Include.Distances })),
            ("get negative limit", () => c.GetAsync(new GetRequest { Limit = -1 })),
            ("get negative offset", () => c.GetAsync(new GetRequest { Offset = -1 })),
            ("query no embeddings", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [] })),
            ("query null embeddings", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = null! })),
            ("query n_results 0", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]], NResults = 0 })),
            ("query wrong dimension", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2]] })),
            ("query ef_search 0", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]], EfSearch = 0 })),
            ("query ef_search above the maximum", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]], EfSearch = CollectionConfiguration.MaxEfSearch + 1 })),
            ("delete without selector", () => c.DeleteAsync(new DeleteRequest())),
            ("modify bad name", () => c.ModifyAsync(new CollectionModification { Name = "x" })),
        };

        foreach (var (what, call) in bad)
        {
            await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaValidationException>(what);
        }

        (await c.CountAsync()).Should().Be(3, "no failed call changed anything");
        (await c.GetAsync(new GetRequest { Ids = ["a"] })).Metadatas![0]!["i"].Should().Be(MetadataValue.FromInt64(0));
        c.Name.Should().Be("seeded");
    }

    [Fact]
    public async Task Client_calls_fail_through_the_task_with_a_ChromaException_when_the_input_is_invalid_or_missing()
    {
        IChromaClient client = _h.Client;
        await _h.CreateAsync("taken");
        await client.CreateDatabaseAsync("dbx");
        var bad = new (string What, Func<Task> Call, Type Expected)[]
        {
            ("create collection bad name", () => client.CreateCollectionAsync("a", null), typeof(ChromaValidationException)),
            ("create collection null name", () => client.CreateCollectionAsync(null!, null), typeof(ChromaValidationException)),
            ("create collection twice", () => client.CreateCollectionAsync("taken", null), typeof(ChromaCollectionExistsException)),
            ("create collection bad ef", () => client.CreateCollectionAsync("fresh", new CollectionOptions { Configuration = new CollectionConfiguration { EfSearch = 0 } }), typeof(ChromaValidationException)),
            ("get missing collection", () => client.GetCollectionAsync("missing", null), typeof(ChromaNotFoundException)),
            ("delete missing collection", () => client.DeleteCollectionAsync("missing"), typeof(ChromaNotFoundException)),
            ("get missing tenant", () => client.GetTenantAsync("nobody"), typeof(ChromaNotFoundException)),
            ("create existing tenant", () => client.CreateTenantAsync(ChromaDefaults.Tenant), typeof(ChromaConflictException)),
            ("create bad tenant", () => client.CreateTenantAsync("!"), typeof(ChromaValidationException)),
            ("get missing database", () => client.GetDatabaseAsync("nothing"), typeof(ChromaNotFoundException)),
            ("create existing database", () => client.CreateDatabaseAsync("dbx"), typeof(ChromaConflictException)),
            ("delete missing database", () => client.DeleteDatabaseAsync("nothing"), typeof(ChromaNotFoundException)),
            ("list databases negative offset", () => client.ListDatabasesAsync(null, -1), typeof(ChromaValidationException)),
            ("list collections negative limit", () => client.ListCollectionsAsync(-1, 0), typeof(ChromaValidationException)),
        };

        foreach (var (what, call, expected) in bad)
        {
            var thrown = await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaException>(what);
            thrown.Which.Should().BeOfType(expected, what);
        }

        (await client.ListCollectionsAsync(null, 0)).Select(c => c.Name).Should().Equal("taken");
    }

    [Fact]
    public async Task Client_lookups_fail_with_ChromaValidationException_when_a_name_is_null()
    {
        // Through the contract a null name is an invalid request like any other (CreateCollectionAsync says so);
        // an ArgumentNullException is not part of the ChromaException hierarchy a remote client maps errors onto.
        IChromaClient client = _h.Client;
        var calls = new (string What, Func<Task> Call)[]
        {
            ("get collection", () => client.GetCollectionAsync((string)null!, null)),
            ("delete collection", () => client.DeleteCollectionAsync(null!)),
            ("get tenant", () => client.GetTenantAsync(null!)),
            ("get database", () => client.GetDatabaseAsync(null!)),
            ("delete database", () => client.DeleteDatabaseAsync(null!)),
        };

        foreach (var (what, call) in calls)
        {
            await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaValidationException>(what);
        }
    }

    [Fact]
    public async Task Calls_fail_through_the_task_with_ChromaNotFoundException_when_the_collection_was_deleted()
    {
        IChromaCollection c = await SeededAsync("doomed");
        await _h.Client.DeleteCollectionAsync("doomed");

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("count", () => c.CountAsync()),
            ("add", () => c.AddAsync(Batch("z"))),
            ("get", () => c.GetAsync(new GetRequest())),
            ("query", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]] })),
            ("delete", () => c.DeleteAsync(new DeleteRequest { Ids = ["a"] })),
            ("modify", () => c.ModifyAsync(new CollectionModification { Name = "reborn" })),
        })
        {
            await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaNotFoundException>(what);
        }
    }

    [Fact]
    public async Task Calls_fail_through_the_task_with_ChromaStoreClosedException_when_the_store_is_closed()
    {
        IChromaClient client = _h.Client;
        IChromaCollection c = await SeededAsync();
        _h.Store.Dispose();

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("heartbeat", () => client.HeartbeatAsync()),
            ("list", () => client.ListCollectionsAsync(null, 0)),
            ("get collection", () => client.GetCollectionAsync(c.Id, null)),
            ("count", () => c.CountAsync()),
            ("add", () => c.AddAsync(Batch("z"))),
            ("query", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]] })),
        })
        {
            await Returned(call, what).Invoking(t => t).Should().ThrowAsync<ChromaStoreClosedException>(what);
        }
    }

    [Fact]
    public async Task Collection_calls_return_a_cancelled_task_and_change_nothing_when_the_token_is_cancelled()
    {
        IChromaCollection c = await SeededAsync();
        var cancelled = new CancellationToken(canceled: true);
        var before = await c.GetAsync(new GetRequest { Include = Include.Embeddings | Include.Metadatas | Include.Documents });

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("count", () => c.CountAsync(cancelled)),
            ("add", () => c.AddAsync(Batch("x", "y"), cancelled)),
            ("upsert", () => c.UpsertAsync(new RecordBatch { Ids = ["a", "n"], Embeddings = [[7, 7, 7], [6, 6, 6]] }, cancelled)),
            ("update", () => c.UpdateAsync(new RecordBatch { Ids = ["b"], Documents = ["changed"] }, cancelled)),
            ("get", () => c.GetAsync(new GetRequest(), cancelled)),
            ("query", () => c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]] }, cancelled)),
            ("delete", () => c.DeleteAsync(new DeleteRequest { Ids = ["a"] }, cancelled)),
            ("modify", () => c.ModifyAsync(new CollectionModification { Name = "renamed", Configuration = new CollectionConfigurationUpdate { EfSearch = 5 } }, cancelled)),
        })
        {
            var task = Returned(call, what);
            await task.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>(what);
            task.IsCanceled.Should().BeTrue($"{what}: a cancelled token gives a cancelled task, not a faulted one");
        }

        (await c.CountAsync()).Should().Be(3);
        var after = await c.GetAsync(new GetRequest { Include = Include.Embeddings | Include.Metadatas | Include.Documents });
        after.Ids.Should().Equal(before.Ids);
        after.Documents.Should().Equal(before.Documents);
        after.Embeddings.Should().BeEquivalentTo(before.Embeddings, o => o.WithStrictOrdering());
        after.Metadatas.Should().BeEquivalentTo(before.Metadatas);
        c.Name.Should().Be("seeded");
        (await _h.Client.GetCollectionAsync("seeded", null)).Configuration.EfSearch.Should().Be(c.Configuration.EfSearch);
    }

    [Fact]
    public async Task Client_calls_return_a_cancelled_task_and_change_nothing_when_the_token_is_cancelled()
    {
        IChromaClient client = _h.Client;
        await _h.CreateAsync("kept");
        var cancelled = new CancellationToken(canceled: true);

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("heartbeat", () => client.HeartbeatAsync(cancelled)),
            ("create tenant", () => client.CreateTenantAsync("acme", cancelled)),
            ("get tenant", () => client.GetTenantAsync(ChromaDefaults.Tenant, cancelled)),
            ("create database", () => client.CreateDatabaseAsync("newdb", cancelled)),
            ("get database", () => client.GetDatabaseAsync(ChromaDefaults.Database, cancelled)),
            ("list databases", () => client.ListDatabasesAsync(null, 0, cancelled)),
            ("delete database", () => client.DeleteDatabaseAsync(ChromaDefaults.Database, cancelled)),
            ("create collection", () => client.CreateCollectionAsync("fresh", null, cancelled)),
            ("get or create collection", () => client.GetOrCreateCollectionAsync("fresh2", null, cancelled)),
            ("get collection", () => client.GetCollectionAsync("kept", null, cancelled)),
            ("get collection by id", () => client.GetCollectionAsync(Guid.NewGuid(), null, cancelled)),
            ("list collections", () => client.ListCollectionsAsync(null, 0, cancelled)),
            ("count collections", () => client.CountCollectionsAsync(cancelled)),
            ("delete collection", () => client.DeleteCollectionAsync("kept", cancelled)),
        })
        {
            var task = Returned(call, what);
            await task.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>(what);
            task.IsCanceled.Should().BeTrue(what);
        }

        (await client.ListCollectionsAsync(null, 0)).Select(c => c.Name).Should().Equal("kept");
        (await client.ListDatabasesAsync(null, 0)).Select(d => d.Name).Should().Equal(ChromaDefaults.Database);
        await client.Invoking(c => c.GetTenantAsync("acme")).Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task AddAsync_writes_nothing_when_the_token_is_cancelled_while_the_generator_embeds()
    {
        using var cts = new CancellationTokenSource();
        var generator = new CancellingGenerator(cts);
        IChromaCollection c = await _h.CreateAsync("texts", generator);

        var task = Returned(() => c.AddAsync(new RecordBatch { Ids = ["a", "b"], Documents = ["cat", "dog"] }, cts.Token), "add");

        await task.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        generator.Calls.Should().Be(1);
        (await c.CountAsync()).Should().Be(0);
    }

    [Fact]
    public async Task GetAsync_returns_metadatas_and_documents_only_when_Include_is_left_out()
    {
        IChromaCollection c = await SeededAsync();

        var result = await c.GetAsync(new GetRequest());

        result.Included.Should().Be(ChromaDefaults.GetInclude);
        result.Included.Should().Be(Include.Metadatas | Include.Documents);
        result.Ids.Should().Equal("a", "b", "c");
        result.Metadatas.Should().NotBeNull().And.HaveCount(3);
        result.Documents.Should().Equal("doc a", "doc b", "doc c");
        result.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task QueryAsync_returns_metadatas_documents_and_distances_only_when_Include_is_left_out()
    {
        IChromaCollection c = await SeededAsync();

        var result = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 0.5f, 0]] });

        result.Included.Should().Be(ChromaDefaults.QueryInclude);
        result.Included.Should().Be(Include.Metadatas | Include.Documents | Include.Distances);
        result.Ids[0].Should().HaveCount(3, "n_results defaults to 10 and there are 3 records");
        result.Ids[0][0].Should().Be("a");
        result.Distances![0][0].Should().Be(0);
        result.Documents![0][0].Should().Be("doc a");
        result.Metadatas![0][0]!["id"].Should().Be(MetadataValue.FromString("a"));
        result.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_and_QueryAsync_return_exactly_what_is_included_when_Include_is_given()
    {
        IChromaCollection c = await SeededAsync();

        var idsOnly = await c.GetAsync(new GetRequest { Include = Include.None });
        var embeddings = await c.GetAsync(new GetRequest { Ids = ["b"], Include = Include.Embeddings });
        var queried = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[2, 0.5f, -1]], NResults = 1, Include = Include.Embeddings | Include.Distances });

        idsOnly.Ids.Should().Equal("a", "b", "c");
        idsOnly.Metadatas.Should().BeNull();
        idsOnly.Documents.Should().BeNull();
        idsOnly.Embeddings.Should().BeNull();
        embeddings.Embeddings![0].Should().Equal(2f, 0.5f, -1f);
        embeddings.Documents.Should().BeNull();
        queried.Ids[0].Should().Equal("b");
        queried.Embeddings![0][0].Should().Equal(2f, 0.5f, -1f);
        queried.Metadatas.Should().BeNull();
        queried.Documents.Should().BeNull();
    }

    [Fact]
    public async Task QueryAsync_honours_EfSearch_when_the_HNSW_graph_serves_the_query()
    {
        // A graph with ef_search 1 (the narrowest walk): the request's EfSearch must reach the walk, so a wide
        // per-call ef_search finds the true nearest neighbours where the collection's setting does not.
        using var h = new ContractHarness(new ChromaStoreOptions { HnswThreshold = 500 });
        IChromaCollection c = await h.Client.CreateCollectionAsync("graph", new CollectionOptions { Configuration = new CollectionConfiguration { EfSearch = 1 } });
        const int n = 1_500;
        const int dim = 24;
        var vectors = ContractHarness.Vectors(n, dim, seed: 7);
        await c.AddAsync(new RecordBatch { Ids = Enumerable.Range(0, n).Select(i => "v" + i).ToArray(), Embeddings = vectors });
        ((Collection)c).WaitForIndex();
        ((Collection)c).Indexer!.Graph.Should().NotBeNull("the query must be served by the graph for ef_search to matter");
        var queries = ContractHarness.Vectors(30, dim, seed: 8);

        double Recall(IReadOnlyList<IReadOnlyList<string>> found) => queries.Select((q, qi) =>
        {
            var truth = vectors.Select((v, i) => (Id: "v" + i, D: v.Zip(q, (a, b) => (a - b) * (double)(a - b)).Sum()))
                .OrderBy(p => p.D).Take(10).Select(p => p.Id).ToHashSet();
            return found[qi].Count(truth.Contains) / 10.0;
        }).Average();

        var narrow = await c.QueryAsync(new QueryRequest { QueryEmbeddings = queries, NResults = 10, Include = Include.None });
        var wide = await c.QueryAsync(new QueryRequest { QueryEmbeddings = queries, NResults = 10, Include = Include.None, EfSearch = 1_000 });
        var sync = ((Collection)c).Query(queries, nResults: 10, include: Include.None, efSearch: 1_000);

        Recall(wide.Ids).Should().BeGreaterThan(0.99);
        Recall(narrow.Ids).Should().BeLessThan(0.95, "ef_search 1 walks a narrow list (measured: about 0.83)");
        wide.Ids.Should().BeEquivalentTo(sync.Ids, o => o.WithStrictOrdering(), "the async call passes EfSearch on unchanged");
    }

    /// <summary>Cancels its source while it embeds, then returns embeddings as if it had not noticed.</summary>
    private sealed class CancellingGenerator(CancellationTokenSource source) : Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>
    {
        public int Calls { get; private set; }

        public async Task<Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, Microsoft.Extensions.AI.EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            await source.CancelAsync();
            return new(values.Select(v => new Microsoft.Extensions.AI.Embedding<float>(TestUtilities.DeterministicEmbeddingGenerator.Embed(v))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
