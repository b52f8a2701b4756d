namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// What a caller holds cannot reach what it should not: results are the caller's own copies, a handle of a deleted
/// collection never writes into a new collection of the same name, and racing get-or-create calls make one collection.
/// </summary>
public sealed class IsolationContractTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Results_are_copies_when_the_caller_changes_returned_embeddings_or_the_batch_it_wrote()
    {
        IChromaCollection c = await _h.CreateAsync("copies");
        var written = new[] { 1f, 2f, 3f };
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [written] });
        written[0] = 99;

        var first = await c.GetAsync(new GetRequest { Include = Include.Embeddings });
        first.Embeddings![0][1] = -7;
        var queried = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]], Include = Include.Embeddings | Include.Distances });
        queried.Embeddings![0][0][2] = -8;

        var again = await c.GetAsync(new GetRequest { Include = Include.Embeddings });
        again.Embeddings![0].Should().Equal(1f, 2f, 3f);
        (await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 2, 3]], Include = Include.Embeddings | Include.Distances })).Distances![0][0].Should().Be(0);
    }

    [Fact]
    public async Task A_handle_of_a_deleted_collection_throws_ChromaNotFoundException_when_a_new_collection_has_its_name()
    {
        IChromaCollection old = await _h.CreateAsync("reused");
        await old.AddAsync(new RecordBatch { Ids = ["old"], Embeddings = [[1, 1]] });
        await _h.Client.DeleteCollectionAsync("reused");
        IChromaCollection fresh = await _h.CreateAsync("reused");

        await old.Invoking(c => c.AddAsync(new RecordBatch { Ids = ["stale"], Embeddings = [[2, 2]] })).Should().ThrowAsync<ChromaNotFoundException>();
        await old.Invoking(c => c.GetAsync(new GetRequest())).Should().ThrowAsync<ChromaNotFoundException>();

        fresh.Id.Should().NotBe(old.Id);
        (await fresh.CountAsync()).Should().Be(0, "the old handle wrote nothing into the new collection");
        await _h.Client.Invoking(c => c.GetCollectionAsync(old.Id, null)).Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task Handles_of_a_deleted_database_throw_ChromaNotFoundException_when_used()
    {
        await _h.Client.CreateDatabaseAsync("gone");
        var client = _h.Client.WithDatabase("gone");
        IChromaCollection c = await _h.CreateAsync("inside", client: client);
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 1]] });

        await _h.Client.DeleteDatabaseAsync("gone");

        await c.Invoking(x => x.CountAsync()).Should().ThrowAsync<ChromaNotFoundException>();
        await client.Invoking(x => x.ListCollectionsAsync(null, 0)).Should().ThrowAsync<ChromaNotFoundException>();
        await client.Invoking(x => x.GetCollectionAsync(c.Id, null)).Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task GetOrCreateCollectionAsync_makes_one_collection_when_called_concurrently_with_one_name()
    {
        var handles = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => _h.Client.GetOrCreateCollectionAsync("raced", null))));

        handles.Select(h => h.Id).Distinct().Should().ContainSingle();
        (await _h.Client.CountCollectionsAsync()).Should().Be(1);
    }
}
