using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// A query call with several embeddings answers them in parallel (<see cref="ChromaStoreOptions.MaxQueryParallelism"/>);
/// the answers must be exactly those of one call per embedding, in the caller's order, on every plan (exact scan,
/// graph, filtered, cosine normalization), and writes must never interleave with a batch.
/// </summary>
public sealed class QueryBatchTests
{
    private const int Dimension = 16;

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
    }

    private static Collection Fill(StoreFixture fx, DistanceSpace space, int n)
    {
        var collection = fx.Client.CreateCollection("batch", new CollectionOptions { Configuration = new CollectionConfiguration { Space = space } });
        var vectors = Vectors(n, 1);
        for (var start = 0; start < n; start += 500)
        {
            var count = Math.Min(500, n - start);
            collection.Add(
                Enumerable.Range(start, count).Select(i => "id" + i).ToArray(),
                vectors.Skip(start).Take(count).ToArray(),
                Enumerable.Range(start, count).Select(i => new Dictionary<string, MetadataValue?> { ["bucket"] = i % 10 }).ToArray(),
                Enumerable.Range(start, count).Select(i => "document " + i).ToArray());
        }

        collection.WaitForIndex();
        return collection;
    }

    [Theory]
    [InlineData(DistanceSpace.L2, 300, 4)]      // exact scan (below the graph threshold)
    [InlineData(DistanceSpace.Cosine, 300, 4)]  // exact scan, each query normalized in its own buffer
    [InlineData(DistanceSpace.L2, 3_000, 4)]    // graph
    [InlineData(DistanceSpace.Cosine, 3_000, 4)]
    [InlineData(DistanceSpace.InnerProduct, 3_000, 4)]
    [InlineData(DistanceSpace.L2, 3_000, 1)]    // parallelism off: the sequential path
    public void A_batch_answers_exactly_as_one_call_per_embedding_in_order(DistanceSpace space, int count, int parallelism)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 1_000, MaxQueryParallelism = parallelism });
        var collection = Fill(fx, space, count);
        var queries = Vectors(64, 2);

        foreach (var where in new Where?[] { null, Where.Eq("bucket", 3), Where.Lt("bucket", 6) })
        {
            var batch = collection.Query(queries, nResults: 7, where: where, include: Include.Distances | Include.Documents);

            batch.Ids.Should().HaveCount(queries.Length);
            for (var q = 0; q < queries.Length; q++)
            {
                var single = collection.Query([queries[q]], nResults: 7, where: where, include: Include.Distances | Include.Documents);
                batch.Ids[q].Should().Equal(single.Ids[0], $"query {q} with filter {where}");
                batch.Distances![q].Should().Equal(single.Distances![0]);
                batch.Documents![q].Should().Equal(single.Documents![0]);
            }
        }
    }

    [Fact]
    public async Task A_batch_sees_one_state_while_a_writer_runs()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100_000, MaxQueryParallelism = 4 });
        var collection = fx.Client.CreateCollection("batch");

        // Every write batch adds 10 copies of one vector; a query batch of identical embeddings must see the same
        // number of copies in every answer, whatever the writer does meanwhile.
        var target = Enumerable.Repeat(0.5f, Dimension).ToArray();
        collection.Add(["seed"], [Enumerable.Repeat(-1f, Dimension).ToArray()]);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var round = 0; !stop.IsCancellationRequested && round < 200; round++)
            {
                collection.Add(Enumerable.Range(0, 10).Select(i => $"w{round}-{i}").ToArray(), Enumerable.Repeat(target, 10).ToArray());
            }
        });

        var queries = Enumerable.Repeat(target, 32).ToArray();
        for (var i = 0; i < 30; i++)
        {
            var result = collection.Query(queries, nResults: 10_000, include: Include.Distances);
            var counts = result.Distances!.Select(d => d.Count(x => x == 0f)).Distinct().ToArray();
            counts.Should().ContainSingle("all answers of one call come from one state of the collection");
            (counts[0] % 10).Should().Be(0, "write batches are all or nothing");
        }

        await stop.CancelAsync();
        await writer;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void MaxQueryParallelism_must_be_positive(int value)
    {
        var folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.Tests", "opt-" + Guid.NewGuid().ToString("N"));
        try
        {
            var act = () => ChromaStore.Create(folder, out _, new ChromaStoreOptions { MaxQueryParallelism = value });

            act.Should().Throw<ChromaValidationException>().WithMessage("*MaxQueryParallelism*");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
