using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Red-team tests of the key ring through its public API (issue #10): delegation, enabling, admin-only calls,
/// clock and quotas, tried the way a caller holding a narrow key would try to get around them.
/// </summary>
public sealed class KeyRingAttackTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public KeyRingAttackTests() => _h.SeedTenants();

    public void Dispose() => _h.Dispose();

    private KeyRingClient RingOf(CreatedApiKey key) => _h.Store.GetKeyRing(_h.Login(key));

    private Collection CollOf(CreatedApiKey key) => _h.Store.GetClient(_h.Login(key), "acme", "db1").GetCollection("coll");

    private static CreatedApiKey Child(KeyRingClient ring, string[] actions, long? maxUses = null, string name = "child", ApiKeyRateLimit? rate = null) =>
        ring.CreateKey(new ApiKeySpec { Name = name, Actions = actions, Resources = ["acme"], MaxUses = maxUses, RateLimit = rate });

    /// <summary>Every entry a key can be presented at: each must refuse with an authentication failure.</summary>
    private void EveryEntryRefuses(CreatedApiKey key, ApiKeyContext contextFromBefore, Collection handleFromBefore)
    {
        var entries = new Action[]
        {
            () => _h.Store.Authenticate(key.Key),
            () => _h.Store.AuthenticateHeader("Bearer " + key.Key),
            () => _h.Store.GetClient(contextFromBefore, "acme", "db1"),
            () => _h.Store.GetClient(contextFromBefore, "acme", "db1").GetCollection("coll"),
            () => handleFromBefore.Count(),
            () => handleFromBefore.Query([[1f, 2f]], nResults: 1),
            () => _h.Store.GetKeyRing(contextFromBefore).ListKeys(),
            () => _h.Store.GetKeyRing(contextFromBefore).CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], Resources = ["acme"] }),
        };
        foreach (var entry in entries)
        {
            entry.Should().Throw<ChromaAuthenticationException>();
        }
    }

    [Fact]
    public void CreateKey_never_hands_out_more_uses_than_the_parent_had_when_eight_threads_create_children_at_once()
    {
        var parent = _h.Mint([ChromaActions.Count, ChromaActions.CreateKey], ["acme"], maxUses: 40);
        var ring = RingOf(parent);
        var children = new System.Collections.Concurrent.ConcurrentBag<CreatedApiKey>();
        var creations = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 4; i++)
            {
                try
                {
                    children.Add(Child(ring, [ChromaActions.Count], maxUses: 3));
                    Interlocked.Increment(ref creations);
                }
                catch (ChromaException)
                {
                    // out of uses, or the request is larger than what is left
                }
            }
        });

        foreach (var key in children.Append(parent))
        {
            try
            {
                var coll = CollOf(key);
                while (true)
                {
                    coll.Count();
                }
            }
            catch (ChromaAuthenticationException)
            {
                // this key's uses are spent
            }
        }

        // Every allowed call spent one use (CreateKey calls included); the children's uses were carved out of the 40.
        var allowed = children.Append(parent)
            .SelectMany(k => _h.AdminRing.GetUsage(k.Info.KeyId).Counts)
            .Where(c => c.Key.Outcome == ApiKeyOutcome.Allowed)
            .Sum(c => c.Value);
        allowed.Should().Be(40);
        creations.Should().BeGreaterThan(0);
    }

    [Fact]
    public void RotateKey_throws_not_found_and_creates_nothing_when_a_child_rotates_its_parent()
    {
        var parent = _h.Mint([ChromaActions.Count, ChromaActions.CreateKey, ChromaActions.RotateKey], ["acme"], rate: new ApiKeyRateLimit(5, 5), maxUses: 30);
        var child = Child(RingOf(parent), [ChromaActions.Count, ChromaActions.RotateKey], maxUses: 5, rate: new ApiKeyRateLimit(5, 5));
        var before = _h.AdminRing.ListKeys().Count;

        var rotate = () => RingOf(child).RotateKey(parent.Info.KeyId, TimeSpan.Zero);

        rotate.Should().Throw<ChromaNotFoundException>();
        _h.AdminRing.ListKeys().Should().HaveCount(before);
        _h.AdminRing.GetKey(parent.Info.KeyId).State.Should().Be(ApiKeyState.Active);
    }

    [Fact]
    public void RotateKey_of_itself_keeps_expiry_rate_limit_and_remaining_uses_when_a_limited_delegate_rotates_itself()
    {
        var expires = ManualTimeProvider.Start.AddDays(1);
        var parent = _h.Mint([ChromaActions.Count, ChromaActions.CreateKey, ChromaActions.RotateKey], ["acme"], expires, new ApiKeyRateLimit(5, 5), 30);
        var ring = RingOf(parent);
        var child = ring.CreateKey(new ApiKeySpec
        {
            Name = "child", Actions = [ChromaActions.Count, ChromaActions.RotateKey], Resources = ["acme/db1"],
            ExpiresAt = expires.AddHours(-1), RateLimit = new ApiKeyRateLimit(1, 2), MaxUses = 6,
        });

        var successor = RingOf(child).RotateKey(child.Info.KeyId, TimeSpan.FromMinutes(5));

        successor.Info.ExpiresAt.Should().Be(expires.AddHours(-1));
        successor.Info.RateLimit.Should().Be(new ApiKeyRateLimit(1, 2));
        successor.Info.RemainingUses.Should().Be(5); // 6 minus the rotate call itself
        successor.Info.Resources.Should().Equal("acme/db1");
    }

    [Fact]
    public void Children_of_a_rotated_parent_work_under_its_successor_and_fail_every_entry_once_the_successor_is_revoked()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.ListKeys, ChromaActions.RotateKey], ["acme"]);
        var child = Child(RingOf(parent), [ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.ListKeys]);
        var context = _h.Login(child);
        var handle = _h.Store.GetClient(context, "acme", "db1").GetCollection("coll");

        var successor = RingOf(parent).RotateKey(parent.Info.KeyId, TimeSpan.Zero);

        handle.Count().Should().Be(1);
        _h.Store.Authenticate(child.Key).Should().NotBeNull();
        _h.AdminRing.RevokeKey(successor.Info.KeyId);
        EveryEntryRefuses(child, context, handle);
    }

    [Fact]
    public void Children_of_a_disabled_parent_fail_every_entry_and_work_again_when_an_admin_enables_the_parent()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.ListKeys], ["acme"]);
        var child = Child(RingOf(parent), [ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.ListKeys]);
        var grandchild = Child(RingOf(child), [ChromaActions.AllData, ChromaActions.ListKeys, ChromaActions.CreateKey]);
        var context = _h.Login(grandchild);
        var handle = _h.Store.GetClient(context, "acme", "db1").GetCollection("coll");

        _h.AdminRing.DisableKey(parent.Info.KeyId);
        EveryEntryRefuses(grandchild, context, handle);

        _h.AdminRing.EnableKey(parent.Info.KeyId);
        handle.Count().Should().Be(1);
    }

    [Fact]
    public void Children_of_a_parent_revoked_before_a_reopen_stay_dead_after_it()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey], ["acme"]);
        var child = Child(RingOf(parent), [ChromaActions.Count]);
        _h.AdminRing.RevokeKey(parent.Info.KeyId);

        _h.Fx.Reopen();

        var login = () => _h.Fx.Store.Authenticate(child.Key);
        login.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void EnableKey_is_refused_when_a_key_enables_a_revoked_key_or_a_delegate_enables_a_key_an_admin_disabled()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.DisableKey, ChromaActions.RevokeKey], ["acme"]);
        var ring = RingOf(parent);
        var revoked = Child(ring, [ChromaActions.Count], name: "revoked");
        var disabled = Child(ring, [ChromaActions.Count], name: "disabled by admin");
        ring.RevokeKey(revoked.Info.KeyId);
        _h.AdminRing.DisableKey(disabled.Info.KeyId);

        var enableRevoked = () => ring.EnableKey(revoked.Info.KeyId);
        var adminEnablesRevoked = () => _h.AdminRing.EnableKey(revoked.Info.KeyId);
        var enableDisabled = () => ring.EnableKey(disabled.Info.KeyId);

        enableRevoked.Should().Throw<ChromaValidationException>();
        adminEnablesRevoked.Should().Throw<ChromaValidationException>();
        enableDisabled.Should().Throw<ChromaAuthorizationException>();
        _h.AdminRing.GetKey(revoked.Info.KeyId).State.Should().Be(ApiKeyState.Revoked);
        _h.AdminRing.GetKey(disabled.Info.KeyId).State.Should().Be(ApiKeyState.Disabled);
        var use = () => _h.Store.Authenticate(disabled.Key);
        use.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void Store_wide_calls_and_VerifyAudit_throw_authorization_when_a_key_holds_every_action_but_is_not_an_admin_key()
    {
        var everything = _h.Mint([ChromaActions.AllData, ChromaActions.AllKeyRing]);
        var context = _h.Login(everything);
        var client = _h.Store.GetClient(context);
        var ring = _h.Store.GetKeyRing(context);
        var destination = Path.Combine(Path.GetTempPath(), "ec-redteam-" + Guid.NewGuid().ToString("N"));
        try
        {
            var backup = () => client.Backup(destination);
            var verify = () => client.VerifyIntegrity();
            var reapply = () => ring.ReapplyRevocations(_h.AdminRing.ReadAudit());
            var verifyRing = () => ring.VerifyAudit();

            backup.Should().Throw<ChromaAuthorizationException>();
            verify.Should().Throw<ChromaAuthorizationException>();
            reapply.Should().Throw<ChromaAuthorizationException>();
            verifyRing.Should().Throw<ChromaAuthorizationException>();
            (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any()).Should().BeFalse();
        }
        finally
        {
            if (Directory.Exists(destination))
            {
                Directory.Delete(destination, recursive: true);
            }
        }
    }

    [Fact]
    public void ReadAudit_of_a_delegate_shows_only_entries_of_keys_it_manages_when_a_sibling_lies_within_its_scope()
    {
        var delegateKey = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey, ChromaActions.ReadAudit], ["acme"], name: "delegate");
        var sibling = _h.Mint([ChromaActions.Count], ["acme/db1"], name: "sibling secret project");
        _h.AdminRing.DisableKey(sibling.Info.KeyId);
        var own = Child(RingOf(delegateKey), [ChromaActions.Count], name: "own child");

        var entries = RingOf(delegateKey).ReadAudit();

        entries.Should().NotBeEmpty();
        entries.Should().Contain(e => e.KeyId == own.Info.KeyId);
        entries.Should().OnlyContain(e => e.KeyId == delegateKey.Info.KeyId || e.KeyId == own.Info.KeyId);
        entries.Should().NotContain(e => (e.Detail ?? string.Empty).Contains("sibling secret project"));
    }

    [Fact]
    public void ReadAudit_of_a_delegate_pages_past_entries_it_may_not_see_when_the_first_page_holds_none_of_its_own()
    {
        var delegateKey = _h.Mint([ChromaActions.Count, ChromaActions.ReadAudit], ["acme"], name: "delegate");
        for (var i = 0; i < 12; i++)
        {
            _h.Mint([ChromaActions.Count], ["beta"], name: $"other {i}");
        }

        var probe = _h.Store.GetClient(_h.Login(delegateKey), "acme", "db1").GetCollection("coll");
        probe.Count();
        var denied = () => _h.Store.GetClient(_h.Login(delegateKey), "beta", "db1");
        denied.Should().Throw<ChromaNotFoundException>();

        var page = RingOf(delegateKey).ReadAudit(afterSequence: 0, limit: 2);

        page.Should().HaveCount(2);
        page.Should().OnlyContain(e => e.KeyId == delegateKey.Info.KeyId);
    }

    [Fact]
    public void Rotated_key_stays_dead_when_its_grace_period_ended_and_the_clock_is_set_back_in_memory_and_across_a_reopen()
    {
        var key = _h.Mint([ChromaActions.Count], ["acme"]);
        _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromHours(1));
        _h.Clock.Advance(TimeSpan.FromHours(2));
        var afterGrace = () => _h.Store.Authenticate(key.Key);
        afterGrace.Should().Throw<ChromaAuthenticationException>();

        _h.Clock.Advance(TimeSpan.FromMinutes(-90));
        afterGrace.Should().Throw<ChromaAuthenticationException>();

        _h.Fx.Reopen();
        var afterReopen = () => _h.Fx.Store.Authenticate(key.Key);
        afterReopen.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void MaxUses_lets_exactly_the_uses_through_across_a_clean_reopen_and_a_rotation_with_grace()
    {
        var key = _h.Mint([ChromaActions.Count, ChromaActions.RotateKey], ["acme"], maxUses: 12);
        var coll = CollOf(key);
        coll.Count();
        coll.Count();
        _h.Fx.Reopen();

        var context = _h.Fx.Store.Authenticate(key.Key);
        var successor = _h.Fx.Store.GetKeyRing(context).RotateKey(key.Info.KeyId, TimeSpan.FromHours(1));
        var oldColl = _h.Fx.Store.GetClient(context, "acme", "db1").GetCollection("coll");
        var newColl = _h.Fx.Store.GetClient(_h.Fx.Store.Authenticate(successor.Key), "acme", "db1").GetCollection("coll");
        var calls = 0;
        var refused = 0;
        for (var i = 0; refused < 2 && i < 40; i++)
        {
            try
            {
                (i % 2 == 0 ? oldColl : newColl).Count();
                calls++;
            }
            catch (ChromaAuthenticationException)
            {
                refused++;
            }
        }

        // 12 uses: GetCollection + 2 counts, the rotate call, one GetCollection per handle (6 spent); the 6 left are shared.
        calls.Should().Be(6);
    }

    [Fact]
    public void Every_failure_of_a_key_ring_call_with_bad_input_is_a_chroma_exception()
    {
        var ring = _h.AdminRing;
        var calls = new Action[]
        {
            () => ring.GetKey(null!),
            () => ring.GetKey(string.Empty),
            () => ring.GetKey(_h.AdminKey),
            () => ring.DisableKey("\0"),
            () => ring.RevokeKey(new string('a', 100_000)),
            () => ring.RotateKey("nope", TimeSpan.MinValue),
            () => ring.RotateKey("nope", TimeSpan.MaxValue),
            () => ring.GetUsage("../../etc"),
            () => ring.ReadAudit(-1, 10),
            () => ring.ReadAudit(0, int.MaxValue),
            () => ring.ReapplyRevocations(null!),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], Resources = [null!] }),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [null!], Resources = ["*"] }),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], Resources = ["a/b/c/d"] }),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], RateLimit = new ApiKeyRateLimit(double.NaN, 1) }),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], MaxUses = long.MinValue }),
            () => ring.CreateKey(new ApiKeySpec { Name = "x", Actions = [ChromaActions.Count], ExpiresAt = DateTimeOffset.MinValue }),
        };
        foreach (var call in calls)
        {
            call.Should().Throw<ChromaException>();
        }
    }

    [Fact]
    public void Usage_table_edits_change_no_quota_when_counts_are_rewritten_on_disk()
    {
        var key = _h.Mint([ChromaActions.Count], ["acme"], maxUses: 5);
        CollOf(key).Count(); // GetCollection and Count: 2 of 5 uses
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_h.Fx.Folder, "keyring.sqlite3")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM usage; DELETE FROM last_used;";
            command.ExecuteNonQuery();
        }

        using var store = ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        var coll = store.GetClient(store.Authenticate(key.Key), "acme", "db1").GetCollection("coll");
        coll.Count(); // GetCollection above was the 3rd use
        coll.Count();
        var third = () => coll.Count();
        third.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void AuthenticateHeaders_refuses_odd_headers_with_a_chroma_exception_and_accepts_only_one_agreeing_key()
    {
        var a = _h.Mint([ChromaActions.SystemHeartbeat], name: "a").Key;
        var b = _h.Mint([ChromaActions.SystemHeartbeat], name: "b").Key;
        var odd = new (string? Authorization, string? Token)[]
        {
            (null, null), (string.Empty, null), ("Bearer", null), ("Bearer ", null), ("Bearer\t" + a, null), ("Bearer " + a + " ", null),
            ("Bearer " + a + "\0", null), ("Bearer \0" + a, null), ("Bearer " + a + "\r\nX-Evil: 1", null), ("Bearer " + a.Replace('e', '\u0435'), null),
            ("Bearer " + a + "," + b, null), ("Bearer " + a + " Bearer " + b, null), ("Basic " + a, null), (a, null),
            ("Bearer " + new string('A', 1_000_000), null), (null, new string('A', 1_000_000)), (null, " " + a), (null, "Bearer " + a),
            ("Bearer " + a, b), ("Bearer " + b, a), ("Bearer " + a, string.Empty), ("Bearer " + a, a + "\0"),
        };
        foreach (var (authorization, token) in odd)
        {
            var call = () => _h.Store.AuthenticateHeaders(authorization, token);
            call.Should().Throw<ChromaException>($"'{authorization?.Length}'/'{token?.Length}' is not one clean key");
        }

        _h.Store.AuthenticateHeaders("bearer " + a, a).KeyId.Should().Be(KeyRingHarness.KeyIdOf(a));
        _h.Store.AuthenticateHeaders("BEARER   " + b, null).KeyId.Should().Be(KeyRingHarness.KeyIdOf(b));
        _h.Store.AuthenticateHeaders(null, a).KeyId.Should().Be(KeyRingHarness.KeyIdOf(a));
    }

    [Fact]
    public void RotateKey_with_a_grace_period_does_not_multiply_the_rate_limit_when_a_key_rotates_itself_again_and_again()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat, ChromaActions.RotateKey], rate: new ApiKeyRateLimit(1, 3));
        var line = new List<string> { key.Key };
        for (var i = 0; i < 2; i++)
        {
            var context = _h.Store.Authenticate(line[^1]);
            line.Add(_h.Store.GetKeyRing(context).RotateKey(context.KeyId, TimeSpan.FromHours(1)).Key);
        }

        // Two rotate calls took two of the line's three tokens (the clock stands still): one call is left in all.
        var allowed = 0;
        foreach (var text in line)
        {
            var client = _h.Store.GetClient(text);
            for (var i = 0; i < 3; i++)
            {
                try
                {
                    client.Heartbeat();
                    allowed++;
                }
                catch (ChromaRateLimitedException)
                {
                    // the line's bucket is empty
                }
            }
        }

        allowed.Should().Be(1);
    }

    [Fact]
    public void MaxUses_lets_exactly_the_uses_through_when_eight_threads_spend_while_the_key_is_rotated_with_grace()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat, ChromaActions.RotateKey], maxUses: 300);
        var context = _h.Login(key);
        var oldClient = _h.Store.GetClient(context);
        ChromaClient? newClient = null;
        var allowed = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            if (worker == 0)
            {
                // Under load the other threads may spend every use before this thread runs: then the rotation itself
                // (or opening the successor's client) is refused like any call past the budget, and the count holds.
                try
                {
                    var successor = _h.Store.GetKeyRing(context).RotateKey(key.Info.KeyId, TimeSpan.FromHours(1));
                    Interlocked.Increment(ref allowed);
                    Volatile.Write(ref newClient, _h.Store.GetClient(successor.Key));
                }
                catch (ChromaAuthenticationException)
                {
                    // the line's uses are spent
                }
            }

            for (var i = 0; i < 200; i++)
            {
                var client = i % 2 == 0 ? oldClient : Volatile.Read(ref newClient) ?? oldClient;
                try
                {
                    client.Heartbeat();
                    Interlocked.Increment(ref allowed);
                }
                catch (ChromaAuthenticationException)
                {
                    // the line's uses are spent
                }
            }
        });

        allowed.Should().Be(300);
    }
}
