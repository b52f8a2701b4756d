using EmbeddedChroma.Tests.Security;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// <see cref="ChromaClient.Backup"/>: a consistent copy of an open store (whole batches only, even while a writer
/// runs), with vector arenas and graphs taken at the database's snapshot (the copy opens without rebuilding them),
/// opened with the same keys, refused for unsuitable destinations and for keys scoped below the whole store.
/// </summary>
public sealed class BackupTests : IDisposable
{
    private const int Dimension = 8;
    private const int BatchSize = 40;
    private readonly TempStoreFolder _backups = new("ec-backup");

    public void Dispose() => _backups.Dispose();

    private string Destination(string name = "copy") => Path.Combine(_backups.Path, name);

    private static float[] Vector(int batch, int i)
    {
        var random = new Random(batch * 1_000 + i);
        return Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
    }

    /// <summary>A "docs" collection with batches 0–9, its graph caught up.</summary>
    private static Collection TenIndexedBatches(StoreFixture fx)
    {
        var collection = fx.CreateCollection("docs");
        for (var b = 0; b < 10; b++)
        {
            WriteBatch(collection, b);
        }

        collection.WaitForIndex();
        return collection;
    }

    private static void WriteBatch(Collection collection, int batch) =>
        collection.Add(
            Enumerable.Range(0, BatchSize).Select(i => $"b{batch}-{i}").ToArray(),
            Enumerable.Range(0, BatchSize).Select(i => Vector(batch, i)).ToArray(),
            Enumerable.Range(0, BatchSize).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("batch", (long)batch), ("i", (long)i))).ToArray(),
            Enumerable.Range(0, BatchSize).Select(i => $"document {batch} {i}").ToArray());

    [Fact]
    public async Task Backup_taken_while_a_writer_runs_holds_every_earlier_batch_whole_and_no_partial_one()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 300 });
        var collection = fx.CreateCollection("docs");
        for (var b = 0; b < 10; b++)
        {
            WriteBatch(collection, b);
        }

        var acknowledged = 10;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var b = 10; b < 400 && !stop.IsCancellationRequested; b++)
            {
                WriteBatch(collection, b);
                Volatile.Write(ref acknowledged, b + 1);
            }
        });

        SpinWait.SpinUntil(() => Volatile.Read(ref acknowledged) >= 15, TimeSpan.FromSeconds(30)).Should().BeTrue();
        var before = Volatile.Read(ref acknowledged);
        var result = fx.Client.Backup(Destination());
        stop.Cancel();
        await writer;

        result.Path.Should().Be(Destination());
        result.Bytes.Should().BePositive();
        var log = new CapturingLogger();
        using var copy = ChromaStore.Open(result.Path, new ChromaStoreOptions { HnswThreshold = 300, Logger = log });
        var restored = copy.GetClient(fx.AdminKey).GetCollection("docs");
        var all = restored.Get(include: Include.Metadatas | Include.Embeddings | Include.Documents);
        log.Entries.Should().NotContain(e => e.EventId.Id == 1, "the arena copied with the backup matches its database snapshot exactly, so it is not rebuilt");
        var batches = all.Metadatas!.Select(m => (long)m!["batch"]).GroupBy(b => b).ToDictionary(g => g.Key, g => g.Count());
        batches.Values.Should().AllSatisfy(count => count.Should().Be(BatchSize), "a backup never holds part of a batch");
        batches.Keys.Should().Contain(Enumerable.Range(0, before).Select(b => (long)b), "every batch acknowledged before the backup is in it");
        batches.Keys.Order().Should().Equal(Enumerable.Range(0, batches.Count).Select(b => (long)b), "batches are acknowledged in order, so the copy is a prefix");
        for (var r = 0; r < all.Ids.Count; r++)
        {
            var batch = (int)(long)all.Metadatas![r]!["batch"];
            var i = (int)(long)all.Metadatas[r]!["i"];
            all.Ids[r].Should().Be($"b{batch}-{i}");
            all.Embeddings![r].Should().Equal(Vector(batch, i));
            all.Documents![r].Should().Be($"document {batch} {i}");
        }

        // The copy's graph is at best an older save (usually none yet), so the opened copy builds or catches it up in the
        // background.
        // A graph walk racing with that build is approximate and can miss even an exact match (records not yet linked
        // are scanned exactly; linked ones are found only as well as the walk of a half-built graph finds them): wait
        // for the build before asking for the nearest record by the graph.
        restored.WaitForIndex();
        var probe = Vector(3, 7);
        restored.Query([probe], 1).Ids[0].Should().Equal("b3-7");
        restored.Query([probe], 5, where: Where.Eq("batch", 3L)).Ids[0].Should().HaveCount(5).And.Contain("b3-7");
    }

    [Fact]
    public void Backup_carries_the_vector_arena_and_saved_graph_so_the_copy_opens_without_rebuilding_them()
    {
        var options = new ChromaStoreOptions { HnswThreshold = 300 };
        using var fx = new StoreFixture(options);
        var collection = fx.CreateCollection("docs");
        for (var b = 0; b < 20; b++)
        {
            WriteBatch(collection, b);
        }

        collection.WaitForIndex();
        fx.Reopen(); // closing saves the graph file
        collection = fx.Client.GetCollection("docs");
        for (var b = 20; b < 25; b++)
        {
            WriteBatch(collection, b); // after the saved graph: replayed when the copy opens
        }

        collection.Delete(["b2-3", "b21-0"]);
        collection.WaitForIndex();
        var probes = Enumerable.Range(0, 12).Select(i => Vector(i * 2, i)).ToArray();
        var expected = collection.Query(probes, 5, include: Include.Distances);

        var result = fx.Client.Backup(Destination());

        var arenaFile = Directory.GetFiles(Path.Combine(result.Path, "vectors"), "*.vec").Should().ContainSingle().Subject;
        Directory.GetFiles(Path.Combine(result.Path, "vectors"), "*.hnsw").Should().ContainSingle();
        result.Bytes.Should().BeGreaterThan(new FileInfo(arenaFile).Length);
        var log = new CapturingLogger();
        using var copy = ChromaStore.Open(result.Path, new ChromaStoreOptions { HnswThreshold = 300, Logger = log });
        var restored = copy.GetClient(fx.AdminKey).GetCollection("docs");
        restored.Count().Should().Be((25 * BatchSize) - 2);
        restored.Indexer!.LoadedFromFile.Should().BeTrue("the graph saved at the close came with the backup");
        log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Should().BeEmpty("neither the arena nor the graph is rebuilt");
        restored.WaitForIndex();
        var answers = restored.Query(probes, 5, include: Include.Distances);
        answers.Ids.Should().BeEquivalentTo(expected.Ids, o => o.WithStrictOrdering());
        restored.Get(["b2-3", "b21-0"]).Ids.Should().BeEmpty();
    }

    [Fact]
    public void A_write_committed_while_the_database_is_being_copied_is_not_in_the_backup_and_the_vectors_still_match()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 300 });
        var collection = TenIndexedBatches(fx);
        fx.Store.AfterBackupSnapshot = () => WriteBatch(collection, 10); // lands after the pinned snapshot

        var result = fx.Client.Backup(Destination());

        collection.Count().Should().Be(11 * BatchSize, "the write went through while the backup ran");
        var log = new CapturingLogger();
        using var copy = ChromaStore.Open(result.Path, new ChromaStoreOptions { HnswThreshold = 300, Logger = log });
        var restored = copy.GetClient(fx.AdminKey).GetCollection("docs");
        restored.Count().Should().Be(10 * BatchSize, "the copy holds the database as of the snapshot");
        restored.Query([Vector(10, 3)], 1).Ids[0].Should().NotContain("b10-3");
        log.Entries.Should().NotContain(e => e.EventId.Id == 1, "the arena was copied at the snapshot, so it matches the copied database");
    }

    [Fact]
    public void Backup_of_a_collection_not_opened_since_the_store_opened_copies_its_files_as_they_are()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 300 });
        var collection = TenIndexedBatches(fx);
        fx.Reopen(); // "docs" is not loaded again before the backup

        var result = fx.Client.Backup(Destination());

        var log = new CapturingLogger();
        using var copy = ChromaStore.Open(result.Path, new ChromaStoreOptions { HnswThreshold = 300, Logger = log });
        var restored = copy.GetClient(fx.AdminKey).GetCollection("docs");
        restored.Query([Vector(4, 9)], 1).Ids[0].Should().Equal("b4-9");
        restored.Indexer!.LoadedFromFile.Should().BeTrue();
        log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Should().BeEmpty();
    }

    [Fact]
    public void Source_store_keeps_working_after_a_backup_and_the_copy_is_independent()
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        WriteBatch(collection, 0);
        var result = fx.Client.Backup(Destination());

        WriteBatch(collection, 1);
        collection.Count().Should().Be(2 * BatchSize);
        using var copy = ChromaStore.Open(result.Path);
        var restored = copy.GetClient(fx.AdminKey).GetCollection("docs");
        restored.Count().Should().Be(BatchSize);
        restored.Delete(["b0-0"]);
        collection.Get(["b0-0"]).Ids.Should().Equal("b0-0");
    }

    [Fact]
    public void Backup_keeps_the_key_ring_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var fx = new StoreFixture();
        var result = fx.Client.Backup(Destination());
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        (File.GetUnixFileMode(result.Path) & others).Should().Be(UnixFileMode.None);
        (File.GetUnixFileMode(Path.Combine(result.Path, "keyring.pepper")) & others).Should().Be(UnixFileMode.None);
        (File.GetUnixFileMode(Path.Combine(result.Path, "keyring.sqlite3")) & others).Should().Be(UnixFileMode.None);
    }

    [Fact]
    public void Destination_that_is_not_a_new_or_empty_folder_outside_the_store_is_refused_and_nothing_is_written()
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("docs");
        var occupied = Destination("occupied");
        Directory.CreateDirectory(occupied);
        File.WriteAllText(Path.Combine(occupied, "keep.txt"), "mine");
        var file = Destination("a-file");
        File.WriteAllText(file, "x");

        foreach (var (destination, fragment) in new[]
        {
            (fx.Folder, "inside the store"),
            (Path.Combine(fx.Folder, "nested"), "inside the store"),
            (occupied, "not empty"),
            (file, "is a file"),
            ("   ", "non-empty path"),
        })
        {
            var act = () => fx.Client.Backup(destination);
            act.Should().Throw<ChromaValidationException>().WithMessage($"*{fragment}*");
        }

        Directory.EnumerateFileSystemEntries(occupied).Select(Path.GetFileName).Should().Equal("keep.txt");
        Directory.Exists(Path.Combine(fx.Folder, "nested")).Should().BeFalse();
        File.ReadAllText(file).Should().Be("x");
    }

    [Fact]
    public void Empty_existing_folder_is_accepted()
    {
        using var fx = new StoreFixture();
        Directory.CreateDirectory(Destination("empty"));
        fx.Client.Backup(Destination("empty")).Bytes.Should().BePositive();
        ChromaStore.Exists(Destination("empty")).Should().BeTrue();
    }

    [Fact]
    public void Key_scoped_below_the_whole_store_or_without_the_action_may_not_back_up()
    {
        using var h = new KeyRingHarness();
        var tenantScoped = h.Login(h.Mint([ChromaActions.SystemBackup], ["acme"]));
        var act = () => h.Store.GetClient(tenantScoped, "acme", "db1").Backup(Destination("tenant"));
        act.Should().Throw<ChromaAuthorizationException>().WithMessage("*scoped to '*'*");

        var dataOnly = h.Login(h.Mint(ChromaActions.DataActions.Where(a => a != ChromaActions.SystemBackup).ToArray()));
        act = () => h.Store.GetClient(dataOnly).Backup(Destination("data"));
        act.Should().Throw<ChromaAuthorizationException>().WithMessage($"*{ChromaActions.SystemBackup}*");

        Directory.Exists(Destination("tenant")).Should().BeFalse();
        Directory.Exists(Destination("data")).Should().BeFalse();
    }
}
