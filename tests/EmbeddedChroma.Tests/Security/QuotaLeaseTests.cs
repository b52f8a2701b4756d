using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Issue #10, "cost of a quota": uses are leased in blocks written durably before they are spent, so a quota does not
/// cost a commit per call; a crash counts the unspent lease as spent; the count stays exact under contention.
/// </summary>
public sealed class QuotaLeaseTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>The uses a key has left as written in keyring.sqlite3 now: what a crash at this instant would leave.</summary>
    private long DurableRemainingUses(string keyId)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_h.Fx.Folder, "keyring.sqlite3"),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM keys WHERE key_id = $k";
        command.Parameters.AddWithValue("$k", keyId);
        return JsonNode.Parse((string)command.ExecuteScalar()!)!["RemainingUses"]!.GetValue<long>();
    }

    [Fact]
    public void Quota_calls_write_the_ring_once_per_lease_not_once_per_call()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 100_000);
        var client = _h.Store.GetClient(_h.Login(key));
        var wal = new FileInfo(Path.Combine(_h.Fx.Folder, "keyring.sqlite3-wal"));
        var walBefore = wal.Exists ? wal.Length : 0;

        for (var i = 0; i < 3000; i++)
        {
            client.Heartbeat();
        }

        wal.Refresh();
        // One commit per call would append ≥ 3000 pages (≥ 12 MB before the checkpoint wraps the log at 4 MB).
        (wal.Length - walBefore).Should().BeLessThan(512 * 1024);
        _h.AdminRing.GetKey(key.Info.KeyId).RemainingUses.Should().Be(100_000 - 3000);
    }

    [Fact]
    public void Crash_counts_the_unspent_lease_as_spent_and_a_clean_close_gives_it_back()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 1_000);
        var client = _h.Store.GetClient(_h.Login(key)); // opening a client on the defaults is no call

        for (var i = 0; i < 10; i++)
        {
            client.Heartbeat();
        }

        var durable = DurableRemainingUses(key.Info.KeyId);
        durable.Should().BeLessThan(990, "the leased, unspent uses are already gone on disk");
        durable.Should().BeGreaterThanOrEqualTo(990 - 11, "a lease is never larger than about the uses spent so far");
        _h.Fx.Reopen();
        _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey)).GetKey(key.Info.KeyId).RemainingUses.Should().Be(990);
    }

    [Fact]
    public void MaxUses_lets_exactly_as_many_calls_through_as_uses_when_eight_threads_race_across_leases()
    {
        const int uses = 700;
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: uses);
        var client = _h.Store.GetClient(_h.Login(key));
        var allowed = 0;
        var refused = 0;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 150; i++)
            {
                try
                {
                    client.Heartbeat();
                    Interlocked.Increment(ref allowed);
                }
                catch (ChromaAuthenticationException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });

        allowed.Should().Be(uses);
        refused.Should().Be((8 * 150) - uses);
        _h.Fx.Reopen();
        var reopened = () => _h.Store.Authenticate(key.Key);
        reopened.Should().Throw<ChromaAuthenticationException>();
    }
}
