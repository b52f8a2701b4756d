using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public class HnswFilterTests
{
    private const int Rows = 3000;

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.10)]
    [InlineData(0.50)]
    public void Search_returns_only_admitted_slots_with_high_recall_when_filtered(double selectivity)
    {
        var rows = ClusteredRows.Create(seed: 21, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 16);
        var random = new Random(22);
        var allowed = Enumerable.Range(0, Rows).Where(_ => random.NextDouble() < selectivity).ToHashSet();
        ulong[] bitmap = HnswTestHelpers.Bitmap(Rows, allowed);
        float[][] queries = rows.Queries(23, 50, DistanceSpace.L2);

        foreach (float[] query in queries)
        {
            HnswTestHelpers.Approximate(index, query, 10, 64, bitmap).Should().OnlyContain(n => allowed.Contains(n.Slot));
        }

        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, 64, bitmap).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Search_with_slot_list_matches_search_with_equal_bitmap()
    {
        var rows = ClusteredRows.Create(seed: 24, 16, 1000, DistanceSpace.Cosine);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.Cosine, m: 8);
        int[] slots = Enumerable.Range(0, 1000).Where(s => s % 7 == 3).ToArray();
        float[] query = rows.Queries(25, 1, DistanceSpace.Cosine)[0];
        var fromList = new Neighbor[10];
        var fromBitmap = new Neighbor[10];

        int listed = index.Search(query, 10, 64, SlotFilter.FromSlots(slots), fromList);
        int mapped = index.Search(query, 10, 64, SlotFilter.FromBitmap(HnswTestHelpers.Bitmap(1000, slots)), fromBitmap);

        listed.Should().Be(10);
        fromList[..listed].Should().Equal(fromBitmap[..mapped]);
    }

    [Fact]
    public void Search_returns_nothing_when_filter_matches_nothing()
    {
        var rows = ClusteredRows.Create(seed: 26, 16, 500, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[] query = rows.Queries(27, 1, DistanceSpace.L2)[0];
        var destination = new Neighbor[10];

        index.Search(query, 10, 64, SlotFilter.FromBitmap(new ulong[8]), destination).Should().Be(0);
        index.Search(query, 10, 64, SlotFilter.FromSlots([]), destination).Should().Be(0);
        index.Search(query, 10, 64, default, destination).Should().Be(0, "default(SlotFilter) admits nothing");
    }

    [Fact]
    public void Search_throws_when_a_listed_slot_is_out_of_range()
    {
        var rows = ClusteredRows.Create(seed: 28, 16, 100, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[] query = rows.Queries(29, 1, DistanceSpace.L2)[0];

        Action act = () => index.Search(query, 5, 10, SlotFilter.FromSlots([1, 100]), new Neighbor[5]);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("filter");
    }
}
