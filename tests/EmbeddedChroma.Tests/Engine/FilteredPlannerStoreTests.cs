using EmbeddedChroma.Internal;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// Filtered queries through the public API on a collection with a graph, by the cost-model planner and by the two-hop
/// walk forced: only allowed records, recall@10 against brute force when the allowed rows lie away from the queries,
/// and records written but not yet linked.
/// </summary>
public sealed class FilteredPlannerStoreTests
{
    private const int Dimension = 24;
    private const int Count = 3_000;

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

    private static double L2(float[] a, float[] b) => a.Zip(b, (x, y) => (x - (double)y) * (x - (double)y)).Sum();

    private static Collection Fill(StoreFixture fx, float[][] vectors, Func<int, string> tag)
    {
        var collection = fx.Client.CreateCollection("vectors", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.L2 } });
        for (var start = 0; start < vectors.Length; start += 1_000)
        {
            var n = Math.Min(1_000, vectors.Length - start);
            collection.Add(
                Enumerable.Range(start, n).Select(i => "id" + i).ToArray(),
                vectors.Skip(start).Take(n).ToArray(),
                Enumerable.Range(start, n).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("tag", tag(i)))).ToArray());
        }

        return collection;
    }

    [Theory]
    [InlineData("auto", 0.01)]
    [InlineData("auto", 0.10)]
    [InlineData("auto", 0.30)]
    [InlineData("auto", 0.50)]
    [InlineData("auto", 0.80)]
    [InlineData("walk", 0.50)]
    [InlineData("two-hop", 0.01)]
    [InlineData("two-hop", 0.10)]
    [InlineData("two-hop", 0.30)]
    public void Query_with_a_filter_has_recall_at_10_of_at_least_095_when_the_allowed_rows_lie_away_from_the_queries(string plan, double selectivity)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500, FilteredExactScanLimit = 16, FilteredPlan = plan switch { "auto" => FilteredPlan.Auto, "walk" => FilteredPlan.Walk, _ => FilteredPlan.TwoHop } });
        var vectors = Clustered(Count, 61);

        // The allowed rows are the share nearest one anchor row, as when a metadata value follows the text.
        var allowed = Enumerable.Range(0, Count).OrderBy(i => L2(vectors[i], vectors[5])).Take((int)(selectivity * Count)).ToHashSet();
        var collection = Fill(fx, vectors, i => allowed.Contains(i) ? "in" : "out");
        collection.WaitForIndex();

        var total = 0.0;
        var queries = Clustered(60, 62);
        foreach (var query in queries)
        {
            var truth = allowed.OrderBy(i => L2(query, vectors[i])).ThenBy(i => i).Take(10).Select(i => "id" + i).ToHashSet();
            var got = collection.Query([query], nResults: 10, where: Where.Eq("tag", "in"), include: Include.None).Ids[0];
            got.Should().HaveCount(10);
            got.Select(id => int.Parse(id.AsSpan(2), System.Globalization.CultureInfo.InvariantCulture)).Should().OnlyContain(i => allowed.Contains(i));
            total += got.Count(truth.Contains) / 10.0;
        }

        (total / queries.Length).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Query_with_a_filter_finds_allowed_records_written_after_the_graph_was_built_when_the_two_hop_walk_answers()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500, FilteredExactScanLimit = 16, FilteredPlan = FilteredPlan.TwoHop });
        var vectors = Clustered(Count, 63);
        var collection = Fill(fx, vectors, i => i % 4 == 0 ? "in" : "out");
        collection.WaitForIndex();
        var fresh = Clustered(100, 64).Select(v => v.Select(x => x * 3).ToArray()).ToArray();

        collection.Add(
            Enumerable.Range(0, fresh.Length).Select(i => "new" + i).ToArray(),
            fresh,
            Enumerable.Range(0, fresh.Length).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("tag", i % 2 == 0 ? "in" : "out"))).ToArray());

        for (var i = 0; i < fresh.Length; i += 10)
        {
            var expected = i % 2 == 0 ? "new" + i : null;
            var got = collection.Query([fresh[i]], nResults: 1, where: Where.Eq("tag", "in"), include: Include.None).Ids[0];
            if (expected is not null)
            {
                got.Should().Equal([expected]);
            }
            else
            {
                got.Should().ContainSingle().Which.Should().NotBe("new" + i, "a disallowed record never comes back");
            }
        }
    }
}
