using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// <see cref="Collection.GetIndexingStatus"/> (Chroma's <c>indexing_status</c>, issue #14): how many live records the
/// background HNSW index has not linked yet, which queries still find by an exact scan.
/// </summary>
public sealed class IndexingStatusTests : IDisposable
{
    private const int Dimension = 8;
    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = 100 });

    public void Dispose() => _fx.Dispose();

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    private static string[] Ids(int from, int n) => Enumerable.Range(from, n).Select(i => "r" + i).ToArray();

    [Fact]
    public void GetIndexingStatus_reports_everything_indexed_when_the_collection_is_empty_or_below_the_threshold()
    {
        var c = _fx.Client.CreateCollection("small");
        c.GetIndexingStatus().Should().Be(new IndexingStatus(0, 0, 0));
        c.GetIndexingStatus().Progress.Should().Be(1.0);

        c.Add(Ids(0, 50), Vectors(50, 1));

        c.GetIndexingStatus().Should().Be(new IndexingStatus(50, 0, 50), "below the threshold queries scan exactly and nothing waits for the graph");
    }

    [Fact]
    public void GetIndexingStatus_counts_records_the_graph_has_not_linked_when_the_indexer_lags()
    {
        var c = _fx.Client.CreateCollection("big");
        c.Add(Ids(0, 200), Vectors(200, 1));
        c.WaitForIndex();
        c.GetIndexingStatus().Should().Be(new IndexingStatus(200, 0, 200));

        // A stopped worker stands for one that has not caught up yet: new writes stay pending.
        c.Indexer!.StopWorker();
        c.Add(Ids(200, 30), Vectors(30, 2));
        c.Delete(Ids(0, 10));

        var status = c.GetIndexingStatus();
        status.Should().Be(new IndexingStatus(190, 30, 220));
        status.Progress.Should().BeApproximately(190.0 / 220, 1e-12);
        c.Query([Vectors(1, 2)[0]], nResults: 1, include: Include.None).Ids[0].Should().ContainSingle().Which.Should().Be("r200", "unlinked records are still found");
    }

    [Fact]
    public void GetIndexingStatus_throws_authorization_when_the_key_may_not_count_records()
    {
        var c = _fx.Client.CreateCollection("big");
        c.Add(Ids(0, 5), Vectors(5, 1));
        var writer = _fx.Store.GetKeyRing(_fx.Store.Authenticate(_fx.AdminKey)).CreateKey(new ApiKeySpec
        {
            Name = "writer", Actions = [ChromaActions.Add, ChromaActions.GetCollection], Resources = ["default_tenant/default_database/big"],
        });

        var act = () => _fx.Store.GetClient(writer.Key).GetCollection("big").GetIndexingStatus();

        act.Should().Throw<ChromaAuthorizationException>();
    }

    [Fact]
    public void GetIndexingStatus_throws_not_found_when_the_collection_was_deleted()
    {
        var c = _fx.Client.CreateCollection("gone");
        _fx.Client.DeleteCollection("gone");

        var act = () => c.GetIndexingStatus();

        act.Should().Throw<ChromaNotFoundException>();
    }
}
