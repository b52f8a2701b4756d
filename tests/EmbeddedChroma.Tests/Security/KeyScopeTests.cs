using EmbeddedChroma.Security;

namespace EmbeddedChroma.Tests.Security;

/// <summary>Resource scope: out of scope looks like missing; no rewriting to defaults; listing filtered; no escalation by minting.</summary>
public sealed class KeyScopeTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public KeyScopeTests() => _h.SeedTenants();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void GetCollection_throws_not_found_like_a_missing_collection_when_collection_is_in_another_tenant()
    {
        var key = _h.Login(_h.Mint([ChromaActions.AllData], ["acme", "beta/db1/public"]));
        var betaClient = _h.Store.GetClient(key, "beta", "db1");

        var outOfScope = () => betaClient.GetCollection("coll");
        var hidden = outOfScope.Should().Throw<ChromaNotFoundException>().Which.Message;

        var admin = _h.Store.GetClient(_h.AdminContext, "beta", "db1");
        admin.DeleteCollection("coll");
        var missing = () => admin.GetCollection("coll");
        missing.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden);
        var missingForKey = () => betaClient.GetCollection("public");
        missingForKey.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden.Replace("'coll'", "'public'", StringComparison.Ordinal));
    }

    [Fact]
    public void Collection_calls_throw_not_found_when_key_of_tenant_a_uses_tenant_b()
    {
        var key = _h.Login(_h.Mint([ChromaActions.AllData], ["acme"]));

        var client = () => _h.Store.GetClient(key, "beta", "db1");
        var hidden = client.Should().Throw<ChromaNotFoundException>().Which.Message;
        var viaWith = () => _h.Store.GetClient(key, "acme", "db1").WithDatabase("db1", "beta");
        viaWith.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden);

        var acme = _h.Store.GetClient(key, "acme", "db1");
        var tenant = () => acme.GetTenant("beta");
        var tenantHidden = tenant.Should().Throw<ChromaNotFoundException>().Which.Message;
        var admin = _h.Store.GetClient(_h.AdminContext);
        var missingTenant = () => admin.GetTenant("gamma");
        missingTenant.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(tenantHidden.Replace("beta", "gamma", StringComparison.Ordinal));
        var missingDatabase = () => admin.GetDatabase("db9", "beta");
        missingDatabase.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden.Replace("db1", "db9", StringComparison.Ordinal));
        var drop = () => acme.DeleteDatabase("db1", "beta");
        drop.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden);
        _h.Store.GetClient(_h.AdminContext, "beta", "db1").ListCollections().Should().ContainSingle();
    }

    [Fact]
    public void Modify_throws_not_found_when_renaming_a_collection_to_a_name_outside_the_key_scope()
    {
        // Collections are matched by name: a rename to an uncovered name would move the collection out of the key's
        // scope, i.e. create a collection under a name the key may not create (and into other keys' scopes).
        var key = _h.Login(_h.Mint([ChromaActions.UpdateCollection, ChromaActions.Get], ["acme/db1/coll", "acme/db1/coll2"]));
        var collection = _h.Store.GetClient(key, "acme", "db1").GetCollection("coll");

        var outside = () => collection.Modify(name: "prod");

        outside.Should().Throw<ChromaNotFoundException>();
        var admin = _h.Store.GetClient(_h.AdminContext, "acme", "db1");
        admin.ListCollections().Select(c => c.Name).Should().Equal("coll", "other");
        collection.Modify(name: "coll2");
        admin.ListCollections().Select(c => c.Name).Should().Equal("coll2", "other");
        collection.Get().Ids.Should().Equal("a");
    }

    [Fact]
    public void Database_and_tenant_calls_throw_not_found_when_key_covers_only_a_collection_below_them()
    {
        var key = _h.Login(_h.Mint([ChromaActions.AllData], ["acme/db1/coll"]));
        var client = _h.Store.GetClient(key, "acme", "db1");

        foreach (var call in new Action[]
        {
            () => client.DeleteDatabase("db1"),
            () => client.DeleteTenant("acme"),
            () => client.CreateDatabase("db3"),
            () => client.CreateTenant("gamma"),
            () => client.DeleteCollection("other"),
            () => client.CreateCollection("fresh"),
            () => client.GetOrCreateCollection("fresh"),
        })
        {
            call.Should().Throw<ChromaNotFoundException>();
        }

        var admin = _h.Store.GetClient(_h.AdminContext, "acme", "db1");
        admin.ListCollections().Select(c => c.Name).Should().Equal("coll", "other");
        admin.ListDatabases().Select(d => d.Name).Should().Equal("db1", "db2");
        client.GetCollection("coll").Count().Should().Be(1);
        client.GetDatabase("db1").Name.Should().Be("db1");
        client.GetTenant("acme");
    }

    [Fact]
    public void GetClient_throws_authentication_when_context_comes_from_another_store()
    {
        using var other = new KeyRingHarness();
        other.Fx.CreateCollection("test");

        var act = () => other.Store.GetClient(_h.AdminContext);
        act.Should().Throw<ChromaAuthenticationException>();
        var ring = () => other.Store.GetKeyRing(_h.AdminContext);
        ring.Should().Throw<ChromaAuthenticationException>();
        var key = () => other.Store.Authenticate(_h.AdminKey);
        key.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void GetClient_throws_not_found_and_does_not_rewrite_when_key_of_one_database_asks_for_the_defaults()
    {
        var key = _h.Login(_h.Mint([ChromaActions.AllData], ["acme/db1"]));

        var defaults = () => _h.Store.GetClient(key);

        defaults.Should().Throw<ChromaNotFoundException>()
            .Which.Message.Should().Be(NotFoundMessages.Database(ChromaStore.DefaultTenant, ChromaStore.DefaultDatabase));
        var byKeyText = () => _h.Store.GetClient(_h.Mint([ChromaActions.AllData], ["acme/db1"]).Key);
        byKeyText.Should().Throw<ChromaNotFoundException>();
        _h.Store.GetClient(key, "acme", "db1").ListCollections().Select(c => c.Name).Should().Equal("coll", "other");
    }

    [Fact]
    public void ListCollections_lists_only_covered_collections_when_key_covers_some()
    {
        var key = _h.Login(_h.Mint([ChromaActions.ListCollections, ChromaActions.ListDatabases, ChromaActions.Get], ["acme/db1/other", "acme/db2"]));

        _h.Store.GetClient(key, "acme", "db1").ListCollections().Select(c => c.Name).Should().Equal("other");
        _h.Store.GetClient(key, "acme", "db1").CountCollections().Should().Be(1);
        _h.Store.GetClient(key, "acme", "db2").ListCollections().Select(c => c.Name).Should().Equal("coll");
        _h.Store.GetClient(key, "acme", "db1").ListDatabases().Select(d => d.Name).Should().Equal("db1", "db2");
        var tenants = () => _h.Store.GetClient(key, "acme", "db1").ListTenants();
        tenants.Should().Throw<ChromaAuthorizationException>();
    }

    public static TheoryData<string> RingMethods => new(typeof(KeyRingClient).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
        .Where(m => !m.IsSpecialName && m.Name != nameof(ToString)).Select(m => m.Name).Distinct());

    [Theory]
    [MemberData(nameof(RingMethods))]
    public void KeyRingClient_method_throws_authorization_when_key_has_only_data_actions(string method)
    {
        var target = _h.Mint([ChromaActions.Get], ["acme/db1"]);
        var ring = _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.AllData])));
        Action call = method switch
        {
            nameof(KeyRingClient.CreateKey) => () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Get], Resources = ["acme"] }),
            nameof(KeyRingClient.ListKeys) => () => ring.ListKeys(),
            nameof(KeyRingClient.GetKey) => () => ring.GetKey(target.Info.KeyId),
            nameof(KeyRingClient.DisableKey) => () => ring.DisableKey(target.Info.KeyId),
            nameof(KeyRingClient.EnableKey) => () => ring.EnableKey(target.Info.KeyId),
            nameof(KeyRingClient.RevokeKey) => () => ring.RevokeKey(target.Info.KeyId),
            nameof(KeyRingClient.RotateKey) => () => ring.RotateKey(target.Info.KeyId, TimeSpan.Zero),
            nameof(KeyRingClient.GetUsage) => () => ring.GetUsage(target.Info.KeyId),
            nameof(KeyRingClient.GetUsageHistory) => () => ring.GetUsageHistory(target.Info.KeyId, ManualTimeProvider.Start),
            nameof(KeyRingClient.ReadAudit) => () => ring.ReadAudit(),
            nameof(KeyRingClient.VerifyAudit) => () => ring.VerifyAudit(),
            nameof(KeyRingClient.ReapplyRevocations) => () => ring.ReapplyRevocations([new AuditEntry(1, ManualTimeProvider.Start, "key.revoked", target.Info.KeyId, null, null)]),
            _ => throw new InvalidOperationException($"New KeyRingClient method '{method}': add it to this test."),
        };

        call.Should().Throw<ChromaAuthorizationException>().WithMessage("*'keyring:*");
        _h.AdminRing.GetKey(target.Info.KeyId).State.Should().Be(ApiKeyState.Active);
    }

    private static readonly DateTimeOffset ParentExpiry = ManualTimeProvider.Start + TimeSpan.FromHours(1);

    public static TheoryData<string[], string[], string?> BroaderSpecs => new()
    {
        { [ChromaActions.Get, ChromaActions.Add], ["acme/db1"], "later" },
        { [ChromaActions.Get, ChromaActions.Add], ["acme/db1"], null },
        { [ChromaActions.AllData], ["acme/db1"], "same" },
        { ["collection:*"], ["acme/db1"], "same" },
        { [ChromaActions.AllKeyRing], ["acme/db1"], "same" },
        { [ChromaActions.ListKeys], ["acme/db1"], "same" },
        { [ChromaActions.Get], ["acme"], "same" },
        { [ChromaActions.Get], ["acme/*"], "same" },
        { [ChromaActions.Get], ["*"], "same" },
        { [ChromaActions.Get], ["*/db1"], "same" },
        { [ChromaActions.Get], ["acme/db2"], "same" },
        { [ChromaActions.Get], ["acme/db1", "beta/db1"], "same" },
        { [ChromaActions.Get], ["acme/db1"], "later" },
        { [ChromaActions.Get], ["acme/db1"], null },
    };

    private KeyRingClient NarrowMinter() =>
        _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.CreateKey, ChromaActions.Get], ["acme/db1"], ParentExpiry)));

    [Theory]
    [MemberData(nameof(BroaderSpecs))]
    public void CreateKey_throws_authorization_when_new_key_would_be_broader_than_the_creator(string[] actions, string[] resources, string? expiry)
    {
        var ring = NarrowMinter();
        var keysBefore = _h.AdminRing.ListKeys().Count;

        var act = () => ring.CreateKey(new ApiKeySpec
        {
            Name = "broader",
            Actions = actions,
            Resources = resources,
            ExpiresAt = expiry switch { "later" => ParentExpiry + TimeSpan.FromMilliseconds(1), "same" => ParentExpiry, _ => null },
        });

        act.Should().Throw<ChromaAuthorizationException>();
        _h.AdminRing.ListKeys().Should().HaveCount(keysBefore);
    }

    [Fact]
    public void CreateKey_succeeds_when_new_key_is_within_the_creator()
    {
        var ring = NarrowMinter();

        var child = ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Get], Resources = ["acme/db1/coll"], ExpiresAt = ParentExpiry });

        _h.Store.GetClient(_h.Login(child), "acme", "db1").GetCollection("coll").Get().Ids.Should().Equal("a");
        child.Info.CreatedBy.Should().Be(ring.Context.KeyId);
    }

    [Fact]
    public void RotateKey_throws_not_found_when_the_target_outlives_the_rotating_key_and_was_not_issued_by_it()
    {
        // A key that expires in an hour and covers a key of narrower resources and actions but no expiry: the other
        // key was not issued below it, so it may not rotate it (which would hand it a key that outlives it).
        // (Before issue #10 the key could see it and was refused only for the expiry.)
        var actor = _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.RotateKey, ChromaActions.Get], ["acme"], ParentExpiry)));
        var forever = _h.Mint([ChromaActions.Get], ["acme/db1"]);

        var act = () => actor.RotateKey(forever.Info.KeyId, TimeSpan.Zero);

        act.Should().Throw<ChromaNotFoundException>();
        _h.AdminRing.GetKey(forever.Info.KeyId).State.Should().Be(ApiKeyState.Active);
        _h.Login(forever).KeyId.Should().Be(forever.Info.KeyId);
    }

    [Fact]
    public void KeyRing_methods_throw_not_found_when_narrow_keyring_key_targets_the_admin_key()
    {
        var narrow = _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.AllKeyRing], ["acme"])));
        var adminId = _h.AdminContext.KeyId;
        const string ghostId = "000000000000";

        narrow.ListKeys().Should().NotContain(k => k.KeyId == adminId);
        foreach (var call in new Action<string>[]
        {
            id => narrow.GetKey(id),
            id => narrow.RevokeKey(id),
            id => narrow.DisableKey(id),
            id => narrow.EnableKey(id),
            id => narrow.RotateKey(id, TimeSpan.Zero),
            id => narrow.GetUsage(id),
        })
        {
            var onAdmin = () => call(adminId);
            var hidden = onAdmin.Should().Throw<ChromaNotFoundException>().Which.Message;
            var onGhost = () => call(ghostId);
            onGhost.Should().Throw<ChromaNotFoundException>().Which.Message.Should().Be(hidden.Replace(adminId, ghostId, StringComparison.Ordinal));
        }

        _h.AdminRing.GetKey(adminId).State.Should().Be(ApiKeyState.Active);
        _h.Store.GetClient(_h.AdminKey).ListTenants().Should().Contain("acme");
    }
}
