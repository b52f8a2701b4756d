using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

public class BoundedMaxHeapTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(500)]
    public void SortAscending_keeps_k_best_when_many_offered(int capacity)
    {
        var random = new Random(capacity);
        // Few distinct distances, so ties by slot are common.
        var offered = Enumerable.Range(0, 1000).Select(slot => new Neighbor(slot, random.Next(50) / 7f)).OrderBy(_ => random.Next()).ToArray();
        var storage = new Neighbor[capacity];
        var heap = new BoundedMaxHeap(storage);

        foreach (Neighbor n in offered)
        {
            heap.TryAdd(n.Slot, n.Distance);
        }

        int count = heap.SortAscending();

        count.Should().Be(capacity);
        storage.Should().Equal(offered.OrderBy(n => n.Distance).ThenBy(n => n.Slot).Take(capacity));
    }

    [Fact]
    public void TryAdd_keeps_nothing_when_capacity_is_zero()
    {
        var heap = new BoundedMaxHeap(Span<Neighbor>.Empty);

        heap.TryAdd(0, 1f).Should().BeFalse();
        heap.SortAscending().Should().Be(0);
    }

    [Fact]
    public void Precedes_orders_NaN_after_infinity_and_ties_by_slot()
    {
        BoundedMaxHeap.Precedes(float.PositiveInfinity, 9, float.NaN, 0).Should().BeTrue();
        BoundedMaxHeap.Precedes(float.NaN, 0, float.PositiveInfinity, 9).Should().BeFalse();
        BoundedMaxHeap.Precedes(float.NaN, 1, float.NaN, 2).Should().BeTrue();
        BoundedMaxHeap.Precedes(-0f, 2, 0f, 1).Should().BeFalse();
        BoundedMaxHeap.Precedes(0f, 1, -0f, 2).Should().BeTrue();
    }
}
