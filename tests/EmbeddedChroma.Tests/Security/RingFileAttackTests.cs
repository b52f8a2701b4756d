using System.Text;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Red-team tests of the files the key ring writes (issue #10): rows swapped, copied, deleted, the version record
/// edited or removed, a whole older ring put back; and a scan of every file, message and log line for key text.
/// </summary>
public sealed class RingFileAttackTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string RingPath => Path.Combine(_h.Fx.Folder, "keyring.sqlite3");

    private void Sql(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = RingPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    private void CloseStore()
    {
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();
    }

    private void OpenShouldRefuse()
    {
        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options).Dispose();
        open.Should().Throw<ChromaKeyRingException>();
    }

    [Fact]
    public void Open_throws_keyring_error_when_two_key_rows_are_swapped()
    {
        var revoked = _h.Mint([ChromaActions.SystemHeartbeat], name: "a");
        var live = _h.Mint([ChromaActions.AllData], name: "b");
        _h.AdminRing.RevokeKey(revoked.Info.KeyId);
        CloseStore();

        Sql("""
            UPDATE keys SET key_id = '#tmp' WHERE key_id = $a;
            UPDATE keys SET key_id = $a WHERE key_id = $b;
            UPDATE keys SET key_id = $b WHERE key_id = '#tmp';
            """, ("$a", revoked.Info.KeyId), ("$b", live.Info.KeyId));

        OpenShouldRefuse();
    }

    [Fact]
    public void Open_throws_keyring_error_when_a_key_row_is_copied_under_another_key_id()
    {
        var revoked = _h.Mint([ChromaActions.SystemHeartbeat], name: "a");
        var wide = _h.Mint([ChromaActions.AllData], name: "b");
        _h.AdminRing.RevokeKey(revoked.Info.KeyId);
        CloseStore();

        // Give the revoked key's id the wide key's body, MAC and version: a duplicate of a valid row.
        Sql("UPDATE keys SET (body, mac, version) = (SELECT body, mac, version FROM keys WHERE key_id = $b) WHERE key_id = $a",
            ("$a", revoked.Info.KeyId), ("$b", wide.Info.KeyId));

        OpenShouldRefuse();
    }

    [Fact]
    public void Open_throws_keyring_error_when_a_revoked_key_row_is_deleted()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey], name: "parent");
        var child = _h.Store.GetKeyRing(_h.Login(parent)).CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Count] });
        _h.AdminRing.RevokeKey(parent.Info.KeyId);
        CloseStore();

        // Without the revoked parent's row the child's issuing chain would end at a live key.
        Sql("DELETE FROM keys WHERE key_id = $a", ("$a", parent.Info.KeyId));

        OpenShouldRefuse();
        _ = child;
    }

    [Theory]
    [InlineData("UPDATE ring_meta SET version = version + 1")]
    [InlineData("UPDATE ring_meta SET high_water = 0")]
    [InlineData("UPDATE ring_meta SET audit_seq = audit_seq - 1")]
    [InlineData("DELETE FROM ring_meta")]
    [InlineData("DROP TABLE ring_meta")]
    [InlineData("UPDATE keys SET version = version + 1")]
    public void Open_throws_keyring_error_when_the_version_record_or_a_row_version_is_edited(string edit)
    {
        _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 4);
        CloseStore();

        Sql(edit);

        OpenShouldRefuse();
    }

    [Fact]
    public void Open_accepts_a_whole_earlier_keyring_file_but_its_audit_head_differs_from_the_one_recorded_after_the_revocation()
    {
        // Documented limit: a whole-ring rollback cannot be told from the real ring; the recorded head MAC can.
        var key = _h.Mint([ChromaActions.SystemHeartbeat], name: "revoked after the copy");
        CloseStore();
        var copy = File.ReadAllBytes(RingPath);
        File.Exists(RingPath + "-wal").Should().BeFalse("a clean close checkpoints the ring");

        _h.Fx.Reopen();
        var admin = _h.Fx.Store.GetKeyRing(_h.Fx.Store.Authenticate(_h.AdminKey));
        admin.RevokeKey(key.Info.KeyId);
        _h.Fx.Store.GetClient(_h.Fx.Store.Authenticate(_h.AdminKey)).CreateCollection("newer-data");
        var recordedHead = admin.VerifyAudit().HeadMac;
        CloseStore();

        File.WriteAllBytes(RingPath, copy);

        using var store = ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        store.GetClient(key.Key).Heartbeat().Should().BePositive();
        store.GetKeyRing(store.Authenticate(_h.AdminKey)).VerifyAudit().HeadMac.Should().NotBe(recordedHead);
    }

    [Fact]
    public void No_key_text_appears_in_any_store_file_log_line_message_or_audit_entry_after_attacks_on_the_ring()
    {
        var logger = new CapturingLogger();
        var clock = new ManualTimeProvider();
        using var fx = new StoreFixture(new ChromaStoreOptions { TimeProvider = clock, Logger = logger });
        var admin = fx.Store.Authenticate(fx.AdminKey);
        var ring = fx.Store.GetKeyRing(admin);
        var keys = new List<string> { fx.AdminKey };
        var messages = new List<string>();
        void Try(Action call)
        {
            try
            {
                call();
            }
            catch (ChromaException ex)
            {
                messages.Add(ex.ToString());
            }
        }

        var limited = ring.CreateKey(new ApiKeySpec { Name = "limited", Actions = [ChromaActions.SystemHeartbeat, ChromaActions.CreateKey, ChromaActions.RotateKey], MaxUses = 6, RateLimit = new ApiKeyRateLimit(1, 2) });
        keys.Add(limited.Key);
        var rotated = ring.RotateKey(limited.Info.KeyId, TimeSpan.FromMinutes(1));
        keys.Add(rotated.Key);
        var limitedRing = fx.Store.GetKeyRing(fx.Store.Authenticate(rotated.Key));
        Try(() => keys.Add(limitedRing.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.SystemHeartbeat], MaxUses = 2, RateLimit = new ApiKeyRateLimit(1, 1) }).Key));
        Try(() => limitedRing.CreateKey(new ApiKeySpec { Name = "too wide", Actions = [ChromaActions.AllData] }));
        foreach (var key in keys.ToList())
        {
            var wrong = key[..^8] + (key[^8] == 'A' ? 'B' : 'A') + key[^7..];
            Try(() => fx.Store.Authenticate(wrong));
            Try(() => fx.Store.AuthenticateHeaders("Bearer " + key, wrong));
            Try(() => fx.Store.AuthenticateHeader("Basic " + key));
            Try(() => ring.GetKey(key));
            Try(() => ring.RevokeKey(key));
            for (var i = 0; i < 4; i++)
            {
                Try(() => fx.Store.GetClient(key).Heartbeat());
            }
        }

        clock.Advance(TimeSpan.FromHours(1));
        Try(() => fx.Store.Authenticate(limited.Key));
        messages.Add(ring.ToString()!);
        messages.Add(limited.ToString());
        messages.AddRange(ring.ListKeys().Select(k => k.ToString()));
        messages.AddRange(ring.ReadAudit(0, 100_000).Select(e => e.ToString()));
        fx.Close();
        SqliteConnection.ClearAllPools();

        var haystacks = messages.Concat(logger.Entries.Select(e => e.Message + e.Exception)).ToList();
        var files = Directory.EnumerateFiles(fx.Folder, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToList();
        files.Should().NotBeEmpty();
        foreach (var key in keys)
        {
            var secret = KeyRingHarness.SecretOf(key);
            var secretStart = secret.Substring(0, 20);
            var forms = new[] { key, secret, Convert.ToBase64String(Encoding.UTF8.GetBytes(key)), Convert.ToHexString(Encoding.UTF8.GetBytes(secret)), Convert.ToHexString(Encoding.UTF8.GetBytes(secret)).ToLowerInvariant() };
            foreach (var form in forms)
            {
                haystacks.Should().NotContain(h => h.Contains(form, StringComparison.Ordinal) || h.Contains(secretStart, StringComparison.Ordinal));
                foreach (var bytes in files)
                {
                    Contains(bytes, Encoding.UTF8.GetBytes(form)).Should().BeFalse();
                    Contains(bytes, Encoding.Unicode.GetBytes(form)).Should().BeFalse();
                }
            }
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
