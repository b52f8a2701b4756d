namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Issue #10, "a key can never hold more than the key that made it": every issued key stays within its issuer,
/// quotas are carved (not copied), authority flows down the issuing chain only, and store-wide copies need an admin key.
/// </summary>
public sealed class DelegationTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public DelegationTests() => _h.SeedTenants();

    public void Dispose() => _h.Dispose();

    private KeyRingClient RingOf(CreatedApiKey key) => _h.Store.GetKeyRing(_h.Login(key));

    private Collection CollOf(CreatedApiKey key) => _h.Store.GetClient(_h.Login(key), "acme", "db1").GetCollection("coll");

    /// <summary>Calls Count until the key fails; returns how many calls went through.</summary>
    private static int CallsUntilRefused(Func<int> call, int max = 50)
    {
        for (var i = 0; i < max; i++)
        {
            try
            {
                call();
            }
            catch (ChromaAuthenticationException)
            {
                return i;
            }
        }

        return max;
    }

    [Fact]
    public void RotateKey_refuses_and_creates_no_successor_when_a_limited_key_rotates_an_unlimited_sibling()
    {
        var limited = _h.Mint([ChromaActions.AllData, ChromaActions.RotateKey], rate: new ApiKeyRateLimit(1, 1), maxUses: 20);
        var sibling = _h.Mint([ChromaActions.Count]);
        var before = _h.AdminRing.ListKeys().Count;

        var rotate = () => RingOf(limited).RotateKey(sibling.Info.KeyId, TimeSpan.FromHours(1));

        rotate.Should().Throw<ChromaException>().Which.Should().BeOfType<ChromaNotFoundException>();
        _h.AdminRing.ListKeys().Should().HaveCount(before);
        _h.AdminRing.GetKey(sibling.Info.KeyId).SuccessorKeyId.Should().BeNull();
    }

    [Fact]
    public void RotateKey_gives_a_rate_limited_quota_key_a_successor_with_the_same_limits_when_it_rotates_itself()
    {
        var key = _h.Mint([ChromaActions.Count, ChromaActions.RotateKey], rate: new ApiKeyRateLimit(100, 100), maxUses: 20);

        var successor = RingOf(key).RotateKey(key.Info.KeyId, TimeSpan.Zero);

        successor.Info.RateLimit.Should().Be(new ApiKeyRateLimit(100, 100));
        successor.Info.RemainingUses.Should().Be(19);
    }

    [Fact]
    public void CreateKey_carves_child_uses_out_of_the_parent_so_parent_and_children_get_no_more_calls_than_the_parent_had()
    {
        var parent = _h.Mint([ChromaActions.Count, ChromaActions.CreateKey], maxUses: 4);
        var ring = RingOf(parent);

        var child = ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count], MaxUses = 3 });
        var second = () => ring.CreateKey(new ApiKeySpec { Name = "second", Actions = [ChromaActions.Count], MaxUses = 1 });

        second.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(parent.Info.KeyId).RemainingUses.Should().Be(0);
        var childCollection = CollOf(child); // opening it is a call too
        var childCalls = CallsUntilRefused(() => childCollection.Count());
        childCalls.Should().Be(2, "1 create + 1 open + 2 counts = the parent's 4 uses");
        _h.AdminRing.ListKeys().Should().NotContain(k => k.Name == "second");
    }

    [Fact]
    public void RotateKey_lets_old_and_new_key_share_one_budget_during_the_grace_period()
    {
        var key = _h.Mint([ChromaActions.Count, ChromaActions.RotateKey], ["acme/db1/coll"], maxUses: 3);
        var oldCollection = CollOf(key); // 1 use

        var successor = RingOf(key).RotateKey(key.Info.KeyId, TimeSpan.FromHours(1)); // 1 use
        var newCollection = CollOf(successor); // the last use

        successor.Info.RemainingUses.Should().Be(1);
        var oldCount = () => oldCollection.Count();
        var newCount = () => newCollection.Count();
        oldCount.Should().Throw<ChromaAuthenticationException>();
        newCount.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(key.Info.KeyId).RemainingUses.Should().Be(0);
    }

    [Fact]
    public void RotateKey_budget_stays_shared_when_the_store_is_reopened_during_the_grace_period()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 10);
        var successor = _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromHours(1));

        _h.Fx.Reopen();
        var oldClient = _h.Store.GetClient(_h.Store.Authenticate(key.Key));
        var newClient = _h.Store.GetClient(_h.Store.Authenticate(successor.Key));
        var calls = 0;
        for (var i = 0; i < 12; i++)
        {
            try
            {
                (i % 2 == 0 ? oldClient : newClient).Heartbeat();
                calls++;
            }
            catch (ChromaAuthenticationException)
            {
            }
        }

        calls.Should().Be(10);
        var ring = _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey));
        ring.GetKey(successor.Info.KeyId).RemainingUses.Should().Be(0);
        ring.GetKey(key.Info.KeyId).RemainingUses.Should().Be(0);
    }

    [Fact]
    public void RevokeKey_of_a_delegate_stops_every_key_it_issued_directly_or_further_down()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.AllKeyRing], ["acme"]);
        var child = RingOf(delegateKey).CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count, ChromaActions.CreateKey], Resources = ["acme/db1"] });
        var grandchild = RingOf(child).CreateKey(new ApiKeySpec { Name = "grandchild", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });
        var grandchildCollection = CollOf(grandchild);

        _h.AdminRing.RevokeKey(delegateKey.Info.KeyId);

        var login = () => _h.Login(child);
        login.Should().Throw<ChromaAuthenticationException>();
        var count = () => grandchildCollection.Count();
        count.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.GetKey(grandchild.Info.KeyId).State.Should().Be(ApiKeyState.Suspended, "it is not revoked itself, but the chain above it is dead");
    }

    [Fact]
    public void EnableKey_of_a_disabled_delegate_restores_only_the_keys_below_it_that_were_not_disabled_themselves()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.AllKeyRing], ["acme"]);
        var ring = RingOf(delegateKey);
        var kept = ring.CreateKey(new ApiKeySpec { Name = "kept", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });
        var off = ring.CreateKey(new ApiKeySpec { Name = "off", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });
        ring.DisableKey(off.Info.KeyId);

        _h.AdminRing.DisableKey(delegateKey.Info.KeyId);
        var whileDisabled = () => CollOf(kept).Count();
        whileDisabled.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.EnableKey(delegateKey.Info.KeyId);

        CollOf(kept).Count().Should().Be(1);
        var stillOff = () => _h.Login(off);
        stillOff.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void GetKey_shows_suspended_for_a_key_below_a_disabled_or_revoked_issuer_and_active_once_it_is_enabled()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.AllKeyRing], ["acme"]);
        var child = RingOf(delegateKey).CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });
        _h.AdminRing.GetKey(child.Info.KeyId).State.Should().Be(ApiKeyState.Active);

        _h.AdminRing.DisableKey(delegateKey.Info.KeyId);
        _h.AdminRing.GetKey(child.Info.KeyId).State.Should().Be(ApiKeyState.Suspended, "every call of the child fails while its issuer is disabled");
        _h.AdminRing.ListKeys().Single(k => k.KeyId == child.Info.KeyId).State.Should().Be(ApiKeyState.Suspended);

        _h.AdminRing.EnableKey(delegateKey.Info.KeyId);
        _h.AdminRing.GetKey(child.Info.KeyId).State.Should().Be(ApiKeyState.Active);

        _h.AdminRing.RevokeKey(delegateKey.Info.KeyId);
        _h.AdminRing.GetKey(child.Info.KeyId).State.Should().Be(ApiKeyState.Suspended);
        var login = () => _h.Login(child);
        login.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void EnableKey_throws_authorization_when_a_delegate_re_enables_a_key_an_admin_disabled()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.AllKeyRing], ["acme"]);
        var ring = RingOf(delegateKey);
        var child = ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });
        _h.AdminRing.DisableKey(child.Info.KeyId);

        var enable = () => ring.EnableKey(child.Info.KeyId);

        enable.Should().Throw<ChromaAuthorizationException>().WithMessage("*disabled by*");
        _h.AdminRing.GetKey(child.Info.KeyId).State.Should().Be(ApiKeyState.Disabled);
        var login = () => _h.Login(child);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.EnableKey(child.Info.KeyId);
        CollOf(child).Count().Should().Be(1);
    }

    [Fact]
    public void KeyRing_calls_of_a_delegate_see_only_keys_issued_below_it_when_a_sibling_lies_within_its_scope()
    {
        var delegateKey = _h.Mint([ChromaActions.AllData, ChromaActions.AllKeyRing], ["acme"]);
        var sibling = _h.Mint([ChromaActions.Count], ["acme/db1/coll"], name: "sibling");
        var ring = RingOf(delegateKey);
        var own = ring.CreateKey(new ApiKeySpec { Name = "own", Actions = [ChromaActions.Count], Resources = ["acme/db1"] });

        ring.ListKeys().Select(k => k.KeyId).Should().BeEquivalentTo([delegateKey.Info.KeyId, own.Info.KeyId]);
        foreach (var call in new Action[]
        {
            () => ring.GetKey(sibling.Info.KeyId),
            () => ring.DisableKey(sibling.Info.KeyId),
            () => ring.RevokeKey(sibling.Info.KeyId),
            () => ring.RotateKey(sibling.Info.KeyId, TimeSpan.Zero),
            () => ring.GetUsage(sibling.Info.KeyId),
        })
        {
            call.Should().Throw<ChromaNotFoundException>();
        }

        _h.AdminRing.GetKey(sibling.Info.KeyId).State.Should().Be(ApiKeyState.Active);
    }

    [Fact]
    public void RotateKey_of_a_delegate_keeps_the_keys_it_issued_working_under_its_successor()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.AllKeyRing], ["acme"]);
        var child = RingOf(delegateKey).CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count], Resources = ["acme/db1/coll"] });

        var successor = _h.AdminRing.RotateKey(delegateKey.Info.KeyId, TimeSpan.Zero);

        CollOf(child).Count().Should().Be(1);
        RingOf(successor).GetKey(child.Info.KeyId).KeyId.Should().Be(child.Info.KeyId);
        _h.AdminRing.RevokeKey(successor.Info.KeyId);
        var afterRevoke = () => CollOf(child).Count();
        afterRevoke.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void Backup_and_VerifyIntegrity_throw_authorization_when_a_data_key_scoped_to_everything_is_not_an_admin_key()
    {
        var dataKey = _h.Login(_h.Mint([ChromaActions.AllData], ["*"]));
        var client = _h.Store.GetClient(dataKey);
        var destination = Path.Combine(_h.Fx.Folder + "-backup");

        var backup = () => client.Backup(destination);
        var verify = () => client.VerifyIntegrity();

        backup.Should().Throw<ChromaAuthorizationException>().WithMessage("*admin key*");
        verify.Should().Throw<ChromaAuthorizationException>().WithMessage("*admin key*");
        Directory.Exists(destination).Should().BeFalse();
        _h.Store.GetClient(_h.AdminContext).VerifyIntegrity();
    }

    [Fact]
    public void VerifyIntegrity_throws_authorization_when_the_key_is_scoped_to_one_collection()
    {
        var narrow = _h.Login(_h.Mint([ChromaActions.VerifyIntegrity], ["acme/db1/coll"]));

        var verify = () => _h.Store.GetClient(narrow, "acme", "db1").VerifyIntegrity();

        verify.Should().Throw<ChromaAuthorizationException>();
    }
}
