namespace EmbeddedChroma.Client.Tests.Server;

/// <summary>The remote client changes a collection's <c>vector_storage</c> on this project's host.</summary>
public sealed class VectorStorageRemoteTests : IAsyncLifetime, IDisposable
{
    private ChromaRemoteClient _client = null!;

    public async Task InitializeAsync()
    {
        var host = await InProcessHost.SharedAsync();
        _client = new ChromaRemoteClient(new ChromaRemoteClientOptions { BaseAddress = host.Address, Credential = ChromaCredential.FromKey(host.AdminKey) });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _client?.Dispose();

    [Fact]
    public async Task ModifyAsync_changes_the_vector_storage_on_the_host_and_refuses_an_unknown_one_before_sending()
    {
        var name = "vs-" + Guid.NewGuid().ToString("N")[..12];
        var collection = await _client.CreateCollectionAsync(name);
        var random = new Random(43);
        var vectors = Enumerable.Range(0, 300).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        await collection.AddAsync(Enumerable.Range(0, 300).Select(i => "r" + i).ToArray(), vectors);

        await collection.ModifyAsync(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float16 });
        collection.Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
        (await _client.GetCollectionAsync(name)).Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
        var hit = await collection.QueryAsync([vectors[42]], nResults: 1, include: Include.Distances);
        hit.Ids[0].Should().Equal("r42");
        hit.Distances![0][0].Should().Be(0f);

        var unknown = () => collection.ModifyAsync(configuration: new CollectionConfigurationUpdate { VectorStorage = (VectorStorage)9 });
        await unknown.Should().ThrowAsync<ChromaValidationException>().WithMessage("*vector_storage*");
        (await _client.GetCollectionAsync(name)).Configuration.VectorStorage.Should().Be(VectorStorage.Float16);

        await collection.ModifyAsync(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float32 });
        (await _client.GetCollectionAsync(name)).Configuration.VectorStorage.Should().Be(VectorStorage.Float32);
    }
}
