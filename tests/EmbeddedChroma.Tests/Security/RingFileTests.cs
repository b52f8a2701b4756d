using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>The ring's files: owner-only on Unix, refused when readable by others, refused when a key row was edited.</summary>
public sealed class RingFileTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string PepperPath => Path.Combine(_h.Fx.Folder, "keyring.pepper");

    private string RingPath => Path.Combine(_h.Fx.Folder, "keyring.sqlite3");

    private SqliteConnection OpenRing()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = RingPath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private void Reopen()
    {
        SqliteConnection.ClearAllPools();
        ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options).Dispose();
    }

    [Fact]
    public void Create_makes_ring_files_owner_only_when_running_on_unix()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _h.Mint([ChromaActions.Count]);
        _h.Fx.Close();

        foreach (var path in new[] { PepperPath, RingPath })
        {
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, Path.GetFileName(path));
        }

        new FileInfo(PepperPath).Length.Should().Be(32);
    }

    [Theory]
    [InlineData("keyring.pepper", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData("keyring.sqlite3", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData("keyring.sqlite3", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite)]
    [InlineData("keyring.pepper", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherExecute)]
    public void Open_throws_keyring_error_when_a_ring_file_is_readable_by_others(string file, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _h.Fx.Close();
        var path = Path.Combine(_h.Fx.Folder, file);
        File.SetUnixFileMode(path, mode);

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);

        open.Should().Throw<ChromaKeyRingException>().WithMessage("*chmod 600*");
        var recover = () => ChromaStore.RecoverAdminKey(_h.Fx.Folder, _h.Fx.Options);
        recover.Should().Throw<ChromaKeyRingException>();

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var store = ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        store.GetClient(_h.AdminKey).ListTenants().Should().Contain("default_tenant");
    }

    [Theory]
    [InlineData("Resources")]
    [InlineData("Actions")]
    [InlineData("Revoked")]
    [InlineData("ExpiresMs")]
    [InlineData("RemainingUses")]
    public void Open_throws_keyring_error_when_a_key_row_body_was_edited(string field)
    {
        var key = _h.Mint([ChromaActions.Count], ["acme/db1/coll"], ManualTimeProvider.Start + TimeSpan.FromHours(1), maxUses: 5);
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();

        using (var connection = OpenRing())
        {
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT body FROM keys WHERE key_id = $k";
            read.Parameters.AddWithValue("$k", key.Info.KeyId);
            var body = JsonNode.Parse((string)read.ExecuteScalar()!)!.AsObject();
            body[field] = field switch
            {
                "Resources" => new JsonArray("*"),
                "Actions" => new JsonArray("*", "keyring:*"),
                "Revoked" => false,
                "ExpiresMs" => null,
                _ => 1_000_000,
            };
            using var write = connection.CreateCommand();
            write.CommandText = "UPDATE keys SET body = $b WHERE key_id = $k";
            write.Parameters.AddWithValue("$b", body.ToJsonString());
            write.Parameters.AddWithValue("$k", key.Info.KeyId);
            write.ExecuteNonQuery().Should().Be(1);
        }

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);

        open.Should().Throw<ChromaKeyRingException>().WithMessage($"*{key.Info.KeyId}*");
    }

    [Fact]
    public void Open_throws_keyring_error_when_a_key_row_was_copied_onto_another_key_id()
    {
        var reader = _h.Mint([ChromaActions.Count], ["acme"]);
        _h.Fx.Close();
        SqliteConnection.ClearAllPools();

        using (var connection = OpenRing())
        {
            // Give the narrow key the admin key's body and MAC: the MAC binds the body to its key id.
            using var write = connection.CreateCommand();
            write.CommandText = "UPDATE keys SET (body, mac) = (SELECT body, mac FROM keys WHERE key_id = $admin) WHERE key_id = $k";
            write.Parameters.AddWithValue("$admin", _h.AdminContext.KeyId);
            write.Parameters.AddWithValue("$k", reader.Info.KeyId);
            write.ExecuteNonQuery().Should().Be(1);
        }

        var open = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);

        open.Should().Throw<ChromaKeyRingException>();
    }

    [Fact]
    public void Open_succeeds_and_keys_still_work_when_ring_is_untouched()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        _h.Fx.Close();

        Reopen();

        using var store = ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        store.GetClient(key.Key).Heartbeat().Should().BePositive();
    }

    [Fact]
    public void Open_throws_keyring_error_when_the_pepper_is_missing_or_damaged()
    {
        _h.Fx.Close();
        var pepper = File.ReadAllBytes(PepperPath);

        File.WriteAllBytes(PepperPath, pepper[..16]);
        var shortPepper = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        shortPepper.Should().Throw<ChromaKeyRingException>();

        File.Delete(PepperPath);
        var missing = () => ChromaStore.Open(_h.Fx.Folder, _h.Fx.Options);
        missing.Should().Throw<ChromaKeyRingException>();
    }
}
