using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Issue #10, "old rows can be replayed": a key row written back from an earlier copy of keyring.sqlite3 (validly
/// MAC'd, no pepper needed) is refused at open and reported by VerifyAudit; rings from before row versions migrate once.
/// </summary>
public sealed class RingReplayTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string RingPath => Path.Combine(_h.Fx.Folder, "keyring.sqlite3");

    private SqliteConnection OpenRing()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = RingPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Every column of a key row, as an attacker would copy it.</summary>
    private Dictionary<string, object> ReadRow(string keyId)
    {
        using var connection = OpenRing();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM keys WHERE key_id = $k";
        command.Parameters.AddWithValue("$k", keyId);
        using var reader = command.ExecuteReader();
        reader.Read().Should().BeTrue();
        return Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, reader.GetValue);
    }

    private void WriteRow(Dictionary<string, object> row)
    {
        using var connection = OpenRing();
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE keys SET {string.Join(", ", row.Keys.Where(c => c != "key_id").Select(c => $"{c} = ${c}"))} WHERE key_id = $key_id";
        foreach (var (column, value) in row)
        {
            command.Parameters.AddWithValue("$" + column, value);
        }

        command.ExecuteNonQuery().Should().Be(1);
    }

    [Fact]
    public void Open_throws_keyring_error_when_an_earlier_copy_of_a_revoked_key_row_is_written_back()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 5);
        var before = ReadRow(key.Info.KeyId);
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();

        WriteRow(before);

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        open.Should().Throw<ChromaKeyRingException>().WithMessage("*earlier copy*");
    }

    [Fact]
    public void Open_throws_keyring_error_when_an_earlier_copy_of_a_quota_row_is_written_back()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 3);
        var before = ReadRow(key.Info.KeyId);
        var client = _h.Store.GetClient(_h.Login(key));
        client.Heartbeat();
        client.Heartbeat();
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();

        WriteRow(before);

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        open.Should().Throw<ChromaKeyRingException>();
    }

    [Fact]
    public void VerifyAudit_reports_the_ring_invalid_when_a_row_is_written_back_while_the_store_is_open()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        var before = ReadRow(key.Info.KeyId);
        _h.AdminRing.RevokeKey(key.Info.KeyId);

        WriteRow(before);

        var verification = _h.AdminRing.VerifyAudit();
        verification.IsValid.Should().BeFalse();
        verification.RingProblem.Should().Contain("earlier copy");
    }

    [Fact]
    public void Open_throws_keyring_error_when_the_tail_of_the_audit_log_is_cut_off()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();

        using (var connection = OpenRing())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)";
            command.ExecuteNonQuery().Should().Be(1);
        }

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        open.Should().Throw<ChromaKeyRingException>().WithMessage("*audit*");
    }

    [Fact]
    public void Open_migrates_a_ring_without_row_versions_once_and_refuses_one_whose_version_record_was_removed_later()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 5);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();
        var pepper = File.ReadAllBytes(Path.Combine(_h.Fx.Folder, "keyring.pepper"));

        // Turn the ring into the format written before issue #10: no ring_meta, no row versions, MAC over id + body.
        using (var connection = OpenRing())
        {
            var rows = new List<(string Id, string Body)>();
            using (var read = connection.CreateCommand())
            {
                read.CommandText = "SELECT key_id, body FROM keys";
                using var reader = read.ExecuteReader();
                while (reader.Read())
                {
                    rows.Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            using var write = connection.CreateCommand();
            write.CommandText = "DROP TABLE ring_meta; ALTER TABLE keys DROP COLUMN version;";
            write.ExecuteNonQuery();
            write.CommandText = "UPDATE keys SET mac = $m WHERE key_id = $k";
            foreach (var (id, body) in rows)
            {
                write.Parameters.Clear();
                write.Parameters.AddWithValue("$k", id);
                write.Parameters.AddWithValue("$m", HMACSHA256.HashData(pepper, Encoding.UTF8.GetBytes(id + "\n" + body)));
                write.ExecuteNonQuery();
            }
        }

        using (var store = ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options))
        {
            store.GetClient(key.Key).Heartbeat().Should().BePositive();
            var ring = store.GetKeyRing(store.Authenticate(_h.AdminKey));
            ring.ReadAudit().Should().ContainSingle(e => e.Event == "ring.migrated");
            ring.VerifyAudit().IsValid.Should().BeTrue();
        }

        SqliteConnection.ClearAllPools();
        using (var connection = OpenRing())
        {
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE ring_meta";
            drop.ExecuteNonQuery();
        }

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        open.Should().Throw<ChromaKeyRingException>().WithMessage("*ring_meta*");
    }

    [Fact]
    public void ReapplyRevocations_revokes_in_a_restored_backup_the_keys_revoked_or_rotated_after_it()
    {
        var revokedLater = _h.Mint([ChromaActions.SystemHeartbeat], name: "revoked later");
        var rotatedLater = _h.Mint([ChromaActions.SystemHeartbeat], name: "rotated later");
        var kept = _h.Mint([ChromaActions.SystemHeartbeat], name: "kept");
        var backup = _h.Fx.Folder + "-backup";
        try
        {
            _h.Store.GetClient(_h.AdminContext).Backup(backup);
            _h.AdminRing.RevokeKey(revokedLater.Info.KeyId);
            _h.AdminRing.RotateKey(rotatedLater.Info.KeyId, TimeSpan.FromHours(1));
            var export = _h.AdminRing.ReadAudit(0, 100_000);

            using var restored = ChromaStore.Open(backup, _h.Fx.Options);
            restored.GetClient(revokedLater.Key).Heartbeat().Should().BePositive("the backup predates the revocation");
            var ring = restored.GetKeyRing(restored.Authenticate(_h.AdminKey));

            ring.ReapplyRevocations(export).Should().Be(2);

            foreach (var dead in new[] { revokedLater, rotatedLater })
            {
                var login = () => restored.Authenticate(dead.Key);
                login.Should().Throw<ChromaAuthenticationException>();
            }

            restored.GetClient(kept.Key).Heartbeat().Should().BePositive();
            ring.ReapplyRevocations(export).Should().Be(0);
            var narrow = () => restored.GetKeyRing(restored.Authenticate(kept.Key)).ReapplyRevocations(export);
            narrow.Should().Throw<ChromaAuthorizationException>();
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            if (Directory.Exists(backup))
            {
                Directory.Delete(backup, recursive: true);
            }
        }
    }
}
