namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Nothing of the store's data comes back without a valid key: a collection handle's properties are a snapshot taken
/// when it was obtained (refreshed by its calls that pass the key check), so once its key is revoked or disabled the
/// handle shows nothing changed after that, and its getters never throw.
/// </summary>
public sealed class RevokedHandleTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private (Collection Handle, CreatedApiKey Key) HandleOfScopedKey()
    {
        _h.Fx.Client.CreateCollection("shared", new CollectionOptions { Metadata = new Dictionary<string, MetadataValue?> { ["owner"] = "alice" } });
        var key = _h.Mint([ChromaActions.Get, ChromaActions.Count, ChromaActions.Add]);
        return (_h.Store.GetClient(_h.Login(key)).GetCollection("shared"), key);
    }

    [Theory]
    [InlineData("revoked")]
    [InlineData("disabled")]
    public void Properties_show_nothing_changed_after_the_key_stopped_working_when_the_collection_is_modified_later(string how)
    {
        var (handle, key) = HandleOfScopedKey();
        if (how == "revoked")
        {
            _h.AdminRing.RevokeKey(key.Info.KeyId);
        }
        else
        {
            _h.AdminRing.DisableKey(key.Info.KeyId);
        }

        var admin = _h.Fx.Client.GetCollection("shared");
        admin.Add(["a"], [[1f, 2f, 3f]]);
        admin.Modify(name: "renamed", metadata: new Dictionary<string, MetadataValue?> { ["owner"] = "bob", ["project"] = "secret-merger" }, configuration: new CollectionConfigurationUpdate { EfSearch = 77 });

        handle.Name.Should().Be("shared");
        handle.Metadata.Plain().Should().BeEquivalentTo(new Dictionary<string, object> { ["owner"] = "alice" });
        handle.Dimension.Should().BeNull();
        handle.Configuration.EfSearch.Should().NotBe(77);
        handle.ToString().Should().NotContain("renamed");
        FluentActions.Invoking(() => handle.Count()).Should().Throw<ChromaAuthenticationException>();
        handle.Name.Should().Be("shared", "a refused call does not refresh the snapshot");
    }

    [Fact]
    public void Properties_follow_the_collection_when_the_key_is_valid_and_a_call_passes_the_gate()
    {
        var (handle, _) = HandleOfScopedKey();
        var admin = _h.Fx.Client.GetCollection("shared");
        admin.Add(["a"], [[1f, 2f, 3f]]);
        admin.Modify(name: "renamed", metadata: new Dictionary<string, MetadataValue?> { ["owner"] = "bob" });

        handle.Count().Should().Be(1);

        handle.Name.Should().Be("renamed");
        handle.Metadata.Plain().Should().BeEquivalentTo(new Dictionary<string, object> { ["owner"] = "bob" });
        handle.Dimension.Should().Be(3);
    }

    [Fact]
    public void Properties_reflect_the_handles_own_changes_when_it_modifies_or_first_adds()
    {
        var collection = _h.Fx.CreateCollection("mine");

        collection.Add(["a"], [[1f, 2f]]);
        collection.Modify(name: "mine2", metadata: new Dictionary<string, MetadataValue?> { ["k"] = 1L });

        collection.Dimension.Should().Be(2);
        collection.Name.Should().Be("mine2");
        collection.Metadata.Plain().Should().BeEquivalentTo(new Dictionary<string, object> { ["k"] = 1L });
    }
}
