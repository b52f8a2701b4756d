using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public class HnswRecallTests
{
    private const int Dimension = 32;
    private const int Rows = 3000;

    [Theory]
    [InlineData(DistanceSpace.L2, 8)]
    [InlineData(DistanceSpace.L2, 16)]
    [InlineData(DistanceSpace.Cosine, 8)]
    [InlineData(DistanceSpace.Cosine, 16)]
    [InlineData(DistanceSpace.InnerProduct, 8)]
    [InlineData(DistanceSpace.InnerProduct, 16)]
    public void Search_recall_at_10_is_at_least_95_percent_when_ef_is_64(DistanceSpace space, int m)
    {
        var rows = ClusteredRows.Create(seed: 11, Dimension, Rows, space);
        using HnswIndex index = HnswTestHelpers.Build(rows, space, m);
        float[][] queries = rows.Queries(seed: 12, count: 100, space);

        double recall = HnswTestHelpers.Recall(index, rows, space, queries, k: 10, ef: 64, HnswTestHelpers.AllSlots(Rows));

        recall.Should().BeGreaterThanOrEqualTo(0.95);
        index.Count.Should().Be(Rows);
        index.MaxLevel.Should().BeGreaterThan(0, "a few thousand nodes with M ≤ 16 reach level 1");
    }

    [Fact]
    public void Search_recall_does_not_drop_when_ef_grows()
    {
        var rows = ClusteredRows.Create(seed: 13, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8, efConstruction: 32);
        float[][] queries = rows.Queries(seed: 14, count: 100, DistanceSpace.L2);
        ulong[] all = HnswTestHelpers.AllSlots(Rows);

        double low = HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, ef: 10, all);
        double high = HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, ef: 200, all);

        high.Should().BeGreaterThanOrEqualTo(low);
        high.Should().BeGreaterThanOrEqualTo(0.98);
    }

    [Fact]
    public void Build_is_deterministic_for_a_fixed_seed()
    {
        var rows = ClusteredRows.Create(seed: 15, 16, 1500, DistanceSpace.L2);
        using HnswIndex first = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        using HnswIndex second = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        ulong[] all = HnswTestHelpers.AllSlots(rows.SlotCount);

        foreach (float[] query in rows.Queries(16, 20, DistanceSpace.L2))
        {
            HnswTestHelpers.Approximate(first, query, 10, 16, all).Should().Equal(HnswTestHelpers.Approximate(second, query, 10, 16, all));
        }

        first.MaxLevel.Should().Be(second.MaxLevel);
    }

    [Fact]
    public void Search_results_are_sorted_by_distance_then_slot()
    {
        var rows = ClusteredRows.Create(seed: 17, 16, 1000, DistanceSpace.Cosine);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.Cosine, m: 8);
        float[] query = rows.Queries(18, 1, DistanceSpace.Cosine)[0];

        var results = HnswTestHelpers.Approximate(index, query, 50, 100, HnswTestHelpers.AllSlots(rows.SlotCount));

        results.Should().HaveCount(50);
        results.Select(n => n.Distance).Should().BeInAscendingOrder();
        results.Select(n => n.Slot).Should().OnlyHaveUniqueItems();
    }
}
