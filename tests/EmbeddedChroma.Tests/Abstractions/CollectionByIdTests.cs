using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// <see cref="IChromaClient.GetCollectionAsync(Guid, Microsoft.Extensions.AI.IEmbeddingGenerator{string, Microsoft.Extensions.AI.Embedding{float}}?, CancellationToken)"/>:
/// an id reaches a collection only from its own database and only for a key whose scope covers it, and a key that
/// cannot see it learns nothing (not its name, not that it exists) that a random id would not tell.
/// </summary>
public sealed class CollectionByIdTests : IDisposable
{
    private const string HiddenName = "payroll-secret-2026";
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task GetCollectionAsync_by_id_returns_the_collection_when_it_is_in_the_clients_database()
    {
        var generator = new DeterministicEmbeddingGenerator();
        var created = await _h.CreateAsync("books");
        await _h.CreateAsync("films");

        IChromaCollection found = await _h.Client.GetCollectionAsync(created.Id, generator);

        found.Id.Should().Be(created.Id);
        found.Name.Should().Be("books");
        found.Tenant.Should().Be(ChromaDefaults.Tenant);
        found.Database.Should().Be(ChromaDefaults.Database);
        found.EmbeddingGenerator.Should().BeSameAs(generator);
        await found.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2]] });
        (await created.CountAsync()).Should().Be(1, "both handles address the same collection");
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_ChromaNotFoundException_when_no_collection_has_the_id()
    {
        await _h.CreateAsync("books");

        await _h.Client.Invoking(c => c.GetCollectionAsync(Guid.NewGuid(), null)).Should().ThrowAsync<ChromaNotFoundException>();
        await _h.Client.Invoking(c => c.GetCollectionAsync(Guid.Empty, null)).Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_ChromaNotFoundException_when_the_collection_is_in_another_database()
    {
        await _h.Client.CreateDatabaseAsync("other");
        var otherClient = _h.Client.WithDatabase("other");
        var elsewhere = await _h.CreateAsync("books", client: otherClient);
        var here = await _h.CreateAsync("books");

        await _h.Client.Invoking(c => c.GetCollectionAsync(elsewhere.Id, null)).Should().ThrowAsync<ChromaNotFoundException>();
        await otherClient.Invoking(c => c.GetCollectionAsync(here.Id, null)).Should().ThrowAsync<ChromaNotFoundException>();
        (await otherClient.GetCollectionAsync(elsewhere.Id, null)).Database.Should().Be("other");
        (await _h.Client.GetCollectionAsync(here.Id, null)).Database.Should().Be(ChromaDefaults.Database);
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_ChromaNotFoundException_when_the_collection_was_deleted()
    {
        var doomed = await _h.CreateAsync("doomed");
        await _h.Client.DeleteCollectionAsync("doomed");

        await _h.Client.Invoking(c => c.GetCollectionAsync(doomed.Id, null)).Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_the_same_exception_as_by_name_when_the_keys_scope_does_not_cover_the_collection()
    {
        var hidden = await _h.CreateAsync(HiddenName);
        var visible = await _h.CreateAsync("visible");
        var key = _h.Mint([ChromaActions.AllData], ["default_tenant/default_database/visible"]);
        var client = _h.ClientFor(key);

        (await client.GetCollectionAsync(visible.Id, null)).Name.Should().Be("visible");
        var byName = await client.Invoking(c => c.GetCollectionAsync(HiddenName, null)).Should().ThrowAsync<ChromaException>();
        var byId = await client.Invoking(c => c.GetCollectionAsync(hidden.Id, null)).Should().ThrowAsync<ChromaException>();

        byName.Which.Should().BeOfType<ChromaNotFoundException>();
        byId.Which.Should().BeOfType(byName.Which.GetType());
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_reveals_neither_name_nor_existence_when_the_keys_scope_does_not_cover_the_collection()
    {
        // The caller holds only an id. The answer for a collection it may not see must read like the answer for an id
        // that does not exist: otherwise the message tells it the collection's name, and that the id is in use.
        var hidden = await _h.CreateAsync(HiddenName);
        await _h.CreateAsync("visible");
        var client = _h.ClientFor(_h.Mint([ChromaActions.AllData], ["default_tenant/default_database/visible"]));
        var randomId = Guid.NewGuid();

        var forHidden = (await client.Invoking(c => c.GetCollectionAsync(hidden.Id, null)).Should().ThrowAsync<ChromaNotFoundException>()).Which.Message;
        var forRandom = (await client.Invoking(c => c.GetCollectionAsync(randomId, null)).Should().ThrowAsync<ChromaNotFoundException>()).Which.Message;

        forHidden.Should().NotContain(HiddenName);
        forHidden.Replace(hidden.Id.ToString(), "<id>", StringComparison.Ordinal)
            .Should().Be(forRandom.Replace(randomId.ToString(), "<id>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_ChromaAuthenticationException_for_any_id_when_the_key_is_revoked()
    {
        var existing = await _h.CreateAsync("books");
        var key = _h.Mint([ChromaActions.AllData], ["*"], out var keyId);
        var client = _h.ClientFor(key);
        (await client.GetCollectionAsync(existing.Id, null)).Id.Should().Be(existing.Id);

        _h.Revoke(keyId);

        // The key is refused before any lookup: an existing id and a random one get the same answer.
        await client.Invoking(c => c.GetCollectionAsync(existing.Id, null)).Should().ThrowAsync<ChromaAuthenticationException>();
        await client.Invoking(c => c.GetCollectionAsync(Guid.NewGuid(), null)).Should().ThrowAsync<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_throws_ChromaAuthorizationException_for_any_id_when_the_key_has_no_collection_action()
    {
        var existing = await _h.CreateAsync("books");
        var client = _h.ClientFor(_h.Mint([ChromaActions.SystemHeartbeat, ChromaActions.ListCollections], ["default_tenant/default_database"]));

        await client.Invoking(c => c.GetCollectionAsync(existing.Id, null)).Should().ThrowAsync<ChromaAuthorizationException>();
        await client.Invoking(c => c.GetCollectionAsync(Guid.NewGuid(), null)).Should().ThrowAsync<ChromaAuthorizationException>();
        await client.Invoking(c => c.GetCollectionAsync("books", null)).Should().ThrowAsync<ChromaAuthorizationException>();
    }

    [Fact]
    public async Task GetCollectionAsync_by_id_finds_a_renamed_collection_when_its_name_changed()
    {
        var created = await _h.CreateAsync("before");
        await created.ModifyAsync(new CollectionModification { Name = "after" });

        (await _h.Client.GetCollectionAsync(created.Id, null)).Name.Should().Be("after");
    }
}
