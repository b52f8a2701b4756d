using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.Security;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A full disk never kills the process and is reported as <see cref="ChromaStorageFullException"/>: the failing batch
/// rolls back, acknowledged batches stay intact, reads go on, writes resume once space is freed, closing releases
/// the folder, and the store reopens. On a real full file system (a tiny tmpfs, root only) and through the arena
/// allocation seam (<see cref="FileAllocation.Faults"/>, anywhere).
/// </summary>
public sealed class FullDiskTests
{
    private const int Dim = 32;
    private const int BatchSize = 50;

    private static float[] Vector(int i)
    {
        var v = new float[Dim];
        for (var d = 0; d < Dim; d++)
        {
            v[d] = ((i * 31) + (d * 7)) % 97 / 97f;
        }

        // The pattern above repeats every 97 records; a distinct first coordinate keeps every vector unique, so a
        // query by a record's own vector has exactly one nearest neighbour.
        v[0] += i / 4096f;

        return v;
    }

    private static string Document(int i) => $"document {i} " + new string((char)('a' + (i % 26)), 300);

    private static (string[] Ids, float[][] Embeddings, string?[] Documents) Batch(int batch)
    {
        var ids = new string[BatchSize];
        var embeddings = new float[BatchSize][];
        var documents = new string?[BatchSize];
        for (var j = 0; j < BatchSize; j++)
        {
            var i = (batch * BatchSize) + j;
            ids[j] = "r" + i;
            embeddings[j] = Vector(i);
            documents[j] = Document(i);
        }

        return (ids, embeddings, documents);
    }

    [RootFact]
    public void Add_throws_storage_full_rolls_back_and_keeps_the_store_usable_when_the_disk_fills_during_ingest()
    {
        using var mount = new TmpfsMount(sizeKiB: 4096);
        var folder = Path.Combine(mount.Path, "store");
        var logger = new CapturingLogger();
        var time = new ManualTimeProvider();
        var options = new ChromaStoreOptions { HnswThreshold = 200, Logger = logger, TimeProvider = time };
        var store = ChromaStore.Create(folder, out var key, options);
        try
        {
            var collection = store.GetClient(key).CreateCollection("docs");
            var spare = Path.Combine(mount.Path, "spare");
            File.WriteAllBytes(spare, new byte[768 * 1024]);

            var acknowledged = 0;
            ChromaStorageFullException? full = null;
            (string[] Ids, float[][] Embeddings, string?[] Documents) failed = default;
            for (var b = 0; b < 1000 && full is null; b++)
            {
                var batch = Batch(b);
                try
                {
                    collection.Add(batch.Ids, batch.Embeddings, documents: batch.Documents);
                    acknowledged += BatchSize;
                }
                catch (ChromaStorageFullException ex)
                {
                    full = ex;
                    failed = batch;
                }
            }

            full.Should().NotBeNull("the 4 MiB file system must fill up");
            full!.Folder.Should().StartWith(mount.Path);
            full.BytesNeeded.Should().BePositive();
            full.Message.Should().Contain(full.Folder).And.Contain("full");
            full.InnerException.Should().NotBeNull();

            // The failed batch changed nothing; every acknowledged one is intact; reads work while the disk is full.
            mount.Fill("filler");
            time.Advance(TimeSpan.FromMinutes(1)); // the next gated call flushes usage counters: it must not need space
            var reread = store.GetClient(key).GetCollection("docs");
            reread.Count().Should().Be(acknowledged);
            reread.Get(ids: failed.Ids).Ids.Should().BeEmpty();
            AssertIntact(reread, acknowledged);
            // Ten results, not one: records 97 apart differ only slightly in their first coordinate, and an approximate
            // walk may order such near-duplicates differently from one graph build to the next; r7 (distance 0) is among them.
            reread.Query([Vector(7)], nResults: 10, include: Include.Distances).Ids[0].Should().Contain("r7");
            time.Advance(TimeSpan.FromMinutes(1));
            store.GetClient(key).GetCollection("docs").Count().Should().Be(acknowledged);
            // The ring flushes on a thread-pool thread (not in the call that finds the flush due): wait for its warning.
            SpinWait.SpinUntil(() => logger.Entries.Any(e => e.EventId.Id == 11), TimeSpan.FromSeconds(30));
            logger.Entries.Count(e => e.EventId.Id == 11).Should().Be(1, "usage counters that cannot be written are kept, with one warning");
            store.GetKeyRing(store.Authenticate(key)).Invoking(r => r.CreateKey(new ApiKeySpec { Name = "more", Actions = ["*"] }))
                .Should().Throw<ChromaStorageFullException>().Which.Folder.Should().Be(folder);

            // Space freed: the same batch now succeeds.
            File.Delete(spare);
            File.Delete(Path.Combine(mount.Path, "filler"));
            reread.Add(failed.Ids!, failed.Embeddings, documents: failed.Documents);
            reread.Count().Should().Be(acknowledged + BatchSize);
            acknowledged += BatchSize;

            // Closing on a full disk neither throws nor keeps the folder locked.
            reread.WaitForIndex();
            mount.Fill("filler");
            store.Invoking(s => s.Dispose()).Should().NotThrow();
            logger.Entries.Should().Contain(e => e.EventId.Id == 10, "the graph that could not be saved is logged, not thrown");

            // Still full: SQLite kept its log (the close could not checkpoint it) and needs room to replay it; the open
            // either works for reads or names the full disk — never "corrupt".
            try
            {
                using var whileFull = ChromaStore.Open(folder, options);
                whileFull.GetClient(key).GetCollection("docs").Count().Should().Be(acknowledged);
            }
            catch (ChromaStorageFullException ex)
            {
                ex.Folder.Should().StartWith(mount.Path);
            }

            // The lock was released: the same process opens it again once there is room.
            File.Delete(Path.Combine(mount.Path, "filler"));
            store = ChromaStore.Open(folder, options);
            var reopened = store.GetClient(key).GetCollection("docs");
            reopened.Count().Should().Be(acknowledged);
            AssertIntact(reopened, acknowledged);
        }
        finally
        {
            store.Dispose();
            SqliteConnection.ClearAllPools();
        }
    }

