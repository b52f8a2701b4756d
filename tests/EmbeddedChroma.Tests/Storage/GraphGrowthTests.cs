using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The background indexer makes the graph's room ahead of appended rows (outside the collection lock), and only then: a
/// graph loaded at open keeps its size through writes that replace or delete records.
/// </summary>
public sealed class GraphGrowthTests
{
    private const int Dimension = 16;

    /// <summary>Rows before the reopen: past the graph's smallest capacity (1,024), so a loaded graph holds exactly them.</summary>
    private const int Loaded = 1_200;

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    [Fact]
    public void A_reopened_graph_keeps_its_size_through_updates_and_deletes_and_grows_once_records_are_appended()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var vectors = Vectors(Loaded, 1);
        var collection = fx.CreateCollection("growth");
        collection.Add(Enumerable.Range(0, Loaded).Select(i => "id" + i).ToArray(), vectors);
        collection.WaitForIndex();
        fx.Reopen();

        var reopened = fx.Client.GetCollection("growth");
        reopened.Count().Should().Be(Loaded);
        reopened.WaitForIndex();
        var graph = reopened.Indexer!.Graph!;
        graph.Capacity.Should().Be(Loaded, "a graph loaded at open holds exactly its rows");

        var replacements = Vectors(3, 2);
        reopened.Update(["id3", "id4", "id5"], embeddings: replacements);
        reopened.Delete(["id7"]);
        reopened.WaitForIndex();
        graph.Capacity.Should().Be(Loaded, "replacing and deleting records appends no row, so the graph needs no room");
        reopened.Query([replacements[1]], nResults: 1, include: Include.None).Ids[0].Should().Equal(["id4"]);

        var appended = Vectors(200, 3);
        reopened.Add(Enumerable.Range(Loaded, 200).Select(i => "id" + i).ToArray(), appended);
        reopened.WaitForIndex();
        graph.Capacity.Should().BeGreaterThanOrEqualTo(Loaded + 200 + ((Loaded + 200) / 4), "appended rows get room, and a quarter more ahead of the next ones");
        for (var i = 0; i < appended.Length; i += 37)
        {
            reopened.Query([appended[i]], nResults: 1, include: Include.None).Ids[0].Should().Equal(["id" + (Loaded + i)]);
        }
    }
}
