using EmbeddedChroma.Tests.Index.Hnsw;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Every live record is reachable in the HNSW graph once the indexer is caught up (a level-0 path from the entry point):
/// neighbour pruning used to leave a few records without a link into them (8-d uniform vectors, M = 4, efConstruction 32:
/// 1–5 in 3,000 in 12 of 16 two-thread builds), and no query found them, whatever its ef. Checked on the collection's
/// graph itself, then by querying every record's own vector (nResults 1, ef 400): a record the graph holds far from its
/// neighbours' walks may still be missed at a narrow ef, so the self-query counts misses against a bound while the
/// reachability check is exact.
/// </summary>
public sealed class ReachabilityTests : IDisposable
{
    private const int Dimension = 8;
    private const int Records = 3_000;
    /// <summary>
    /// Self-query misses allowed at ef 400 among reachable records: 0 in 11 of 16 bare two-thread builds of this size, at
    /// most 5 (one far-linked group of early nodes), all found at an ef covering the graph.
    /// </summary>
    private const int SelfQueryMissBound = 8;

    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = 100 });

    public void Dispose() => _fx.Dispose();

    private static float[] Vector(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private Collection CreateSparse() => _fx.Client.CreateCollection("sparse", new CollectionOptions
    {
        Configuration = new CollectionConfiguration { MaxNeighbors = 4, EfConstruction = 32 },
    });

    private static void AddAll(Collection collection)
    {
        for (int from = 0; from < Records; from += 500)
        {
            collection.Add(
                Enumerable.Range(from, 500).Select(i => $"id{i}").ToArray(),
                Enumerable.Range(from, 500).Select(Vector).ToArray());
        }
    }

    /// <summary>Live records (graph nodes not deleted) with no level-0 path from the entry point.</summary>
    private static List<int> Unreached(Collection collection) =>
        HnswTestHelpers.UnreachedLive(collection.Indexer!.Graph!, 2 * (Records + 300));

    /// <summary>The ids whose vector, queried with nResults 1, returns another record (or none).</summary>
    private static List<string> SelfQueryMisses(Collection collection, IReadOnlyDictionary<string, float[]> live)
    {
        var misses = new List<string>();
        foreach (var ids in live.Keys.Chunk(1_000)) // a query takes at most 1,000 embeddings
        {
            var result = collection.Query(ids.Select(id => live[id]).ToArray(), nResults: 1, include: Include.None, efSearch: 400);
            misses.AddRange(ids.Where((id, i) => result.Ids[i] is not [var found] || found != id));
        }

        return misses;
    }

    [Fact]
    public void Query_by_its_own_vector_returns_every_record_when_the_graph_is_built_with_M_4()
    {
        var collection = CreateSparse();
        AddAll(collection);

        collection.BuildIndex().UnindexedRecords.Should().Be(0);

        Unreached(collection).Should().BeEmpty();
        var live = Enumerable.Range(0, Records).ToDictionary(i => $"id{i}", Vector);
        SelfQueryMisses(collection, live).Should().HaveCountLessThanOrEqualTo(SelfQueryMissBound);
    }

    [Fact]
    public void Query_by_its_own_vector_returns_every_live_record_when_deletes_and_updates_follow_the_build()
    {
        var collection = CreateSparse();
        AddAll(collection);
        collection.BuildIndex();
        var live = Enumerable.Range(0, Records).ToDictionary(i => $"id{i}", Vector);

        var deleted = Enumerable.Range(0, Records).Where(i => i % 7 == 3).Select(i => $"id{i}").ToArray();
        collection.Delete(ids: deleted);
        foreach (string id in deleted)
        {
            live.Remove(id);
        }

        var updated = Enumerable.Range(0, Records).Where(i => i % 7 == 5).Select(i => $"id{i}").ToArray();
        var vectors = updated.Select((_, k) => Vector(1_000_000 + k)).ToArray();
        collection.Update(updated, vectors);
        for (int k = 0; k < updated.Length; k++)
        {
            live[updated[k]] = vectors[k];
        }

        var added = Enumerable.Range(Records, 300).Select(i => $"id{i}").ToArray();
        collection.Add(added, Enumerable.Range(Records, 300).Select(Vector).ToArray());
        foreach (var i in Enumerable.Range(Records, 300))
        {
            live[$"id{i}"] = Vector(i);
        }

        collection.BuildIndex().UnindexedRecords.Should().Be(0);

        Unreached(collection).Should().BeEmpty();
        SelfQueryMisses(collection, live).Should().HaveCountLessThanOrEqualTo(SelfQueryMissBound);
    }

    [Fact]
    public void Query_by_its_own_vector_returns_every_record_after_the_store_is_reopened_from_its_graph_file()
    {
        AddAll(CreateSparse());
        _fx.Client.GetCollection("sparse").BuildIndex();

        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("sparse");
        reopened.BuildIndex().UnindexedRecords.Should().Be(0);

        reopened.Indexer!.LoadedFromFile.Should().BeTrue();
        Unreached(reopened).Should().BeEmpty();
        var live = Enumerable.Range(0, Records).ToDictionary(i => $"id{i}", Vector);
        SelfQueryMisses(reopened, live).Should().HaveCountLessThanOrEqualTo(SelfQueryMissBound);
    }

    [Fact]
    public void Small_writes_to_a_caught_up_graph_wait_for_enough_links_or_a_caller_before_the_reachability_check_runs()
    {
        var collection = CreateSparse();
        AddAll(collection);
        collection.BuildIndex();
        var indexer = collection.Indexer!;
        var before = indexer.RepairsCompleted;

        // Ten small batches, each linked by the worker on its own: each catch-up would flood the whole graph again.
        for (var batch = 0; batch < 10; batch++)
        {
            var ids = Enumerable.Range(Records + (batch * 10), 10).ToArray();
            collection.Add(ids.Select(i => $"id{i}").ToArray(), ids.Select(Vector).ToArray());
            SpinWait.SpinUntil(() => collection.GetIndexingStatus().UnindexedRecords == 0, TimeSpan.FromSeconds(30)).Should().BeTrue();
        }

        indexer.RepairsCompleted.Should().Be(before, "100 links are far below the repair threshold");

        collection.BuildIndex();
        indexer.RepairsCompleted.Should().Be(before + 1, "a caller waiting for the index gets a repaired graph");
        Unreached(collection).Should().BeEmpty();
    }
}
