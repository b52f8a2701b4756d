using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The writer's SQLite settings that make commits durable and bulk ingest cheap: every commit syncs the write-ahead log
/// (<c>synchronous=FULL</c>: the durability contract), and the log is checkpointed into the database file in large steps
/// (16,384 pages) instead of SQLite's 1,000, then cut back to 64 MiB, so a stream of 1,000-record batches does not copy
/// and sync the same index pages after every batch (issue #17, durable ingest speed).
/// </summary>
public sealed class SqliteLogSettingsTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private long Pragma(string name)
    {
        lock (_fx.Store.Db.WriteLock)
        {
            using var command = _fx.Store.Db.Writer.CreateCommand();
            command.CommandText = $"PRAGMA {name}";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Fact]
    public void Writer_syncs_every_commit_and_checkpoints_its_log_every_16384_pages_when_a_store_is_created_or_reopened()
    {
        foreach (var reopen in new[] { false, true })
        {
            if (reopen)
            {
                _fx.Reopen();
            }

            Pragma("synchronous").Should().Be(2, "FULL: an acknowledged write survives a power cut");
            Pragma("wal_autocheckpoint").Should().Be(16_384);
            Pragma("journal_size_limit").Should().Be(64L << 20);
        }
    }

    [Fact]
    public void Log_holds_several_batches_between_checkpoints_and_close_empties_it_when_batches_are_added()
    {
        var collection = _fx.CreateCollection("bulk", DistanceSpace.Cosine);
        var random = new Random(17);
        for (var batch = 0; batch < 8; batch++)
        {
            var ids = Enumerable.Range(batch * 1_000, 1_000).Select(i => $"r{i}").ToArray();
            var embeddings = ids.Select(_ => Enumerable.Range(0, 384).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
            var documents = ids.Select(id => id + " " + new string('d', 200)).ToArray();
            collection.Add(ids, embeddings, documents: documents);
        }

        var wal = new FileInfo(Path.Combine(_fx.Folder, "chroma.sqlite3-wal"));
        // With SQLite's default step the log is reused from its start after each checkpoint, so it never grows much
        // past 1,000 pages plus one batch (about 6 MiB here).
        wal.Length.Should().BeGreaterThan(10L << 20, "8,000 records of 384 floats (about 20 MiB of log) were not checkpointed batch by batch");
        _fx.Close();
        wal.Refresh();
        (wal.Exists ? wal.Length : 0).Should().Be(0, "closing checkpoints and truncates the log");
        using var reopened = ChromaStore.Open(_fx.Folder);
        reopened.GetClient(_fx.AdminKey).GetCollection("bulk").Count().Should().Be(8_000);
    }
}
