using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The background indexer saves the graph once it has caught up after enough changes, so a process that dies
/// without closing the store replays only the writes after that save instead of rebuilding the graph.
/// </summary>
public sealed class GraphCheckpointTests : IDisposable
{
    private const int Dimension = 8;
    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = 100 });
    private readonly TempStoreFolder _copy = new("ec-checkpoint");

    public void Dispose()
    {
        _fx.Dispose();
        _copy.Dispose();
    }

    private static float[][] Vectors(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    private static void AddAll(Collection collection, string prefix, float[][] vectors)
    {
        for (var start = 0; start < vectors.Length; start += 1_000)
        {
            var count = Math.Min(1_000, vectors.Length - start);
            collection.Add(Enumerable.Range(start, count).Select(i => prefix + i).ToArray(), vectors.AsSpan(start, count).ToArray());
        }
    }

    [Fact]
    public void Graph_is_saved_in_the_background_and_a_store_that_was_never_closed_reloads_it_and_replays_only_newer_writes()
    {
        var collection = _fx.CreateCollection("checkpointed");
        var vectors = Vectors(VectorIndexerCheckpoint + 1_000, seed: 5);
        AddAll(collection, "v", vectors);
        collection.WaitForIndex();
        SpinWait.SpinUntil(() => collection.Indexer!.Checkpoints > 0, TimeSpan.FromSeconds(60)).Should().BeTrue("the caught-up indexer saves a graph that changed this much");
        var graphFile = Directory.GetFiles(_fx.VectorsFolder, "*.hnsw").Should().ContainSingle().Subject;
        HnswIndex.ReadStamp(graphFile).Should().BePositive();

        // Written after the checkpoint: only in SQLite (and the arena) until the next save.
        var later = Vectors(50, seed: 6);
        AddAll(collection, "w", later);

        // A copy of the folder as a killed process would leave it: nothing closed, no final save. The open arena is
        // locked (and would be unclean after a kill anyway, so it is rebuilt): leave it out.
        foreach (var file in Directory.GetFiles(_fx.Folder, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("chroma.lock", StringComparison.Ordinal) && !f.EndsWith(".vec", StringComparison.Ordinal)))
        {
            var target = Path.Combine(_copy.Path, Path.GetRelativePath(_fx.Folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        using var reopened = ChromaStore.Open(_copy.Path, new ChromaStoreOptions { HnswThreshold = 100 });
        var copy = reopened.GetClient(_fx.AdminKey).GetCollection("checkpointed");
        copy.Count().Should().Be(vectors.Length + later.Length);
        copy.Query([later[7]], 1).Ids[0].Should().Equal("w7");
        copy.Indexer!.LoadedFromFile.Should().BeTrue("the checkpointed graph is loaded, not rebuilt");
        copy.WaitForIndex();
        copy.Query([vectors[123]], 1).Ids[0].Should().Equal("v123");
        copy.Query([later[42]], 1).Ids[0].Should().Equal("w42");
    }

    [Fact]
    public void Add_and_query_do_not_wait_for_a_background_checkpoint_when_it_is_being_written()
    {
        var collection = _fx.CreateCollection("unstalled");
        var vectors = Vectors(VectorIndexerCheckpoint + 1_000, seed: 8);
        AddAll(collection, "a", vectors[..1_000]);
        using var writing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        collection.Indexer!.CheckpointWriting = _ =>
        {
            writing.Set();
            release.Wait(TimeSpan.FromSeconds(60), CancellationToken.None);
        };
        try
        {
            AddAll(collection, "v", vectors[1_000..]);
            writing.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("the caught-up indexer starts a checkpoint");

            // The save is held open: a writer and a reader still get through, and the query finds the new record
            // (not linked yet: the worker is saving) by the exact scan of the pending slots.
            var late = Vectors(3, seed: 9);
            using var added = new ManualResetEventSlim();
            var add = Task.Run(() =>
            {
                collection.Add(["late0", "late1", "late2"], late);
                added.Set();
            });
            added.Wait(TimeSpan.FromSeconds(20)).Should().BeTrue("a writer does not wait for a checkpoint being written");
            add.IsFaulted.Should().BeFalse();
            collection.Query([late[1]], 1).Ids[0].Should().Equal("late1");
            collection.Indexer.Checkpoints.Should().Be(0, "the save is still being written");
        }
        finally
        {
            release.Set();
        }

        SpinWait.SpinUntil(() => collection.Indexer.Checkpoints > 0, TimeSpan.FromSeconds(60)).Should().BeTrue();
        collection.WaitForIndex();
        collection.GetIndexingStatus().UnindexedRecords.Should().Be(0, "the worker links what was written during its save");

        // As a killed process would leave the folder: the checkpoint's stamp must not claim the writes made during the
        // save (they are replayed), and the graph is loaded, not rebuilt.
        CopyAsKilled();
        using var reopened = ChromaStore.Open(_copy.Path, new ChromaStoreOptions { HnswThreshold = 100 });
        var copy = reopened.GetClient(_fx.AdminKey).GetCollection("unstalled");
        copy.Count().Should().Be(vectors.Length + 3);
        copy.Indexer!.LoadedFromFile.Should().BeTrue("the checkpointed graph is loaded, not rebuilt");
        copy.WaitForIndex();
        copy.GetIndexingStatus().UnindexedRecords.Should().Be(0);
        copy.Query([Vectors(3, seed: 9)[2]], 1).Ids[0].Should().Equal("late2");
        copy.Query([vectors[4_321]], 1).Ids[0].Should().Equal("v3321");
    }

    [Fact]
    public void Close_is_not_held_up_by_a_background_checkpoint_and_saves_the_graph_itself_when_it_is_stopped()
    {
        var collection = _fx.CreateCollection("closing");
        var vectors = Vectors(VectorIndexerCheckpoint + 1_000, seed: 10);
        AddAll(collection, "a", vectors[..1_000]);
        using var writing = new ManualResetEventSlim();
        var indexer = collection.Indexer!;
        indexer.CheckpointWriting = stop =>
        {
            writing.Set();
            stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(60)); // a long save, still under way when the store closes
        };
        AddAll(collection, "v", vectors[1_000..]);
        writing.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue();
        _fx.Store.Dispose();

        indexer.Checkpoints.Should().Be(0, "the stop request cuts the background save short");
        Directory.GetFiles(_fx.VectorsFolder, "*.tmp").Should().BeEmpty("a cancelled save leaves no temporary file");
        using var reopened = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { HnswThreshold = 100 });
        var again = reopened.GetClient(_fx.AdminKey).GetCollection("closing");
        again.Count().Should().Be(vectors.Length);
        again.Indexer!.LoadedFromFile.Should().BeTrue("the close saved the graph");
        again.GetIndexingStatus().UnindexedRecords.Should().Be(0, "the saved graph covers every write");
        again.Query([vectors[77]], 1).Ids[0].Should().Equal("a77");
    }

    [Fact]
    public void Close_rewrites_a_graph_file_of_the_previous_format_version_in_the_current_one_even_when_nothing_changed()
    {
        var collection = _fx.CreateCollection("upgraded");
        var vectors = Vectors(2_000, seed: 14);
        AddAll(collection, "v", vectors);
        collection.WaitForIndex();
        _fx.Reopen(); // the close saves the whole graph
        var graphFile = Directory.GetFiles(_fx.VectorsFolder, "*.hnsw").Should().ContainSingle().Subject;
        EmbeddedChroma.Tests.Index.Hnsw.HnswTestHelpers.RewriteAsVersion(graphFile, version: 3, xxHash3Base: true);

        var reopened = _fx.Client.GetCollection("upgraded");
        reopened.Query([vectors[42]], 1).Ids[0].Should().Equal("v42");
        reopened.Indexer!.LoadedFromFile.Should().BeTrue("a version-3 file still loads");
        reopened.WaitForIndex();
        _fx.Reopen(); // read only: nothing was written

        File.ReadAllBytes(graphFile)[8].Should().Be((byte)4, "the close rewrote the version-3 file as version 4");
        var again = _fx.Client.GetCollection("upgraded");
        again.Query([vectors[43]], 1).Ids[0].Should().Equal("v43");
        again.Indexer!.LoadedFromFile.Should().BeTrue();
        again.Indexer.Graph!.LoadedFromOlderFormat.Should().BeFalse();
    }

    [Fact]
    public void Close_after_a_small_change_appends_the_changed_nodes_to_the_graph_file_and_the_next_open_loads_them()
    {
        var collection = _fx.CreateCollection("appended");
        var vectors = Vectors(3_000, seed: 12);
        AddAll(collection, "v", vectors);
        collection.WaitForIndex();
        _fx.Reopen(); // the close saves the whole graph
        var graphFile = Directory.GetFiles(_fx.VectorsFolder, "*.hnsw").Should().ContainSingle().Subject;
        var wholeLength = new FileInfo(graphFile).Length;
        HnswIndex.VerifyFile(graphFile).Segments.Should().Be(0);

        var reopened = _fx.Client.GetCollection("appended");
        reopened.Count().Should().Be(3_000);
        reopened.Indexer!.LoadedFromFile.Should().BeTrue();
        var added = Vectors(20, seed: 13);
        reopened.Add(Enumerable.Range(0, 20).Select(i => "n" + i).ToArray(), added);
        reopened.Delete(["v5"]);
        reopened.WaitForIndex();
        _fx.Reopen(); // the close appends what changed

        var check = HnswIndex.VerifyFile(graphFile);
        check.Intact.Should().BeTrue(check.Problem);
        check.Segments.Should().Be(1);
        (new FileInfo(graphFile).Length - wholeLength).Should().BeLessThan(wholeLength / 5, "21 changes touch a few hundred of 3,020 nodes");
        var again = _fx.Client.GetCollection("appended");
        again.Count().Should().Be(3_019);
        again.Indexer!.LoadedFromFile.Should().BeTrue("the appended segment is loaded, not rebuilt");
        again.GetIndexingStatus().UnindexedRecords.Should().Be(0, "the file covers every write");
        again.Query([added[7]], 1).Ids[0].Should().Equal("n7");
        again.Query([vectors[5]], 1).Ids[0].Should().NotContain("v5");
        again.Query([vectors[100]], 1).Ids[0].Should().Equal("v100");
    }

    private void CopyAsKilled()
    {
        foreach (var file in Directory.GetFiles(_fx.Folder, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("chroma.lock", StringComparison.Ordinal) && !f.EndsWith(".vec", StringComparison.Ordinal)))
        {
            var target = Path.Combine(_copy.Path, Path.GetRelativePath(_fx.Folder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public void Small_changes_do_not_trigger_a_save()
    {
        var collection = _fx.CreateCollection("small");
        AddAll(collection, "v", Vectors(500, seed: 7));
        collection.WaitForIndex();
        Thread.Sleep(200);
        collection.Indexer!.Checkpoints.Should().Be(0);
        Directory.GetFiles(_fx.VectorsFolder, "*.hnsw").Should().BeEmpty();
    }

    private const int VectorIndexerCheckpoint = EmbeddedChroma.Storage.VectorIndexer.CheckpointMinimum;
}
