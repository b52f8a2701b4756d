using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>Collection management through VectorStore and the collection, errors and metadata.</summary>
public sealed class CollectionManagementTests : IDisposable
{
    private readonly VectorDataFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task EnsureCollectionExistsAsync_creates_once_and_CollectionExistsAsync_sees_it()
    {
        var collection = _fixture.VectorStore.GetCollection<string, Hotel<string>>("hotels");
        (await collection.CollectionExistsAsync()).Should().BeFalse();
        (await _fixture.VectorStore.CollectionExistsAsync("hotels")).Should().BeFalse();

        await collection.EnsureCollectionExistsAsync();
        await collection.EnsureCollectionExistsAsync();

        (await collection.CollectionExistsAsync()).Should().BeTrue();
        (await _fixture.VectorStore.CollectionExistsAsync("hotels")).Should().BeTrue();
        (await _fixture.Client.GetCollectionAsync("hotels", null)).Configuration.Space.Should().Be(DistanceSpace.Cosine);
    }

    [Fact]
    public async Task ListCollectionNamesAsync_lists_every_collection_of_the_database()
    {
        await _fixture.VectorStore.GetCollection<string, Hotel<string>>("one").EnsureCollectionExistsAsync();
        await _fixture.VectorStore.GetCollection<int, Hotel<int>>("two").EnsureCollectionExistsAsync();

        var names = new List<string>();
        await foreach (var name in _fixture.VectorStore.ListCollectionNamesAsync())
        {
            names.Add(name);
        }

        names.Should().BeEquivalentTo("one", "two");
    }

    [Fact]
    public async Task EnsureCollectionDeletedAsync_deletes_and_is_quiet_when_the_collection_is_missing()
    {
        var collection = _fixture.VectorStore.GetCollection<string, Hotel<string>>("gone");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(new Hotel<string> { Key = "k", Vector = [1, 0] });

        await collection.EnsureCollectionDeletedAsync();
        await collection.EnsureCollectionDeletedAsync();
        await _fixture.VectorStore.EnsureCollectionDeletedAsync("gone");

        (await collection.CollectionExistsAsync()).Should().BeFalse();
    }

    [Fact]
    public async Task Operations_see_the_new_collection_when_it_was_deleted_and_created_again()
    {
        var collection = _fixture.VectorStore.GetCollection<string, Hotel<string>>("again");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(new Hotel<string> { Key = "old", Vector = [1, 0] });

        var other = _fixture.VectorStore.GetCollection<string, Hotel<string>>("again");
        await other.EnsureCollectionDeletedAsync();
        await other.EnsureCollectionExistsAsync();
        await other.UpsertAsync(new Hotel<string> { Key = "new", Vector = [0, 1] });

        (await collection.GetAsync("new")).Should().NotBeNull();
        (await collection.GetAsync("old")).Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_throws_vector_store_exception_with_names_when_the_collection_does_not_exist()
    {
        var collection = _fixture.VectorStore.GetCollection<string, Hotel<string>>("missing");

        var act = () => collection.GetAsync("k");
        var error = (await act.Should().ThrowAsync<VectorStoreException>()).Which;

        error.VectorStoreSystemName.Should().Be("embeddedchroma");
        error.VectorStoreName.Should().Be("default_tenant/default_database");
        error.CollectionName.Should().Be("missing");
        error.OperationName.Should().Be("Get");
        error.InnerException.Should().BeOfType<ChromaNotFoundException>();
    }

    [Fact]
    public async Task Calls_throw_vector_store_exception_when_the_key_may_not_write()
    {
        var readerKey = _fixture.Store.GetKeyRing(_fixture.Store.Authenticate(_fixture.AdminKey))
            .CreateKey(new ApiKeySpec { Name = "reader", Actions = [ChromaActions.GetCollection, ChromaActions.Get, ChromaActions.Query] }).Key;
        var readOnly = new ChromaVectorStore(_fixture.Store.GetClient(ChromaCredential.FromKey(readerKey)));
        await _fixture.VectorStore.GetCollection<string, Hotel<string>>("locked").EnsureCollectionExistsAsync();

        var act = () => readOnly.GetCollection<string, Hotel<string>>("locked").UpsertAsync(new Hotel<string> { Key = "k", Vector = [1, 0] });

        var error = (await act.Should().ThrowAsync<VectorStoreException>()).Which;
        error.InnerException.Should().BeOfType<ChromaAuthorizationException>();
        error.Message.Should().NotContain(readerKey);
    }

    [Fact]
    public async Task Calls_throw_vector_store_exception_when_the_collection_name_is_invalid_for_chroma()
    {
        var act = () => _fixture.VectorStore.GetCollection<string, Hotel<string>>("x").EnsureCollectionExistsAsync();
        (await act.Should().ThrowAsync<VectorStoreException>()).Which.OperationName.Should().Be("EnsureCollectionExists");
    }

    [Fact]
    public void GetService_returns_metadata_and_the_client_when_asked()
    {
        var store = _fixture.VectorStore;
        var storeMetadata = (VectorStoreMetadata)store.GetService(typeof(VectorStoreMetadata))!;
        storeMetadata.VectorStoreSystemName.Should().Be("embeddedchroma");
        store.GetService(typeof(IChromaClient)).Should().BeSameAs(_fixture.Client);

        var collection = store.GetCollection<string, Hotel<string>>("meta");
        var metadata = (VectorStoreCollectionMetadata)collection.GetService(typeof(VectorStoreCollectionMetadata))!;
        metadata.CollectionName.Should().Be("meta");
        metadata.VectorStoreSystemName.Should().Be("embeddedchroma");
        collection.GetService(typeof(IChromaClient)).Should().BeSameAs(_fixture.Client);
        collection.GetService(typeof(string)).Should().BeNull();
        collection.GetService(typeof(VectorStoreCollectionMetadata), "key").Should().BeNull();
    }

    [Fact]
    public async Task Calls_throw_operation_canceled_unwrapped_when_the_token_is_cancelled()
    {
        var collection = _fixture.VectorStore.GetCollection<string, Hotel<string>>("cancel");
        await collection.EnsureCollectionExistsAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = () => collection.UpsertAsync(new Hotel<string> { Key = "k", Vector = [1, 0] }, cancelled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        (await collection.GetAsync("k")).Should().BeNull();
    }

    [Fact]
    public void GetCollection_throws_not_supported_when_the_index_kind_is_not_hnsw()
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Key", typeof(string)), new VectorStoreVectorProperty("V", typeof(float[]), 2) { IndexKind = IndexKind.IvfFlat }],
        };

        var act = () => _fixture.VectorStore.GetDynamicCollection("ivf", definition);
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("IvfFlat");
    }
}
