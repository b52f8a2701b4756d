using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// The key ring writes its clock mark (every second) and usage counters (every 10 seconds) off the call that finds them
/// due: a ring write is a SQLite commit with its fsync, and a server must not put it in one request's latency.
/// </summary>
public sealed class RingFlushTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Authorized_call_returns_without_waiting_when_the_rings_flush_is_due_and_its_file_is_busy()
    {
        var client = _h.Store.GetClient(_h.AdminContext);
        var collection = client.CreateCollection("flushed");
        collection.Add(["a"], [[1f, 2f]]);

        // Another connection holds the ring file's write lock: a ring write now waits (busy timeout: 30 s).
        using var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_h.Fx.Folder, "keyring.sqlite3"), Pooling = false }.ToString());
        other.Open();
        using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE;";
            begin.ExecuteNonQuery();
        }

        _h.Clock.Advance(TimeSpan.FromSeconds(11)); // both the clock mark and the usage counters are due
        var call = Task.Run(() => collection.Count());
        var returned = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(10))) == call;

        using (var rollback = other.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK;";
            rollback.ExecuteNonQuery();
        }

        returned.Should().BeTrue("the due ring write runs on another thread, not in the call");
        (await call).Should().Be(1);
    }

    [Fact]
    public void Usage_counted_before_close_is_on_disk_after_a_reopen_when_a_background_flush_was_due()
    {
        var key = _h.Mint(["*"]);
        var context = _h.Login(key);
        var client = _h.Store.GetClient(context);
        var collection = client.CreateCollection("flushed");
        for (var i = 0; i < 5; i++)
        {
            _h.Clock.Advance(TimeSpan.FromSeconds(11)); // each call finds a flush due
            collection.Count();
        }

        var before = _h.AdminRing.GetUsage(key.Info.KeyId).Counts[(ChromaActions.Count, ApiKeyOutcome.Allowed)];
        before.Should().Be(5);
        var folder = _h.Fx.Folder;
        var options = new ChromaStoreOptions { TimeProvider = _h.Clock };
        _h.Store.Dispose(); // waits for a flush in flight, then writes the rest
        var watch = Stopwatch.StartNew();
        using var reopened = ChromaStore.Open(folder, options);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
        var admin = reopened.GetKeyRing(reopened.Authenticate(_h.AdminKey));
        admin.GetUsage(key.Info.KeyId).Counts[(ChromaActions.Count, ApiKeyOutcome.Allowed)].Should().Be(5);
    }
}
