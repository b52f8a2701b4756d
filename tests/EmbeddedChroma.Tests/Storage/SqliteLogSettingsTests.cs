using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The writer's SQLite settings that make commits durable and bulk ingest cheap: every commit syncs the write-ahead log
/// (<c>synchronous=FULL</c>: the durability contract), and the log is checkpointed into the database file in large steps
/// (64 MiB of log: 8,192 pages of 8 KiB, or 16,384 of 4 KiB in a store created before 8 KiB pages) instead of SQLite's
/// 1,000 pages, then cut back to 64 MiB, so a stream of 1,000-record batches does not copy and sync the same index pages
/// after every batch (issue #17, durable ingest speed). The checkpoint runs on a background thread, never in a write
/// call's commit (the writer's automatic checkpoint is off), and the log stays bounded. New stores use 8 KiB pages (five
/// 384-d records a page instead of two: issue #17's disk goal); a store made with 4 KiB pages keeps them.
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

    private static long FilePragma(string file, string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var last = 0L;
        do
        {
            while (reader.Read())
            {
                last = reader.GetValue(0) is long value ? value : 0;
            }
        }
        while (reader.NextResult());
        return last;
    }

    [Fact]
    public void Writer_syncs_every_commit_and_leaves_checkpoints_to_the_background_every_64_MiB_of_8_KiB_pages_when_a_store_is_created_or_reopened()
    {
        foreach (var reopen in new[] { false, true })
        {
            if (reopen)
            {
                _fx.Reopen();
            }

            Pragma("synchronous").Should().Be(2, "FULL: an acknowledged write survives a power cut");
            Pragma("page_size").Should().Be(8_192);
            Pragma("wal_autocheckpoint").Should().Be(0, "no commit of a write call checkpoints the log");
            _fx.Store.Db.CheckpointPages.Should().Be(8_192, "64 MiB of 8 KiB pages");
            Pragma("journal_size_limit").Should().Be(64L << 20);
        }
    }

    [Fact]
    public void Store_made_with_4_KiB_pages_keeps_them_and_checkpoints_every_16384_pages_when_it_is_reopened_written_and_compacted()
    {
        var collection = _fx.CreateCollection("old", DistanceSpace.L2);
        var random = new Random(23);
        float[][] Rows(int count) => Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var first = Rows(2_000);
        collection.Add(first.Select((_, i) => $"a{i}").ToArray(), first, documents: first.Select((_, i) => $"doc a{i}").ToArray());
        _fx.Close();
        var file = Path.Combine(_fx.Folder, "chroma.sqlite3");
        // One connection: the page size set is applied by its VACUUM, which rollback journaling allows.
        FilePragma(file, "PRAGMA journal_mode=DELETE; PRAGMA page_size=4096; VACUUM; PRAGMA journal_mode=WAL; SELECT 0;");
        FilePragma(file, "PRAGMA page_size;").Should().Be(4_096, "the store now looks like one made before 8 KiB pages");

        _fx.Reopen();
        Pragma("page_size").Should().Be(4_096);
        Pragma("wal_autocheckpoint").Should().Be(0);
        _fx.Store.Db.CheckpointPages.Should().Be(16_384, "64 MiB of 4 KiB pages");
        collection = _fx.Client.GetCollection("old");
        var second = Rows(2_000);
        collection.Add(second.Select((_, i) => $"b{i}").ToArray(), second, documents: second.Select((_, i) => $"doc b{i}").ToArray());
        collection.Delete(first.Select((_, i) => $"a{i}").Where((_, i) => i % 2 == 0).ToArray());
        collection.Compact();
        collection.Count().Should().Be(3_000);
        collection.Get(ids: ["b1999", "a1"]).Documents.Should().BeEquivalentTo("doc b1999", "doc a1");
        var nearest = collection.Query(queryEmbeddings: [second[7]], nResults: 1);
        nearest.Ids[0].Should().Equal("b7");
        nearest.Distances![0][0].Should().Be(0f);
        _fx.Close();
        FilePragma(file, "PRAGMA page_size;").Should().Be(4_096);
        FilePragma(file, "SELECT count(*) FROM records;").Should().Be(3_000);
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

    private static (string[] Ids, float[][] Embeddings, string[] Documents) Batch(int batch, int size, Random random)
    {
        var ids = Enumerable.Range(batch * size, size).Select(i => $"r{i}").ToArray();
        var embeddings = ids.Select(_ => Enumerable.Range(0, 384).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var documents = ids.Select(id => id + " " + new string('d', 200)).ToArray();
        return (ids, embeddings, documents);
    }

    private void WaitForCheckpointer(int passes)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_fx.Store.Db.Checkpointer is not { } checkpointer || checkpointer.CompletePasses < passes || checkpointer.Busy)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, "the background checkpointer completes a pass");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void Log_is_copied_in_the_background_and_stays_bounded_when_batches_keep_arriving()
    {
        _fx.Store.Db.CheckpointPages = 64;
        var collection = _fx.CreateCollection("stream", DistanceSpace.Cosine);
        var random = new Random(23);
        var wal = new FileInfo(Path.Combine(_fx.Folder, "chroma.sqlite3-wal"));
        long largest = 0;
        for (var batch = 0; batch < 40; batch++)
        {
            var (ids, embeddings, documents) = Batch(batch, 100, random);
            collection.Add(ids, embeddings, documents: documents);
            wal.Refresh();
            largest = Math.Max(largest, wal.Length);
        }

        WaitForCheckpointer(1);
        // 40 batches of about 50 pages each (about 8 MiB of log) went in; the log restarts from its beginning after each
        // complete copy, and the writer copies it itself from 4 × 64 pages on (unless a background pass holds SQLite's
        // checkpoint lock at that moment: a few batches more on a loaded machine).
        // A log frame is a page plus its 24-byte header; a batch is about 240 KiB of log whatever the page size.
        var frame = Pragma("page_size") + 24;
        largest.Should().BeLessThan((4 * 64 * frame) + (10 * 60 * 4_200L), "the log is copied into the database file as batches arrive, not only on close");
        collection.Count().Should().Be(4_000);
        _fx.Reopen();
        _fx.Client.GetCollection("stream").Count().Should().Be(4_000);
        _fx.Client.VerifyIntegrity().Repaired.Should().BeFalse();
    }

    [Fact]
    public void Every_acknowledged_batch_is_read_from_a_copy_of_the_folder_taken_as_a_killed_process_leaves_it_after_background_checkpoints()
    {
        _fx.Store.Db.CheckpointPages = 64;
        var collection = _fx.CreateCollection("killed", DistanceSpace.L2);
        var random = new Random(29);
        var added = new List<(string Id, float[] Embedding, string Document)>();
        for (var batch = 0; batch < 12; batch++)
        {
            var (ids, embeddings, documents) = Batch(batch, 100, random);
            collection.Add(ids, embeddings, documents: documents);
            added.AddRange(ids.Select((id, i) => (id, embeddings[i], documents[i])));
        }

        WaitForCheckpointer(1);
        // Written after the copy into the database file: these are only in the restarted log.
        var (lastIds, lastEmbeddings, lastDocuments) = Batch(12, 100, random);
        collection.Add(lastIds, lastEmbeddings, documents: lastDocuments);
        added.AddRange(lastIds.Select((id, i) => (id, lastEmbeddings[i], lastDocuments[i])));
        using var copy = new TempStoreFolder();
        // Copied with no write and no checkpoint pass under way: the files as they are on disk at that moment.
        var copied = false;
        while (!copied)
        {
            WaitForCheckpointer(1);
            lock (_fx.Store.Db.WriteLock)
            {
                if (_fx.Store.Db.Checkpointer!.Busy)
                {
                    continue;
                }

                // The vector file is derived (and held open): the copy rebuilds it from SQLite.
                foreach (var file in Directory.GetFiles(_fx.Folder, "*", SearchOption.AllDirectories)
                    .Where(f => !f.EndsWith("chroma.lock", StringComparison.Ordinal) && !f.EndsWith(".vec", StringComparison.Ordinal)))
                {
                    var target = Path.Combine(copy.Path, Path.GetRelativePath(_fx.Folder, file));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(file, target);
                }

                copied = true;
            }
        }

        new FileInfo(Path.Combine(copy.Path, "chroma.sqlite3-wal")).Length.Should().BeGreaterThan(0, "the last batch is only in the log");

        using var reopened = ChromaStore.Open(copy.Path);
        var client = reopened.GetClient(_fx.AdminKey);
        var got = client.GetCollection("killed").Get(added.Select(a => a.Id).ToArray(), include: Include.Embeddings | Include.Documents);
        got.Ids.Should().HaveCount(added.Count);
        var byId = added.ToDictionary(a => a.Id);
        for (var i = 0; i < got.Ids.Count; i++)
        {
            got.Documents![i].Should().Be(byId[got.Ids[i]].Document);
            got.Embeddings![i].Should().Equal(byId[got.Ids[i]].Embedding);
        }

        client.VerifyIntegrity().Repaired.Should().BeFalse();
    }

    [Fact]
    public void Close_stops_the_background_checkpointer_and_empties_the_log_when_a_pass_is_due()
    {
        _fx.Store.Db.CheckpointPages = 16;
        var collection = _fx.CreateCollection("closing", DistanceSpace.Cosine);
        var random = new Random(31);
        for (var batch = 0; batch < 6; batch++)
        {
            var (ids, embeddings, documents) = Batch(batch, 100, random);
            collection.Add(ids, embeddings, documents: documents);
        }

        _fx.Close();
        var wal = new FileInfo(Path.Combine(_fx.Folder, "chroma.sqlite3-wal"));
        (wal.Exists ? wal.Length : 0).Should().Be(0, "closing checkpoints and truncates the log");
        using var reopened = ChromaStore.Open(_fx.Folder);
        reopened.GetClient(_fx.AdminKey).GetCollection("closing").Count().Should().Be(600);
    }
}
