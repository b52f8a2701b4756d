using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Index;

/// <summary>
/// The HNSW graph through the public API: built in the background above the threshold, recall against exact
/// search, deletes, updates, the written-but-not-yet-linked tail, filtered plans, persistence with replay,
/// corruption, and queries during ingest.
/// </summary>
public sealed class HnswStoreTests : IDisposable
{
    private const int Dimension = 24;
    private const int Count = 3_000;
    private static readonly ChromaStoreOptions Options = new() { HnswThreshold = 500, FilteredExactScanLimit = 16 };

    private readonly StoreFixture _fx = new(Options);

    public void Dispose() => _fx.Dispose();

    private static float[][] Clustered(int n, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[random.Next(centres.Length)];
            return c.Select(x => x + (float)((random.NextDouble() - 0.5) * 0.6)).ToArray();
        }).ToArray();
    }

    private static double Distance(DistanceSpace space, float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0, l2 = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
            l2 += (a[i] - (double)b[i]) * (a[i] - (double)b[i]);
        }

        return space switch
        {
            DistanceSpace.L2 => l2,
            DistanceSpace.Cosine => 1 - (dot / Math.Sqrt(na * nb)),
            _ => 1 - dot,
        };
    }

    private Collection Fill(DistanceSpace space, float[][] vectors, Func<int, IReadOnlyDictionary<string, MetadataValue?>?>? metadata = null)
    {
        var collection = _fx.Client.CreateCollection("vectors", new CollectionOptions { Configuration = new CollectionConfiguration { Space = space } });
        for (var start = 0; start < vectors.Length; start += 1_000)
        {
            var n = Math.Min(1_000, vectors.Length - start);
            collection.Add(
                Enumerable.Range(start, n).Select(i => "id" + i).ToArray(),
                vectors.Skip(start).Take(n).ToArray(),
                metadata is null ? null : Enumerable.Range(start, n).Select(metadata).ToArray());
        }

        return collection;
    }

    /// <summary>Mean recall@10 of the collection's answers against brute force over <paramref name="live"/>.</summary>
    private static double Recall(Collection collection, DistanceSpace space, Dictionary<string, float[]> live, float[][] queries, Where? where = null, Func<string, bool>? allowed = null)
    {
        var total = 0.0;
        var counted = 0;
        foreach (var query in queries)
        {
            var truth = live.Where(p => allowed is null || allowed(p.Key)).OrderBy(p => Distance(space, query, p.Value)).Take(10).Select(p => p.Key).ToHashSet();
            if (truth.Count == 0)
            {
                continue;
            }

            var got = collection.Query([query], nResults: 10, where: where, include: Include.None).Ids[0];
            got.Should().OnlyContain(id => live.ContainsKey(id) && (allowed == null || allowed(id)), "only live, allowed records may come back");
            total += got.Count(truth.Contains) / (double)truth.Count;
            counted++;
        }

        return total / counted;
    }

    [Theory]
    [InlineData(DistanceSpace.L2)]
    [InlineData(DistanceSpace.Cosine)]
    public void Query_has_recall_at_10_of_at_least_095_when_the_collection_is_served_by_the_graph(DistanceSpace space)
    {
        var vectors = Clustered(Count, 1);
        var collection = Fill(space, vectors);
        collection.WaitForIndex();

        collection.Indexer!.Graph.Should().NotBeNull("the collection is above the threshold");
        collection.Indexer.Graph!.Count.Should().Be(Count);
        var live = vectors.Select((v, i) => ("id" + i, v)).ToDictionary(p => p.Item1, p => p.v);
        Recall(collection, space, live, Clustered(200, 2)).Should().BeGreaterThanOrEqualTo(0.95, "mean recall@10 over 200 queries (40 gave a noisy estimate: a few hard queries swung it to 0.945 under load)");
    }

    [Fact]
    public void Query_never_returns_deleted_records_and_finds_updated_vectors()
    {
        var vectors = Clustered(Count, 3);
        var collection = Fill(DistanceSpace.L2, vectors);
        collection.WaitForIndex();
        var deleted = Enumerable.Range(0, Count).Where(i => i % 3 == 0).Select(i => "id" + i).ToArray();
        collection.Delete(ids: deleted);
        var moved = Clustered(1, 99)[0].Select(x => x + 5f).ToArray();
        collection.Update(["id1"], [moved]);

        // Before and after the graph catches up.
        foreach (var phase in new[] { "pending", "linked" })
        {
            if (phase == "linked")
            {
                collection.WaitForIndex();
            }

            collection.Query([moved], nResults: 1, include: Include.None).Ids[0].Should().Equal(["id1"], phase);
            var live = vectors.Select((v, i) => ("id" + i, i == 1 ? moved : v)).Where(p => !deleted.Contains(p.Item1)).ToDictionary(p => p.Item1, p => p.Item2);
            Recall(collection, DistanceSpace.L2, live, Clustered(20, 4)).Should().BeGreaterThanOrEqualTo(0.95, phase);
        }
    }

    [Fact]
    public void Query_finds_records_written_after_the_graph_was_built_even_before_they_are_linked()
    {
        var vectors = Clustered(Count, 5);
        var collection = Fill(DistanceSpace.L2, vectors);
        collection.WaitForIndex();
        var fresh = Clustered(200, 6).Select(v => v.Select(x => x * 3).ToArray()).ToArray();

        collection.Add(Enumerable.Range(0, fresh.Length).Select(i => "new" + i).ToArray(), fresh);

        for (var i = 0; i < fresh.Length; i += 20)
        {
            collection.Query([fresh[i]], nResults: 1, include: Include.None).Ids[0].Should().Equal(["new" + i]);
        }
    }

    [Theory]
    [InlineData(0.001)]
    [InlineData(0.01)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void Query_with_a_filter_has_recall_at_10_of_at_least_095_at_every_selectivity(double selectivity)
    {
        var vectors = Clustered(Count, 7);
        var random = new Random(8);
        var tags = Enumerable.Range(0, Count).Select(_ => random.NextDouble() < selectivity ? "in" : "out").ToArray();
        var collection = Fill(DistanceSpace.L2, vectors, i => new Dictionary<string, MetadataValue?> { ["tag"] = tags[i] });
        collection.WaitForIndex();
        var live = vectors.Select((v, i) => ("id" + i, v)).ToDictionary(p => p.Item1, p => p.v);

        var recall = Recall(collection, DistanceSpace.L2, live, Clustered(30, 9), Where.Eq("tag", "in"), id => tags[int.Parse(id.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture)] == "in");

        recall.Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Reopen_loads_the_saved_graph_without_rebuilding_and_keeps_recall()
    {
        var vectors = Clustered(Count, 10);
        var collection = Fill(DistanceSpace.Cosine, vectors);
        collection.WaitForIndex();
        _fx.Reopen();

        var reopened = _fx.Client.GetCollection("vectors");
        reopened.Count().Should().Be(Count);

        reopened.Indexer!.LoadedFromFile.Should().BeTrue();
        reopened.Indexer.Graph!.Count.Should().Be(Count);
        var live = vectors.Select((v, i) => ("id" + i, v)).ToDictionary(p => p.Item1, p => p.v);
        Recall(reopened, DistanceSpace.Cosine, live, Clustered(20, 11)).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Reopen_replays_writes_newer_than_an_older_graph_file()
    {
        var vectors = Clustered(Count, 12);
        var collection = Fill(DistanceSpace.L2, vectors);
        collection.WaitForIndex();
        var id = collection.Id;
        _fx.Reopen();
        var graphFile = Path.Combine(_fx.VectorsFolder, id.ToString("N") + ".hnsw");
        var older = File.ReadAllBytes(graphFile);

        var again = _fx.Client.GetCollection("vectors");
        var deleted = Enumerable.Range(0, 500).Select(i => "id" + i).ToArray();
        again.Delete(ids: deleted);
        var fresh = Clustered(300, 13).Select(v => v.Select(x => x * 3).ToArray()).ToArray();
        again.Add(Enumerable.Range(0, fresh.Length).Select(i => "new" + i).ToArray(), fresh);
        again.WaitForIndex();
        _fx.Close();
        File.WriteAllBytes(graphFile, older);   // as if the process died before saving the newer graph
        _fx.Reopen();

        var replayed = _fx.Client.GetCollection("vectors");
        replayed.Count().Should().Be(Count - deleted.Length + fresh.Length);
        replayed.Indexer!.LoadedFromFile.Should().BeTrue();
        var live = vectors.Select((v, i) => ("id" + i, v)).Where(p => !deleted.Contains(p.Item1))
            .Concat(fresh.Select((v, i) => ("new" + i, v))).ToDictionary(p => p.Item1, p => p.Item2);
        Recall(replayed, DistanceSpace.L2, live, Clustered(20, 14).Concat(fresh.Take(5)).ToArray()).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Reopen_rebuilds_the_graph_when_its_file_is_corrupt()
    {
        var vectors = Clustered(Count, 15);
        var collection = Fill(DistanceSpace.L2, vectors);
        collection.WaitForIndex();
        var graphFile = Path.Combine(_fx.VectorsFolder, collection.Id.ToString("N") + ".hnsw");
        _fx.Close();
        var bytes = File.ReadAllBytes(graphFile);
        bytes[bytes.Length / 2] ^= 0x5A;
        File.WriteAllBytes(graphFile, bytes);
        _fx.Reopen();

        var rebuilt = _fx.Client.GetCollection("vectors");
        rebuilt.Count().Should().Be(Count);
        rebuilt.Indexer!.LoadedFromFile.Should().BeFalse();
        rebuilt.WaitForIndex();
        rebuilt.Indexer.Graph!.Count.Should().Be(Count);
        var live = vectors.Select((v, i) => ("id" + i, v)).ToDictionary(p => p.Item1, p => p.v);
        Recall(rebuilt, DistanceSpace.L2, live, Clustered(20, 16)).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public async Task Query_runs_without_errors_while_records_are_written_and_linked()
    {
        var vectors = Clustered(Count, 17);
        var collection = Fill(DistanceSpace.L2, vectors.Take(1_000).ToArray());
        var queries = Clustered(50, 18);
        using var stop = new CancellationTokenSource();
        var errors = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var i = r;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var ids = collection.Query([queries[i++ % queries.Length]], nResults: 10, include: Include.None).Ids[0];
                    ids.Should().OnlyHaveUniqueItems();
                }
                catch (Exception ex)
                {
                    errors.Add(ex);
                }
            }
        })).ToArray();

        for (var start = 1_000; start < Count; start += 250)
        {
            collection.Add(Enumerable.Range(start, 250).Select(i => "id" + i).ToArray(), vectors.Skip(start).Take(250).ToArray());
            collection.Delete(ids: ["id" + (start - 1_000)]);
        }

        stop.Cancel();
        await Task.WhenAll(readers);
        errors.Should().BeEmpty();
        collection.WaitForIndex();
        collection.Count().Should().Be(Count - 8);
    }
}
