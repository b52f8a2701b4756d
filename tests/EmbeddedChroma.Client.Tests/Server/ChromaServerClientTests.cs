namespace EmbeddedChroma.Client.Tests.Server;

/// <summary>What a user of the remote client meets on Chroma's own server beyond the contract suite: batches above the server's max_batch_size, the version, and what the client adds over the bare server.</summary>
public sealed class ChromaServerClientTests : IAsyncLifetime, IDisposable
{
    private ChromaRemoteClient _root = null!;
    private IChromaClient _client = null!;

    public async Task InitializeAsync()
    {
        var server = await ChromaServer.SharedAsync();
        _root = new ChromaRemoteClient(new ChromaRemoteClientOptions { BaseAddress = server.Address });
        var tenant = "batch-" + Guid.NewGuid().ToString("N")[..12];
        await _root.CreateTenantAsync(tenant);
        _client = _root.WithDatabase(ChromaDefaults.Database, tenant);
        await _client.CreateDatabaseAsync(ChromaDefaults.Database);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _root?.Dispose();

    [Fact]
    public async Task AddAsync_stores_every_record_when_the_batch_exceeds_the_servers_max_batch_size()
    {
        // Chroma's server announces max_batch_size 5,461 and refuses a larger batch; the client sends it in parts.
        var c = await _client.CreateCollectionAsync("big");
        var random = new Random(5);
        var ids = Enumerable.Range(0, 6_000).Select(i => $"r{i:D5}").ToArray();
        var embeddings = ids.Select(_ => new[] { (float)random.NextDouble(), (float)random.NextDouble() }).ToArray();

        await c.AddAsync(ids, embeddings);

        (await c.CountAsync()).Should().Be(6_000);
        var tail = await c.GetAsync(ids: ["r05999", "r00000"], include: Include.Embeddings);
        tail.Ids.Should().BeEquivalentTo("r05999", "r00000");
        tail.Embeddings![tail.Ids.ToList().IndexOf("r05999")].Should().Equal(embeddings[5_999]);
        (await c.QueryAsync([embeddings[5_500]], nResults: 1)).Ids[0].Should().Equal("r05500");
    }

    [Fact]
    public async Task GetVersionAsync_returns_the_servers_version()
    {
        (await _root.GetVersionAsync()).Should().Be("1.0.0");
        (await _root.HeartbeatAsync()).Should().BePositive();
    }

    [Fact]
    public async Task CreateDatabaseAsync_throws_not_found_when_the_tenant_is_missing_although_the_server_would_create_it()
    {
        var ghost = _root.WithDatabase("db1", "ghost-" + Guid.NewGuid().ToString("N")[..12]);

        var act = () => ghost.CreateDatabaseAsync("db1");

        await act.Should().ThrowAsync<ChromaNotFoundException>().WithMessage("*ghost-*");
    }

    [Fact]
    public async Task QueryAsync_skips_missing_ids_where_the_bare_server_fails_with_500()
    {
        var c = await _client.CreateCollectionAsync("ids");
        await c.AddAsync(["a", "b"], [[0f], [1f]]);

        (await c.QueryAsync([[0f]], nResults: 5, ids: ["ghost", "b"])).Ids[0].Should().Equal("b");
        (await c.QueryAsync([[0f]], nResults: 5, ids: ["ghost"])).Ids[0].Should().BeEmpty();
    }
}
