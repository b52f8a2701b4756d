using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

public class ExactScanTests
{
    private const int Dimension = 37; // not a multiple of any vector width: exercises kernel tails and padding
    private const int SlotCount = 300;

    public static TheoryData<DistanceSpace, int> SpacesAndK()
    {
        var data = new TheoryData<DistanceSpace, int>();
        foreach (DistanceSpace space in Enum.GetValues<DistanceSpace>())
        {
            foreach (int k in new[] { 1, 10, 299, 300 })
            {
                data.Add(space, k);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SpacesAndK))]
    public void Search_matches_brute_force_when_filtered_by_bitmap(DistanceSpace space, int k)
    {
        var rows = PaddedVectorRows.Random(seed: 1, Dimension, SlotCount, space);
        var random = new Random(2);
        var live = Enumerable.Range(0, SlotCount).Where(_ => random.NextDouble() < 0.7).ToArray();
        var query = BruteForce.Query(3, Dimension, space);
        var destination = new Neighbor[k];

        int count = ExactScan.Search(rows, space, query, k, BruteForce.Bitmap(SlotCount, live), destination);

        var expected = BruteForce.Search(rows, space, query, k, live);
        count.Should().Be(Math.Min(k, live.Length));
        destination[..count].Should().Equal(expected);
        rows.ReadSlots.Should().BeSubsetOf(live, "dead slots must not be read");
    }

    [Theory]
    [MemberData(nameof(SpacesAndK))]
    public void Search_matches_brute_force_when_filtered_by_unsorted_slot_list(DistanceSpace space, int k)
    {
        var rows = PaddedVectorRows.Random(seed: 4, Dimension, SlotCount, space);
        var random = new Random(5);
        var candidates = Enumerable.Range(0, SlotCount).Where(_ => random.NextDouble() < 0.2).OrderBy(_ => random.Next()).ToArray();
        var query = BruteForce.Query(6, Dimension, space);
        var destination = new Neighbor[Math.Min(k, candidates.Length)];

        int count = ExactScan.Search(rows, space, query, k, candidates, destination);

        count.Should().Be(Math.Min(k, candidates.Length));
        destination[..count].Should().Equal(BruteForce.Search(rows, space, query, k, candidates));
        rows.ReadSlots.Should().BeEquivalentTo(candidates);
    }

    [Theory]
    [InlineData(DistanceSpace.L2)]
    [InlineData(DistanceSpace.Cosine)]
    [InlineData(DistanceSpace.InnerProduct)]
    public void Search_returns_Chroma_distances(DistanceSpace space)
    {
        var rows = PaddedVectorRows.Random(seed: 7, Dimension, 50, space);
        var query = BruteForce.Query(8, Dimension, space);
        var destination = new Neighbor[50];

        int count = ExactScan.Search(rows, space, query, 50, BruteForce.Bitmap(50, Enumerable.Range(0, 50)), destination);

        count.Should().Be(50);
        foreach (Neighbor n in destination)
        {
            n.Distance.Should().BeApproximately((float)BruteForce.ReferenceDistance(space, query, rows.RowArray(n.Slot)), 1e-5f);
        }
    }

    [Fact]
    public void Search_returns_all_admitted_when_k_exceeds_count_and_destination_is_sized_to_count()
    {
        var rows = PaddedVectorRows.Random(seed: 9, Dimension, 5, DistanceSpace.L2);
        var query = BruteForce.Query(10, Dimension, DistanceSpace.L2);
        var destination = new Neighbor[3];

        int count = ExactScan.Search(rows, DistanceSpace.L2, query, 1000, BruteForce.Bitmap(5, [0, 2, 4]), destination);

        count.Should().Be(3);
        destination.Should().Equal(BruteForce.Search(rows, DistanceSpace.L2, query, 1000, [0, 2, 4]));
    }

    [Fact]
    public void Search_orders_ties_by_slot()
    {
        var rows = new PaddedVectorRows(4, 8);
        for (int slot = 0; slot < 8; slot++)
        {
            // Slots 1, 3, 5, 7 are one vector; 0, 2, 4, 6 another, farther from the query.
            float[] value = slot % 2 == 1 ? [1, 0, 0, 0] : [0, 1, 0, 0];
            value.CopyTo(rows.Row(slot));
        }

        float[] query = [1, 0, 0, 0];
        var destination = new Neighbor[5];
        int[] reversed = [7, 6, 5, 4, 3, 2, 1, 0];

        int fromBitmap = ExactScan.Search(rows, DistanceSpace.L2, query, 5, BruteForce.Bitmap(8, reversed), destination);
        destination[..fromBitmap].Select(n => n.Slot).Should().Equal(1, 3, 5, 7, 0);

        int fromList = ExactScan.Search(rows, DistanceSpace.L2, query, 5, reversed, destination);
        destination[..fromList].Select(n => n.Slot).Should().Equal(1, 3, 5, 7, 0);
    }

    [Fact]
    public void Search_returns_nothing_when_bitmap_has_no_live_slots()
    {
        var rows = PaddedVectorRows.Random(seed: 11, Dimension, 130, DistanceSpace.L2);
        var query = BruteForce.Query(12, Dimension, DistanceSpace.L2);

        ExactScan.Search(rows, DistanceSpace.L2, query, 10, new ulong[3], Span<Neighbor>.Empty).Should().Be(0);
        ExactScan.Search(rows, DistanceSpace.L2, query, 10, ReadOnlySpan<ulong>.Empty, Span<Neighbor>.Empty).Should().Be(0);
        ExactScan.Search(rows, DistanceSpace.L2, query, 10, default(SlotFilter), Span<Neighbor>.Empty).Should().Be(0);
        rows.ReadSlots.Should().BeEmpty();
    }