    [RootFact]
    public void Open_opens_for_reads_instead_of_reporting_corruption_when_the_disk_is_full()
    {
        using var mount = new TmpfsMount(sizeKiB: 2048);
        var folder = Path.Combine(mount.Path, "store");
        using (var store = ChromaStore.Create(folder, out var key))
        {
            var collection = store.GetClient(key).CreateCollection("docs");
            var batch = Batch(0);
            collection.Add(batch.Ids, batch.Embeddings, documents: batch.Documents);
            File.WriteAllText(Path.Combine(folder, "key.txt"), key);
        }

        var adminKey = File.ReadAllText(Path.Combine(folder, "key.txt"));
        mount.Fill("filler");
        using (var store = ChromaStore.Open(folder))
        {
            var collection = store.GetClient(adminKey).GetCollection("docs");
            collection.Count().Should().Be(BatchSize);
            AssertIntact(collection, BatchSize);
            collection.Invoking(c => c.Add(["new"], [Vector(1)])).Should().Throw<ChromaStorageFullException>()
                .Which.Message.Should().Contain("reopen");
        }

        // Space freed: a reopen writes again.
        File.Delete(Path.Combine(mount.Path, "filler"));
        using (var store = ChromaStore.Open(folder))
        {
            var collection = store.GetClient(adminKey).GetCollection("docs");
            collection.Add(["new"], [Vector(1)]);
            collection.Count().Should().Be(BatchSize + 1);
        }

        SqliteConnection.ClearAllPools();
    }

