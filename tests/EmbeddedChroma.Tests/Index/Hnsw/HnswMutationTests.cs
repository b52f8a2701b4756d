using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public class HnswMutationTests
{
    private const int Rows = 2000;

    [Fact]
    public void Search_never_returns_deleted_slots_and_keeps_recall_over_the_rest()
    {
        var rows = ClusteredRows.Create(seed: 31, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 16);
        var deleted = Enumerable.Range(0, Rows).Where(s => s % 4 == 1).ToHashSet();
        foreach (int slot in deleted)
        {
            index.MarkDeleted(slot).Should().BeTrue();
        }

        // The filter still admits every slot: the graph's own deleted bits must keep them out.
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] queries = rows.Queries(32, 50, DistanceSpace.L2);
        foreach (float[] query in queries)
        {
            HnswTestHelpers.Approximate(index, query, 10, 64, all).Should().OnlyContain(n => !deleted.Contains(n.Slot));
        }

        ulong[] live = HnswTestHelpers.Bitmap(Rows, Enumerable.Range(0, Rows).Where(s => !deleted.Contains(s)));
        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, 64, live).Should().BeGreaterThanOrEqualTo(0.95);
        index.DeletedCount.Should().Be(deleted.Count);
        index.Count.Should().Be(Rows);
    }

    [Fact]
    public void CollectVanished_adds_exactly_the_present_undeleted_nodes_missing_from_the_live_set()
    {
        var rows = ClusteredRows.Create(seed: 35, 16, 300, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8, count: 200); // slots 200..299 absent
        foreach (int slot in Enumerable.Range(0, 200).Where(s => s % 7 == 0))
        {
            index.MarkDeleted(slot);
        }

        // Live: every third slot of all 300, and none past 250 (a bitmap shorter than the graph's slots).
        ulong[] live = HnswTestHelpers.Bitmap(250, Enumerable.Range(0, 250).Where(s => s % 3 == 0));
        var expected = Enumerable.Range(0, 300).Where(s => index.Contains(s) && !index.IsDeleted(s) && s % 3 != 0).ToHashSet();
        expected.Should().NotBeEmpty();
        var found = new HashSet<int> { -1 };

        index.CollectVanished(live, 300, found);
        found.Remove(-1).Should().BeTrue("what the set held stays");
        found.Should().BeEquivalentTo(expected);

        var firstHundred = new HashSet<int>();
        index.CollectVanished(live, 100, firstHundred);
        firstHundred.Should().BeEquivalentTo(expected.Where(s => s < 100));
    }

    [Fact]
    public void MarkDeleted_returns_false_when_slot_is_absent_or_already_deleted()
    {
        var rows = ClusteredRows.Create(seed: 33, 16, 100, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8, count: 50);

        index.MarkDeleted(60).Should().BeFalse();
        index.MarkDeleted(5000).Should().BeFalse();
        index.MarkDeleted(7).Should().BeTrue();
        index.MarkDeleted(7).Should().BeFalse();
        index.IsDeleted(7).Should().BeTrue();
        index.DeletedCount.Should().Be(1);
    }

    [Fact]
    public void Insert_reuses_a_deleted_slot_for_a_new_vector()
    {
        var rows = ClusteredRows.Create(seed: 34, 32, Rows, DistanceSpace.Cosine);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.Cosine, m: 16);
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] targets = rows.Queries(35, 300, DistanceSpace.Cosine, sigma: 0.05);

        // Delete 40 slots, then reuse each for a vector placed next to some query target.
        for (int i = 0; i < targets.Length; i++)
        {
            int slot = (i * 5) + 2;
            index.MarkDeleted(slot).Should().BeTrue();
            HnswTestHelpers.Approximate(index, targets[i], 10, 64, all).Should().NotContain(n => n.Slot == slot);
            rows.SetRow(slot, targets[i]);
            index.Insert(slot);
            index.IsDeleted(slot).Should().BeFalse();
        }

        for (int i = 0; i < targets.Length; i++)
        {
            HnswTestHelpers.Approximate(index, targets[i], 1, 64, all)[0].Slot.Should().Be((i * 5) + 2);
        }

        index.DeletedCount.Should().Be(0);
        index.Count.Should().Be(Rows);
        HnswTestHelpers.Recall(index, rows, DistanceSpace.Cosine, rows.Queries(36, 50, DistanceSpace.Cosine), 10, 64, all)
            .Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Update_relinks_a_moved_vector_so_it_is_found_at_its_new_place()
    {
        var rows = ClusteredRows.Create(seed: 37, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 16);
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] targets = rows.Queries(38, 300, DistanceSpace.L2, sigma: 0.05);

        for (int i = 0; i < targets.Length; i++)
        {
            rows.SetRow((i * 6) + 3, targets[i]);
            index.Update((i * 6) + 3);
        }

        for (int i = 0; i < targets.Length; i++)
        {
            HnswTestHelpers.Approximate(index, targets[i], 1, 64, all)[0].Should().Be(new Neighbor((i * 6) + 3, 0f));
        }

        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, rows.Queries(39, 50, DistanceSpace.L2), 10, 64, all)
            .Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Update_of_every_node_including_the_entry_point_keeps_recall()
    {
        var rows = ClusteredRows.Create(seed: 45, 16, 800, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        var fresh = ClusteredRows.Create(seed: 46, 16, 800, DistanceSpace.L2);

        // Move every vector (the entry point among them) to a new, unrelated place.
        for (int slot = 0; slot < 800; slot++)
        {
            rows.SetRow(slot, fresh.GetRow(slot));
            index.Update(slot);
        }

        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, rows.Queries(47, 50, DistanceSpace.L2), 10, 64, HnswTestHelpers.AllSlots(800))
            .Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Insert_throws_when_slot_is_already_live()
    {
        var rows = ClusteredRows.Create(seed: 40, 16, 10, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);

        Action act = () => index.Insert(3);

        act.Should().Throw<InvalidOperationException>().WithMessage("Slot 3 is already in the graph*");
    }

    [Fact]
    public void Update_throws_when_slot_is_not_in_the_graph()
    {
        var rows = ClusteredRows.Create(seed: 41, 16, 10, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8, count: 5);

        Action act = () => index.Update(7);

        act.Should().Throw<InvalidOperationException>().WithMessage("Slot 7 is not in the graph*");
    }

    [Fact]
    public void Insert_throws_when_slot_is_outside_the_rows()
    {
        var rows = ClusteredRows.Create(seed: 42, 16, 10, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8, count: 0);

        ((Action)(() => index.Insert(10))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("slot");
        ((Action)(() => index.Insert(-1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("slot");
    }

    [Fact]
    public void Insert_grows_past_the_initial_capacity()
    {
        var rows = ClusteredRows.Create(seed: 43, 16, 700, DistanceSpace.L2);
        using HnswIndex index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 8, EfConstruction: 64, InitialCapacity: 1));
        for (int slot = 699; slot >= 0; slot--)
        {
            index.Insert(slot);
        }

        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, rows.Queries(44, 30, DistanceSpace.L2), 10, 64, HnswTestHelpers.AllSlots(700))
            .Should().BeGreaterThanOrEqualTo(0.95);
    }
}
