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
