using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Index;

/// <summary>
/// Inner-product collections served by the HNSW graph (links chosen in Möbius-transformed space) through the public API: recall against
/// brute force on vectors whose norms vary by 25×, inserts that raise the largest norm after the graph exists,
/// deletes and updates, a persistence round trip, Chroma's ip distances, and exact answers below the threshold.
/// </summary>
public sealed class HnswInnerProductStoreTests : IDisposable
{
    private const int Dimension = 24;
    private const int Count = 3_000;
    private static readonly ChromaStoreOptions Options = new() { HnswThreshold = 500, FilteredExactScanLimit = 16 };

    private readonly StoreFixture _fx = new(Options);

    public void Dispose() => _fx.Dispose();

    /// <summary>Clustered directions scaled to norms drawn uniformly from [<paramref name="minNorm"/>, <paramref name="maxNorm"/>].</summary>
    private static float[][] Vectors(int n, int seed, double minNorm = 0.2, double maxNorm = 5.0)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[random.Next(centres.Length)];
            var v = c.Select(x => x + (float)((random.NextDouble() - 0.5) * 0.8)).ToArray();
            var norm = Math.Sqrt(v.Sum(x => x * (double)x));
            var scale = (minNorm + (random.NextDouble() * (maxNorm - minNorm))) / norm;
            return v.Select(x => (float)(x * scale)).ToArray();
        }).ToArray();
    }

    private static double IpDistance(float[] a, float[] b)
    {
        double dot = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
        }

        return 1 - dot;
    }

    private Collection Fill(float[][] vectors, string prefix = "id", Collection? collection = null)
    {
        collection ??= _fx.Client.CreateCollection("ip-vectors", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.InnerProduct } });
        for (var start = 0; start < vectors.Length; start += 1_000)
        {
            var n = Math.Min(1_000, vectors.Length - start);
            collection.Add(Enumerable.Range(start, n).Select(i => prefix + i).ToArray(), vectors.Skip(start).Take(n).ToArray());
        }

        return collection;
    }

    private static Dictionary<string, float[]> Live(float[][] vectors, string prefix = "id") =>
        vectors.Select((v, i) => (prefix + i, v)).ToDictionary(p => p.Item1, p => p.v);

    /// <summary>Mean recall@10 against brute force over <paramref name="live"/>; also checks ids are live and distances are 1 − q·x.</summary>
    private static double Recall(Collection collection, Dictionary<string, float[]> live, float[][] queries)
    {
        var total = 0.0;
        foreach (var query in queries)
        {
            var truth = live.OrderBy(p => IpDistance(query, p.Value)).Take(10).Select(p => p.Key).ToHashSet();
            var result = collection.Query([query], nResults: 10, include: Include.Distances);
            var ids = result.Ids[0];
            var distances = result.Distances![0];
            ids.Should().OnlyContain(id => live.ContainsKey(id), "only live records may come back");
            for (var i = 0; i < ids.Count; i++)
            {
                distances[i].Should().BeApproximately((float)IpDistance(query, live[ids[i]]), 1e-3f, "the graph returns Chroma's ip distance");
            }

            distances.Should().BeInAscendingOrder();
            total += ids.Count(truth.Contains) / (double)truth.Count;
        }

        return total / queries.Length;
    }

    [Fact]
    public void Ip_collection_above_the_threshold_is_served_by_the_graph_with_recall_at_10_of_at_least_095()
    {
        var vectors = Vectors(Count, 1);
        var collection = Fill(vectors);
        collection.WaitForIndex();

        collection.Indexer!.Graph.Should().NotBeNull("ip collections get a graph above the threshold");
        collection.Indexer.Graph!.Count.Should().Be(Count);
        Recall(collection, Live(vectors), Vectors(40, 2)).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Ip_recall_holds_after_inserts_raise_the_largest_norm_once_the_graph_exists()
    {
        var small = Vectors(Count, 3, minNorm: 0.2, maxNorm: 1.0);
        var collection = Fill(small);
        collection.WaitForIndex();
        collection.Indexer!.Graph.Should().NotBeNull();

        // Norms up to 8× the largest so far (this broke the augmented-coordinate reduction, whose bound M had to grow).
        var large = Vectors(1_000, 4, minNorm: 0.5, maxNorm: 8.0);
        Fill(large, "big", collection);
        collection.WaitForIndex();

        collection.Indexer.Graph!.Count.Should().Be(Count + large.Length);
        var live = Live(small).Concat(Live(large, "big")).ToDictionary(p => p.Key, p => p.Value);
        Recall(collection, live, Vectors(40, 5)).Should().BeGreaterThanOrEqualTo(0.95);

        // The old nodes are still reachable: searched without the large vectors in the way, they are found.
        collection.Delete(ids: [.. Live(large, "big").Keys]);
        collection.WaitForIndex();
        Recall(collection, Live(small), Vectors(20, 6, 1, 1)).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Ip_graph_never_returns_deleted_records_and_follows_updates()
    {
        var vectors = Vectors(Count, 7);
        var collection = Fill(vectors);
        collection.WaitForIndex();
        var deleted = Enumerable.Range(0, Count).Where(i => i % 3 == 0).Select(i => "id" + i).ToHashSet();
        collection.Delete(ids: [.. deleted]);

        // Updates: a few vectors get a norm beyond every other (raising the bound), a few shrink.
        var random = new Random(8);
        var updated = new Dictionary<string, float[]>();
        foreach (var i in Enumerable.Range(0, Count).Where(i => i % 3 != 0).Take(60))
        {
            var factor = i % 2 == 0 ? 3f : 0.1f;
            updated["id" + i] = vectors[i].Select(x => (x * factor) + (float)((random.NextDouble() - 0.5) * 0.01)).ToArray();
        }

        collection.Update([.. updated.Keys], [.. updated.Values]);

        foreach (var phase in new[] { "pending", "linked" })
        {
            if (phase == "linked")
            {
                collection.WaitForIndex();
                collection.Indexer!.Graph.Should().NotBeNull();
            }

            var live = Live(vectors).Where(p => !deleted.Contains(p.Key)).ToDictionary(p => p.Key, p => updated.GetValueOrDefault(p.Key, p.Value));
            var queries = Vectors(30, 9).Concat(updated.Values.Take(5)).ToArray();
            Recall(collection, live, queries).Should().BeGreaterThanOrEqualTo(0.95, phase);
        }
    }

    [Fact]
    public void Ip_graph_survives_a_reopen_and_keeps_recall_for_later_inserts()
    {
        var vectors = Vectors(Count, 10);
        var collection = Fill(vectors);
        collection.WaitForIndex();
        _fx.Reopen();

        var reopened = _fx.Client.GetCollection("ip-vectors");
        reopened.Count().Should().Be(Count);   // loads the collection's state (lazily, on first use)
        reopened.Indexer!.LoadedFromFile.Should().BeTrue("the ip graph is saved and loaded like the others");
        reopened.Indexer.Graph!.Count.Should().Be(Count);
        var live = Live(vectors);
        Recall(reopened, live, Vectors(20, 11)).Should().BeGreaterThanOrEqualTo(0.95);

        // Norms are recomputed from the rows on load; larger vectors (other clusters, 2–50× the norms) added afterwards
        // are linked too. At the default ef 100 this adversarial mix gives 0.94–1.0 depending on the seeds, with or
        // without the reopen (3 seeds × 40 queries: 0.985 / 0.995 / 1.000 after a reopen, 1.000 / 1.000 / 0.990
        // without; benchmarks/HNSW.md), so it is checked at ef 200 to keep the margin from resting on one seed.
        var larger = Vectors(500, 12, minNorm: 4, maxNorm: 10);
        Fill(larger, "late", reopened);
        reopened.WaitForIndex();
        reopened.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = 200 });
        var all = live.Concat(Live(larger, "late")).ToDictionary(p => p.Key, p => p.Value);
        Recall(reopened, all, Vectors(20, 13)).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Ip_collection_below_the_threshold_answers_exactly_without_a_graph()
    {
        var vectors = Vectors(200, 14);
        var collection = Fill(vectors);
        collection.WaitForIndex();

        collection.Indexer!.Graph.Should().BeNull("200 records are below the threshold of 500");
        var live = Live(vectors);
        foreach (var query in Vectors(10, 15))
        {
            var expected = live.OrderBy(p => IpDistance(query, p.Value)).Take(10).Select(p => p.Key).ToList();
            collection.Query([query], nResults: 10, include: Include.None).Ids[0].Should().Equal(expected);
        }
    }
}