    [RootFact]
    public void Open_opens_for_reads_when_the_store_was_closed_on_a_full_disk_with_its_log_not_checkpointed()
    {
        using var mount = new TmpfsMount(sizeKiB: 4096);
        var folder = Path.Combine(mount.Path, "store");
        string key;
        const int Records = 4 * BatchSize;
        using (var store = ChromaStore.Create(folder, out key))
        {
            var collection = store.GetClient(key).CreateCollection("docs");
            for (var b = 0; b < Records / BatchSize; b++)
            {
                var batch = Batch(b);
                collection.Add(batch.Ids, batch.Embeddings, documents: batch.Documents);
            }

            // The disk fills before the close: its checkpoint cannot grow the database file, so the log stays.
            mount.Fill("filler");
        }

        new FileInfo(Path.Combine(folder, "chroma.sqlite3-wal")).Length.Should().BePositive("the close on a full disk could not checkpoint the log");
        using (var store = ChromaStore.Open(folder))
        {
            var collection = store.GetClient(key).GetCollection("docs");
            collection.Count().Should().Be(Records);
            AssertIntact(collection, Records);
            collection.Query([Vector(7)], nResults: 1).Ids[0].Should().Equal("r7");
            collection.Get(whereDocument: WhereDocument.Contains("document 123 "), include: Include.None).Ids.Should().Equal("r123");
            Parallel.For(0, 8, i => collection.Get(ids: ["r" + i], include: Include.Documents).Documents![0].Should().Be(Document(i)));
            collection.Invoking(c => c.Add(["new"], [Vector(1)])).Should().Throw<ChromaStorageFullException>()
                .Which.Message.Should().Contain("reopen");
        }

        // Space freed: a reopen replays the log and writes again.
        File.Delete(Path.Combine(mount.Path, "filler"));
        using (var store = ChromaStore.Open(folder))
        {
            var collection = store.GetClient(key).GetCollection("docs");
            collection.Add(["new"], [Vector(1)]);
            collection.Count().Should().Be(Records + 1);
            AssertIntact(collection, Records);
        }

        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void Add_throws_storage_full_with_the_bytes_needed_and_changes_nothing_when_the_arena_cannot_grow()
    {
        using var fixture = new StoreFixture();
        var collection = fixture.CreateCollection();
        for (var b = 0; b < 1024 / BatchSize; b++)
        {
            var batch = Batch(b);
            collection.Add(batch.Ids, batch.Embeddings, documents: batch.Documents);
        }

        var before = collection.Count(); // 1,000 rows: the arena holds 1,024
        var growing = Batch(1024 / BatchSize); // slots 1,000..1,049
        FileAllocation.Faults[fixture.Folder] = (_, _) => 28; // ENOSPC
        try
        {
            var thrown = collection.Invoking(c => c.Add(growing.Ids, growing.Embeddings, documents: growing.Documents))
                .Should().Throw<ChromaStorageFullException>().Which;
            thrown.Folder.Should().Be(fixture.VectorsFolder);
            thrown.BytesNeeded.Should().Be((1050 - 1024) * Dim * sizeof(float));
            thrown.InnerException.Should().BeOfType<IOException>();
            collection.Count().Should().Be(before);
            collection.Get(ids: growing.Ids).Ids.Should().BeEmpty();
            AssertIntact(collection, before);
        }
        finally
        {
            FileAllocation.Faults.TryRemove(fixture.Folder, out _);
        }

        collection.Add(growing.Ids, growing.Embeddings, documents: growing.Documents);
        fixture.Reopen();
        var reopened = fixture.Client.GetCollection("test");
        reopened.Count().Should().Be(before + BatchSize);
        AssertIntact(reopened, before + BatchSize);
    }

    [Fact]
    public void Add_leaves_no_arena_and_no_dimension_when_the_first_batch_of_a_collection_finds_the_disk_full()
    {
        using var fixture = new StoreFixture();
        var collection = fixture.CreateCollection();
        FileAllocation.Faults[fixture.Folder] = (_, _) => 28;
        try
        {
            collection.Invoking(c => c.Add(["a"], [new float[] { 1, 2, 3 }]))
                .Should().Throw<ChromaStorageFullException>().Which.BytesNeeded.Should().BePositive();
        }
        finally
        {
            FileAllocation.Faults.TryRemove(fixture.Folder, out _);
        }

        collection.Count().Should().Be(0);
        Directory.Exists(fixture.VectorsFolder).Should().BeTrue();
        Directory.GetFiles(fixture.VectorsFolder).Should().BeEmpty();

        // The failed batch fixed no dimension: another one is accepted.
        collection.Add(["b"], [new float[] { 1, 2 }]);
        collection.Get(ids: ["b"], include: Include.Embeddings).Embeddings![0].Should().Equal(1f, 2f);
    }

    [Fact]
    public void Query_answers_from_an_arena_built_outside_the_store_when_a_missing_arena_cannot_be_rebuilt_on_a_full_disk()
    {
        var logger = new CapturingLogger();
        using var fixture = new StoreFixture(new ChromaStoreOptions { Logger = logger, HnswThreshold = 1_000 });
        var collection = fixture.CreateCollection("test");
        for (var b = 0; b < 2; b++)
        {
            var batch = Batch(b);
            collection.Add(batch.Ids, batch.Embeddings, documents: batch.Documents);
        }

        var arena = fixture.ArenaPath(collection.Id);
        fixture.Close();
        File.Delete(arena);
        FileAllocation.Faults[fixture.Folder] = (_, _) => 28; // ENOSPC: nothing can be allocated in the store folder
        string[] scratch;
        try
        {
            fixture.Reopen();
            var reopened = fixture.Client.GetCollection("test");
            reopened.Query([Vector(42)], nResults: 10, include: Include.Distances).Ids[0].Should().Contain("r42");
            AssertIntact(reopened, 2 * BatchSize);
            reopened.Add(["new"], [Vector(1000)]); // SQLite still has room here (only arena allocation fails): durable, found after the reopen below
            reopened.Query([Vector(1000)], nResults: 1).Ids[0].Should().Equal("new");

            var warning = logger.Entries.Should().ContainSingle(e => e.EventId.Id == 32).Subject;
            warning.Message.Should().Contain(arena).And.Contain("full");
            var folder = OperatingSystem.IsLinux() && Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
            scratch = Directory.GetFiles(folder, $"ec-arena-{reopened.Id:N}-*.vec");
            scratch.Should().ContainSingle("the stand-in arena lives outside the store while it is open");
            File.Exists(arena).Should().BeFalse("nothing was written in the full store folder");
            fixture.Close();
            scratch.Where(File.Exists).Should().BeEmpty("the stand-in is deleted on close");
        }
        finally
        {
            FileAllocation.Faults.TryRemove(fixture.Folder, out _);
        }

        // With space again, the store's own arena is rebuilt.
        fixture.Reopen();
        fixture.Client.GetCollection("test").Query([Vector(42)], nResults: 1).Ids[0].Should().Equal("r42");
        fixture.Client.GetCollection("test").Query([Vector(1000)], nResults: 1).Ids[0].Should().Equal("new");
        File.Exists(arena).Should().BeTrue();
    }

    private static void AssertIntact(Collection collection, int count)
    {
        var ids = Enumerable.Range(0, count).Where(i => i % 37 == 0 || i == count - 1).Select(i => "r" + i).ToArray();
        var got = collection.Get(ids: ids, include: Include.Embeddings | Include.Documents);
        got.Ids.Should().BeEquivalentTo(ids);
        for (var k = 0; k < got.Count; k++)
        {
            var i = int.Parse(got.Ids[k].AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
            got.Embeddings![k].Should().Equal(Vector(i));
            got.Documents![k].Should().Be(Document(i));
        }
    }
}