    [Fact]
    public void Search_returns_nothing_when_slot_list_is_empty()
    {
        var rows = PaddedVectorRows.Random(seed: 13, Dimension, 10, DistanceSpace.Cosine);
        var query = BruteForce.Query(14, Dimension, DistanceSpace.Cosine);

        ExactScan.Search(rows, DistanceSpace.Cosine, query, 3, ReadOnlySpan<int>.Empty, Span<Neighbor>.Empty).Should().Be(0);
    }

    [Fact]
    public void Search_returns_nothing_when_k_is_zero()
    {
        var rows = PaddedVectorRows.Random(seed: 15, Dimension, 10, DistanceSpace.L2);
        var query = BruteForce.Query(16, Dimension, DistanceSpace.L2);

        ExactScan.Search(rows, DistanceSpace.L2, query, 0, BruteForce.Bitmap(10, Enumerable.Range(0, 10)), Span<Neighbor>.Empty).Should().Be(0);
        rows.ReadSlots.Should().BeEmpty();
    }

    [Fact]
    public void Search_ignores_bitmap_bits_at_or_past_slot_count()
    {
        var rows = PaddedVectorRows.Random(seed: 17, Dimension, 70, DistanceSpace.L2);
        var query = BruteForce.Query(18, Dimension, DistanceSpace.L2);
        ulong[] allOnes = [ulong.MaxValue, ulong.MaxValue, ulong.MaxValue];
        var destination = new Neighbor[100];

        int count = ExactScan.Search(rows, DistanceSpace.L2, query, 100, allOnes, destination);

        count.Should().Be(70);
        destination[..count].Should().Equal(BruteForce.Search(rows, DistanceSpace.L2, query, 100, Enumerable.Range(0, 70)));
    }

    [Fact]
    public void Search_treats_slots_past_end_of_short_bitmap_as_dead()
    {
        var rows = PaddedVectorRows.Random(seed: 19, Dimension, 200, DistanceSpace.L2);
        var query = BruteForce.Query(20, Dimension, DistanceSpace.L2);
        var destination = new Neighbor[200];

        int count = ExactScan.Search(rows, DistanceSpace.L2, query, 200, [ulong.MaxValue], destination);

        count.Should().Be(64);
        destination[..count].Select(n => n.Slot).Should().OnlyContain(slot => slot < 64);
    }

    [Fact]
    public void Search_ranks_NaN_row_last()
    {
        var rows = PaddedVectorRows.Random(seed: 21, Dimension, 6, DistanceSpace.L2);
        rows.Row(2)[5] = float.NaN;
        var query = BruteForce.Query(22, Dimension, DistanceSpace.L2);
        var destination = new Neighbor[6];

        int count = ExactScan.Search(rows, DistanceSpace.L2, query, 6, BruteForce.Bitmap(6, Enumerable.Range(0, 6)), destination);

        count.Should().Be(6);
        destination[5].Slot.Should().Be(2);
        float.IsNaN(destination[5].Distance).Should().BeTrue();
        destination[..5].Select(n => n.Distance).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Search_reports_duplicate_listed_slot_once_per_occurrence()
    {
        // Documented precondition (slots distinct); pinned so a change in behaviour is deliberate.
        var rows = PaddedVectorRows.Random(seed: 23, Dimension, 4, DistanceSpace.L2);
        var query = rows.RowArray(1);
        var destination = new Neighbor[3];

        int count = ExactScan.Search(rows, DistanceSpace.L2, query, 3, [1, 3, 1], destination);

        count.Should().Be(3);
        destination.Select(n => n.Slot).Should().Equal(1, 1, 3);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void Search_throws_when_listed_slot_is_out_of_range(int slot)
    {
        var rows = PaddedVectorRows.Random(seed: 25, Dimension, 4, DistanceSpace.L2);
        var query = BruteForce.Query(26, Dimension, DistanceSpace.L2);

        Action act = () => ExactScan.Search(rows, DistanceSpace.L2, query, 2, [0, slot], new Neighbor[2]);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("filter")
            .Which.ActualValue.Should().Be(slot);
    }

    [Fact]
    public void Search_throws_when_query_dimension_differs()
    {
        var rows = PaddedVectorRows.Random(seed: 27, Dimension, 4, DistanceSpace.L2);

        Action act = () => ExactScan.Search(rows, DistanceSpace.L2, new float[Dimension + 1], 2, [0, 1], new Neighbor[2]);

        act.Should().Throw<ArgumentException>().WithParameterName("query").WithMessage("Query has 38 dimensions; the index has 37.*");
    }

    [Fact]
    public void Search_throws_when_destination_is_too_small()
    {
        var rows = PaddedVectorRows.Random(seed: 29, Dimension, 4, DistanceSpace.L2);
        var query = BruteForce.Query(30, Dimension, DistanceSpace.L2);

        Action act = () => ExactScan.Search(rows, DistanceSpace.L2, query, 3, [0, 1, 2, 3], new Neighbor[2]);

        act.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    [Fact]
    public void Search_throws_when_k_is_negative()
    {
        var rows = PaddedVectorRows.Random(seed: 31, Dimension, 4, DistanceSpace.L2);

        Action act = () => ExactScan.Search(rows, DistanceSpace.L2, new float[Dimension], -1, [0], new Neighbor[1]);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("k");
    }

    [Fact]
    public void Search_throws_when_space_is_unknown()
    {
        var rows = PaddedVectorRows.Random(seed: 33, Dimension, 4, DistanceSpace.L2);

        Action act = () => ExactScan.Search(rows, (DistanceSpace)42, new float[Dimension], 1, [0], new Neighbor[1]);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("space");
    }
}
