using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// A per-query <c>efSearch</c> (issue #4: "ef_search changeable at any time, also per query"): it widens the graph
/// search of that call only, is validated like the collection setting, and changes nothing for an exact scan.
/// </summary>
public sealed class QueryEfSearchTests : IDisposable
{
    private const int Dimension = 32;
    private const int Count = 3_000;
    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = 1_000 });

    public void Dispose() => _fx.Dispose();

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
    }

    private (Collection Collection, float[][] Vectors) Fill(int efSearch)
    {
        var collection = _fx.Client.CreateCollection("efs", new CollectionOptions { Configuration = new CollectionConfiguration { EfSearch = efSearch } });
        var vectors = Vectors(Count, 1);
        for (var start = 0; start < Count; start += 1_000)
        {
            collection.Add(Enumerable.Range(start, 1_000).Select(i => "v" + i).ToArray(), vectors.Skip(start).Take(1_000).ToArray());
        }

        collection.WaitForIndex();
        return (collection, vectors);
    }

    private static double Recall(Collection collection, float[][] vectors, float[][] queries, int? efSearch)
    {
        var total = 0.0;
        foreach (var query in queries)
        {
            var truth = vectors
                .Select((v, i) => (Id: "v" + i, Distance: v.Zip(query, (a, b) => (a - b) * (double)(a - b)).Sum()))
                .OrderBy(p => p.Distance).Take(10).Select(p => p.Id).ToHashSet();
            var ids = collection.Query([query], nResults: 10, include: Include.None, efSearch: efSearch).Ids[0];
            total += ids.Count(truth.Contains) / 10.0;
        }

        return total / queries.Length;
    }

    [Fact]
    public void A_larger_per_query_ef_search_raises_recall_for_that_call_only()
    {
        var (collection, vectors) = Fill(efSearch: 10);
        collection.Indexer!.Graph.Should().NotBeNull();
        var queries = Vectors(40, 2);

        var narrow = Recall(collection, vectors, queries, efSearch: null);
        var wide = Recall(collection, vectors, queries, efSearch: 400);

        wide.Should().BeGreaterThanOrEqualTo(0.99, "ef 400 on 3,000 points is close to exhaustive");
        narrow.Should().BeLessThan(wide, "the collection's ef_search of 10 is narrower on 32-d uniform data");
        collection.Configuration.EfSearch.Should().Be(10, "a per-query ef_search does not change the collection");
        Recall(collection, vectors, queries, efSearch: null).Should().Be(narrow);
    }

    [Fact]
    public void Per_query_ef_search_below_n_results_still_returns_n_results()
    {
        var (collection, _) = Fill(efSearch: 100);

        collection.Query(Vectors(1, 3), nResults: 50, efSearch: 1).Ids[0].Should().HaveCount(50);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(100_001)]
    public void Out_of_range_ef_search_is_refused(int efSearch)
    {
        var collection = _fx.Client.CreateCollection("efs");
        collection.Add(["a"], [new float[Dimension]]);

        var act = () => collection.Query([new float[Dimension]], efSearch: efSearch);

        act.Should().Throw<ChromaValidationException>().WithMessage("*ef_search*");
    }

    [Fact]
    public void Exact_scan_answers_the_same_whatever_the_ef_search()
    {
        var collection = _fx.Client.CreateCollection("small");
        var vectors = Vectors(200, 4);
        collection.Add(Enumerable.Range(0, 200).Select(i => "s" + i).ToArray(), vectors);
        var query = Vectors(1, 5);

        collection.Query(query, nResults: 10, efSearch: 1).Ids[0].Should().Equal(collection.Query(query, nResults: 10, efSearch: 5_000).Ids[0]);
    }
}
