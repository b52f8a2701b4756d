using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

/// <summary>
/// The two-hop filtered walk (<see cref="HnswIndex.SearchFiltered"/>): against brute force over the admitted slots, on
/// seeded data, at several selectivities, with random filters and with filters whose rows cluster away from the queries.
/// </summary>
public class HnswFilteredWalkTests
{
    [Theory]
    [InlineData(0.02)]
    [InlineData(0.05)]
    [InlineData(0.10)]
    [InlineData(0.25)]
    [InlineData(0.50)]
    public void SearchFiltered_equals_brute_force_when_ef_covers_the_collection(double selectivity)
    {
        const int Rows = 800;
        var rows = ClusteredRows.Create(seed: 41, 16, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        var random = new Random(42);
        var allowed = Enumerable.Range(0, Rows).Where(_ => random.NextDouble() < selectivity).ToArray();
        ulong[] bitmap = HnswTestHelpers.Bitmap(Rows, allowed);

        foreach (float[] query in rows.Queries(43, 20, DistanceSpace.L2))
        {
            Filtered(index, query, 10, Rows, bitmap).Should().Equal(HnswTestHelpers.Exact(rows, DistanceSpace.L2, query, 10, bitmap));
        }
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.05)]
    [InlineData(0.10)]
    [InlineData(0.20)]
    [InlineData(0.50)]
    public void SearchFiltered_has_recall_at_10_of_at_least_095_when_the_allowed_rows_cluster_away_from_the_queries(double selectivity)
    {
        const int Rows = 4000;
        var rows = ClusteredRows.Create(seed: 44, 32, Rows, DistanceSpace.Cosine);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.Cosine, m: 16);

        // As a metadata value that follows the text: the allowed rows are the share nearest one anchor row.
        float[] anchor = rows.GetRow(7).ToArray();
        var allowed = HnswTestHelpers.Exact(rows, DistanceSpace.Cosine, anchor, (int)(selectivity * Rows), HnswTestHelpers.AllSlots(Rows)).Select(n => n.Slot).ToHashSet();
        ulong[] bitmap = HnswTestHelpers.Bitmap(Rows, allowed);
        float[][] queries = rows.Queries(45, 50, DistanceSpace.Cosine);

        double recall = 0;
        foreach (float[] query in queries)
        {
            Neighbor[] found = Filtered(index, query, 10, 64, bitmap);
            found.Should().OnlyContain(n => allowed.Contains(n.Slot));
            var truth = HnswTestHelpers.Exact(rows, DistanceSpace.Cosine, query, 10, bitmap).Select(n => n.Slot).ToHashSet();
            recall += found.Count(n => truth.Contains(n.Slot)) / 10.0;
        }

        (recall / queries.Length).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.10)]
    [InlineData(0.50)]
    public void SearchFiltered_has_recall_at_10_of_at_least_095_when_the_filter_is_random(double selectivity)
    {
        const int Rows = 3000;
        var rows = ClusteredRows.Create(seed: 21, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 16);
        var random = new Random(22);
        var allowed = Enumerable.Range(0, Rows).Where(_ => random.NextDouble() < selectivity).ToHashSet();
        ulong[] bitmap = HnswTestHelpers.Bitmap(Rows, allowed);
        float[][] queries = rows.Queries(23, 50, DistanceSpace.L2);

        double recall = 0;
        foreach (float[] query in queries)
        {
            Neighbor[] found = Filtered(index, query, 10, 64, bitmap);
            found.Should().OnlyContain(n => allowed.Contains(n.Slot));
            var truth = HnswTestHelpers.Exact(rows, DistanceSpace.L2, query, 10, bitmap).Select(n => n.Slot).ToHashSet();
            recall += found.Count(n => truth.Contains(n.Slot)) / 10.0;
        }

        (recall / queries.Length).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void SearchFiltered_never_returns_a_deleted_slot_when_admitted_slots_are_deleted()
    {
        const int Rows = 1000;
        var rows = ClusteredRows.Create(seed: 46, 16, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        var allowed = Enumerable.Range(0, Rows).Where(s => s % 5 == 0).ToArray();
        var deleted = allowed.Where(s => s % 3 == 0).ToHashSet();
        foreach (int slot in deleted)
        {
            index.MarkDeleted(slot).Should().BeTrue();
        }

        ulong[] bitmap = HnswTestHelpers.Bitmap(Rows, allowed);
        ulong[] survivors = HnswTestHelpers.Bitmap(Rows, allowed.Where(s => !deleted.Contains(s)));
        foreach (float[] query in rows.Queries(47, 20, DistanceSpace.L2))
        {
            Filtered(index, query, 10, Rows, bitmap).Should().Equal(HnswTestHelpers.Exact(rows, DistanceSpace.L2, query, 10, survivors));
        }
    }

    [Fact]
    public void SearchFiltered_returns_nothing_when_the_filter_admits_nothing_or_k_is_zero()
    {
        var rows = ClusteredRows.Create(seed: 48, 16, 500, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[] query = rows.Queries(49, 1, DistanceSpace.L2)[0];
        var destination = new Neighbor[10];

        index.SearchFiltered(query, 10, 64, new ulong[8], destination).Should().Be(0);
        index.SearchFiltered(query, 10, 64, [], destination).Should().Be(0);
        index.SearchFiltered(query, 0, 64, HnswTestHelpers.AllSlots(500), destination).Should().Be(0);
    }

    [Fact]
    public void SearchFiltered_throws_when_the_query_dimension_or_the_destination_is_wrong()
    {
        var rows = ClusteredRows.Create(seed: 50, 16, 200, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        ulong[] all = HnswTestHelpers.AllSlots(200);

        Action wrongDimension = () => index.SearchFiltered(new float[15], 5, 10, all, new Neighbor[5]);
        Action shortDestination = () => index.SearchFiltered(new float[16], 5, 10, all, new Neighbor[4]);

        wrongDimension.Should().Throw<ArgumentException>().WithParameterName("query");
        shortDestination.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    private static Neighbor[] Filtered(HnswIndex index, float[] query, int k, int ef, ulong[] admitted)
    {
        var destination = new Neighbor[k];
        int n = index.SearchFiltered(query, k, ef, admitted, destination);
        return destination[..n];
    }
}
