namespace EmbeddedChroma.Tests.Security;

/// <summary>Expiry on the fake clock, revocation mid-session, rotation with and without grace, disable/enable.</summary>
public sealed class KeyLifecycleTests : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private readonly KeyRingHarness _h = new();

    public KeyLifecycleTests()
    {
        _h.Fx.CreateCollection("test").Add(["a", "b", "c", "d", "e"], [[1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f], [5f, 0f]]);
    }

    public void Dispose() => _h.Dispose();

    private CreatedApiKey ReaderKey(DateTimeOffset? expires = null) =>
        _h.Mint([ChromaActions.Get, ChromaActions.Count], ["default_tenant/default_database/test"], expires);

    private Collection Open(ApiKeyContext context) => _h.Store.GetClient(context).GetCollection("test");

    [Fact]
    public void Key_works_one_tick_before_expiry_and_fails_at_expiry_when_clock_advances()
    {
        var expires = ManualTimeProvider.Start + Hour;
        var key = ReaderKey(expires);
        var collection = Open(_h.Login(key));

        _h.Clock.Set(expires - TimeSpan.FromTicks(1));
        collection.Count().Should().Be(5);
        _h.Login(key).KeyId.Should().Be(key.Info.KeyId);

        _h.Clock.Set(expires);
        var call = () => collection.Count();
        call.Should().Throw<ChromaAuthenticationException>();
        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Expired);
    }

    [Fact]
    public void Key_stays_expired_when_clock_is_moved_backwards_after_expiry()
    {
        var expires = ManualTimeProvider.Start + Hour;
        var key = ReaderKey(expires);
        var collection = Open(_h.Login(key));
        _h.Clock.Set(expires + TimeSpan.FromMinutes(1));
        var call = () => collection.Count();
        call.Should().Throw<ChromaAuthenticationException>();

        _h.Clock.Set(ManualTimeProvider.Start);

        call.Should().Throw<ChromaAuthenticationException>();
        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void Revoke_stops_contexts_clients_and_collections_created_before_it_on_their_next_call()
    {
        var key = _h.Mint([ChromaActions.AllData]);
        var context = _h.Login(key);
        var client = _h.Store.GetClient(context);
        var collection = client.GetCollection("test");
        collection.Count().Should().Be(5);

        _h.AdminRing.RevokeKey(key.Info.KeyId);

        var count = () => collection.Count();
        count.Should().Throw<ChromaAuthenticationException>();
        var list = () => client.ListCollections();
        list.Should().Throw<ChromaAuthenticationException>();
        var newClient = () => _h.Store.GetClient(context);
        newClient.Should().Throw<ChromaAuthenticationException>();
        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Revoked);
    }

    [Fact]
    public void Revoke_stops_a_paged_get_between_pages_when_revoked_mid_loop()
    {
        var key = ReaderKey();
        var collection = Open(_h.Login(key));
        var seen = new List<string>();

        var page = () =>
        {
            for (var offset = 0; ; offset += 2)
            {
                var ids = collection.Get(limit: 2, offset: offset).Ids;
                seen.AddRange(ids);
                if (offset == 2)
                {
                    _h.AdminRing.RevokeKey(key.Info.KeyId);
                }

                if (ids.Count < 2)
                {
                    return;
                }
            }
        };

        page.Should().Throw<ChromaAuthenticationException>();
        seen.Should().Equal("a", "b", "c", "d");
    }

    [Fact]
    public void RotateKey_keeps_old_key_until_grace_ends_when_grace_is_positive()
    {
        var key = _h.Mint([ChromaActions.Get, ChromaActions.Count], ["default_tenant/default_database/test"], ManualTimeProvider.Start + TimeSpan.FromDays(2), new ApiKeyRateLimit(100, 50), 1000);
        var oldCollection = Open(_h.Login(key));

        var successor = _h.AdminRing.RotateKey(key.Info.KeyId, Hour);

        successor.Key.Should().NotBe(key.Key);
        successor.Info.Resources.Should().Equal(key.Info.Resources);
        successor.Info.Actions.Should().Equal(key.Info.Actions);
        successor.Info.ExpiresAt.Should().Be(key.Info.ExpiresAt);
        successor.Info.RateLimit.Should().Be(key.Info.RateLimit);
        var old = _h.AdminRing.GetKey(key.Info.KeyId);
        old.State.Should().Be(ApiKeyState.Rotating);
        old.SuccessorKeyId.Should().Be(successor.Info.KeyId);
        old.GraceUntil.Should().Be(ManualTimeProvider.Start + Hour);
        var newCollection = Open(_h.Login(successor));
        var forbidden = () => Open(_h.Login(successor)).Add(["z"], [[9f, 9f]]);
        forbidden.Should().Throw<ChromaAuthorizationException>();

        _h.Clock.Set(ManualTimeProvider.Start + Hour - TimeSpan.FromTicks(1));
        oldCollection.Count().Should().Be(5);
        newCollection.Count().Should().Be(5);

        _h.Clock.Set(ManualTimeProvider.Start + Hour);
        var oldCall = () => oldCollection.Count();
        oldCall.Should().Throw<ChromaAuthenticationException>();
        var oldLogin = () => _h.Login(key);
        oldLogin.Should().Throw<ChromaAuthenticationException>();
        newCollection.Count().Should().Be(5);
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Expired);
    }

    [Fact]
    public void RotateKey_kills_old_key_immediately_when_grace_is_zero()
    {
        var key = ReaderKey();
        var oldCollection = Open(_h.Login(key));

        var successor = _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.Zero);

        var oldCall = () => oldCollection.Count();
        oldCall.Should().Throw<ChromaAuthenticationException>();
        var oldLogin = () => _h.Login(key);
        oldLogin.Should().Throw<ChromaAuthenticationException>();
        Open(_h.Login(successor)).Count().Should().Be(5);
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Revoked);
    }

    [Fact]
    public void DisableKey_blocks_the_key_and_EnableKey_restores_it_when_not_revoked()
    {
        var key = ReaderKey();
        var collection = Open(_h.Login(key));

        _h.AdminRing.DisableKey(key.Info.KeyId);
        var call = () => collection.Count();
        call.Should().Throw<ChromaAuthenticationException>();
        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Disabled);

        _h.AdminRing.EnableKey(key.Info.KeyId);
        collection.Count().Should().Be(5);
        _h.Login(key).KeyId.Should().Be(key.Info.KeyId);
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Active);
    }

    [Fact]
    public void EnableKey_throws_validation_and_key_stays_revoked_when_key_was_revoked()
    {
        var key = ReaderKey();
        _h.AdminRing.DisableKey(key.Info.KeyId);
        _h.AdminRing.RevokeKey(key.Info.KeyId);

        var enable = () => _h.AdminRing.EnableKey(key.Info.KeyId);
        enable.Should().Throw<ChromaValidationException>();
        var rotate = () => _h.AdminRing.RotateKey(key.Info.KeyId, Hour);
        rotate.Should().Throw<ChromaValidationException>();

        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Revoked);
    }

    [Fact]
    public void Revocation_persists_when_store_is_reopened()
    {
        var key = ReaderKey();
        var disabled = ReaderKey();
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        _h.AdminRing.DisableKey(disabled.Info.KeyId);

        _h.Fx.Reopen();

        var login = () => _h.Store.Authenticate(key.Key);
        login.Should().Throw<ChromaAuthenticationException>();
        var login2 = () => _h.Store.Authenticate(disabled.Key);
        login2.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void CreateKey_throws_validation_when_expiry_is_not_in_the_future()
    {
        var now = () => ReaderKey(ManualTimeProvider.Start);
        now.Should().Throw<ChromaValidationException>();
        var past = () => ReaderKey(ManualTimeProvider.Start - TimeSpan.FromTicks(1));
        past.Should().Throw<ChromaValidationException>();
    }
}
