using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>The chained audit log: lifecycle events and denials are recorded; an edited or deleted entry breaks the chain.</summary>
public sealed class AuditTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string RingPath => Path.Combine(_h.Fx.Folder, "keyring.sqlite3");

    /// <summary>Creates, disables, enables, rotates and revokes keys and provokes denials; returns the keys.</summary>
    private (CreatedApiKey Key, CreatedApiKey Successor) Lifecycle()
    {
        _h.Fx.CreateCollection("test");
        var key = _h.Mint([ChromaActions.Count], ["default_tenant/default_database/test"], name: "audited");
        var context = _h.Login(key);
        var denied = () => _h.Store.GetClient(context).GetCollection("test").Get();
        denied.Should().Throw<ChromaAuthorizationException>();
        var hidden = () => _h.Store.GetClient(context).GetCollection("ghost");
        hidden.Should().Throw<ChromaNotFoundException>();
        _h.AdminRing.DisableKey(key.Info.KeyId);
        var disabled = () => _h.Login(key);
        disabled.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.EnableKey(key.Info.KeyId);
        var successor = _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromMinutes(1));
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        var revoked = () => _h.Login(key);
        revoked.Should().Throw<ChromaAuthenticationException>();
        var malformed = () => _h.Store.Authenticate("eck_nonsense");
        malformed.Should().Throw<ChromaAuthenticationException>();
        var narrow = _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.CreateKey], ["acme"], name: "minter")));
        var broader = () => narrow.CreateKey(new ApiKeySpec { Name = "wide", Actions = [ChromaActions.CreateKey] });
        broader.Should().Throw<ChromaAuthorizationException>();
        return (key, successor);
    }

    [Fact]
    public void ReadAudit_records_lifecycle_events_and_denials_without_secrets_when_keys_are_managed()
    {
        var (key, successor) = Lifecycle();
        var id = key.Info.KeyId;
        var adminId = _h.AdminContext.KeyId;

        var audit = _h.AdminRing.ReadAudit();

        audit.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        audit[0].Sequence.Should().Be(1);
        audit.Should().Contain(e => e.Event == "key.bootstrap" && e.KeyId == adminId && e.ActorKeyId == null);
        audit.Should().Contain(e => e.Event == "key.created" && e.KeyId == id && e.ActorKeyId == adminId && e.Detail!.Contains("audited", StringComparison.Ordinal));
        audit.Should().Contain(e => e.Event == "access.forbidden" && e.KeyId == id && e.Detail!.Contains(ChromaActions.Get, StringComparison.Ordinal));
        audit.Should().Contain(e => e.Event == "access.out_of_scope" && e.KeyId == id);
        audit.Should().Contain(e => e.Event == "key.disabled" && e.KeyId == id && e.ActorKeyId == adminId);
        audit.Should().Contain(e => e.Event == "auth.denied" && e.KeyId == id && e.Detail == "disabled");
        audit.Should().Contain(e => e.Event == "key.enabled" && e.KeyId == id);
        audit.Should().Contain(e => e.Event == "key.rotated" && e.KeyId == id && e.Detail!.Contains(successor.Info.KeyId, StringComparison.Ordinal));
        audit.Should().Contain(e => e.Event == "key.created" && e.KeyId == successor.Info.KeyId);
        audit.Should().Contain(e => e.Event == "key.revoked" && e.KeyId == id && e.ActorKeyId == adminId);
        audit.Should().Contain(e => e.Event == "auth.denied" && e.KeyId == id && e.Detail == "revoked");
        audit.Should().Contain(e => e.Event == "auth.denied" && e.KeyId == null && e.Detail!.Contains("malformed", StringComparison.Ordinal));
        audit.Should().Contain(e => e.Event == "key.create_denied");
        audit.Should().OnlyContain(e => e.Time == ManualTimeProvider.Start);
        foreach (var entry in audit)
        {
            foreach (var text in new[] { key.Key, successor.Key, _h.AdminKey })
            {
                entry.ToString().Should().NotContain(KeyRingHarness.SecretOf(text));
            }
        }

        _h.AdminRing.ReadAudit(audit[2].Sequence, 2).Select(e => e.Sequence).Should().Equal(audit[3].Sequence, audit[4].Sequence);
        var badLimit = () => _h.AdminRing.ReadAudit(0, 0);
        badLimit.Should().Throw<ChromaValidationException>();
    }

    [Fact]
    public void VerifyAudit_is_valid_and_survives_a_reopen_when_log_is_untouched()
    {
        Lifecycle();

        var before = _h.AdminRing.VerifyAudit();
        var logged = _h.AdminRing.ReadAudit(0, 100_000).Count;
        _h.Fx.Reopen();
        var ring = _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey));
        ring.DisableKey(ring.ListKeys().First(k => k.Name == "minter").KeyId);
        var after = ring.VerifyAudit();

        before.IsValid.Should().BeTrue();
        before.FirstInvalidSequence.Should().BeNull();
        before.Entries.Should().Be(logged);
        before.HeadMac.Should().NotBeNullOrEmpty();
        after.IsValid.Should().BeTrue();
        after.Entries.Should().Be(before.Entries + 1);
        after.HeadMac.Should().NotBe(before.HeadMac);
    }

    private long Tamper(string sql, Func<long, long> pickSequence)
    {
        Lifecycle();
        var valid = _h.AdminRing.VerifyAudit();
        valid.IsValid.Should().BeTrue();
        var target = pickSequence(valid.Entries);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = RingPath, Pooling = false }.ToString()))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$seq", target);
            command.ExecuteNonQuery().Should().Be(1);
        }

        _h.Fx.Reopen();
        return target;
    }

    private AuditVerification Verify() => _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey)).VerifyAudit();

    [Fact]
    public void VerifyAudit_reports_the_edited_entry_when_one_detail_was_modified()
    {
        var edited = Tamper("UPDATE audit SET detail = 'nothing to see' WHERE seq = $seq", n => n / 2);

        var result = Verify();

        result.IsValid.Should().BeFalse();
        result.FirstInvalidSequence.Should().Be(edited);
        result.Entries.Should().Be(edited - 1);
        result.HeadMac.Should().BeNull();
    }

    [Fact]
    public void VerifyAudit_reports_the_edited_entry_when_an_event_name_was_modified()
    {
        var edited = Tamper("UPDATE audit SET event = 'key.enabled' WHERE seq = $seq", n => n - 1);

        Verify().FirstInvalidSequence.Should().Be(edited);
    }

    [Fact]
    public void VerifyAudit_reports_the_entry_following_a_deleted_one_when_a_middle_entry_was_deleted()
    {
        var deleted = Tamper("DELETE FROM audit WHERE seq = $seq", n => n / 2);

        var result = Verify();

        result.IsValid.Should().BeFalse();
        // AuditVerification.FirstInvalidSequence: "the first entry that fails (modified, or following a deleted one)".
        result.FirstInvalidSequence.Should().Be(deleted + 1);
        result.Entries.Should().Be(deleted - 1);
    }

    [Fact]
    public void VerifyAudit_throws_authorization_when_key_lacks_read_audit()
    {
        var ring = _h.Store.GetKeyRing(_h.Login(_h.Mint([ChromaActions.ListKeys, ChromaActions.ReadUsage])));

        var verify = () => ring.VerifyAudit();
        verify.Should().Throw<ChromaAuthorizationException>().WithMessage($"*'{ChromaActions.ReadAudit}'*");
        var read = () => ring.ReadAudit();
        read.Should().Throw<ChromaAuthorizationException>();
    }
}
