using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public class HnswEdgeCaseTests
{
    [Fact]
    public void Configuration_accepts_max_neighbors_exactly_up_to_the_largest_M_the_graph_supports()
    {
        // CollectionConfiguration states its bound as a literal; the graph's bound is HnswParameters.MaxSupportedM. They
        // must agree: a configuration the API accepts has to build a graph, and no buildable M may be refused.
        var atBound = () => new CollectionConfiguration { MaxNeighbors = HnswParameters.MaxSupportedM }.Validate();
        var pastBound = () => new CollectionConfiguration { MaxNeighbors = HnswParameters.MaxSupportedM + 1 }.Validate();

        atBound.Should().NotThrow();
        pastBound.Should().Throw<ChromaValidationException>().WithMessage("*max_neighbors*");
        new HnswParameters(M: HnswParameters.MaxSupportedM).Invoking(p => p.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Search_returns_nothing_when_index_is_empty()
    {
        var rows = ClusteredRows.Create(seed: 61, 16, 10, DistanceSpace.L2);
        using HnswIndex index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters());

        index.Search(new float[16], 5, SlotFilter.FromBitmap(HnswTestHelpers.AllSlots(10)), new Neighbor[5]).Should().Be(0);
        index.Count.Should().Be(0);
        index.MaxLevel.Should().Be(-1);
    }

    [Fact]
    public void Search_returns_the_exact_nearest_when_k_is_1()
    {
        var rows = ClusteredRows.Create(seed: 62, 16, 1000, DistanceSpace.InnerProduct);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.InnerProduct, m: 8);
        ulong[] all = HnswTestHelpers.AllSlots(1000);
        int agree = 0;
        float[][] queries = rows.Queries(63, 100, DistanceSpace.InnerProduct);

        foreach (float[] query in queries)
        {
            Neighbor[] approximate = HnswTestHelpers.Approximate(index, query, 1, 64, all);
            approximate.Should().HaveCount(1);
            agree += approximate[0] == HnswTestHelpers.Exact(rows, DistanceSpace.InnerProduct, query, 1, all)[0] ? 1 : 0;
        }

        agree.Should().BeGreaterThanOrEqualTo(97);
    }

    [Fact]
    public void Search_returns_every_node_when_k_exceeds_count()
    {
        var rows = ClusteredRows.Create(seed: 64, 16, 5, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[] query = rows.Queries(65, 1, DistanceSpace.L2)[0];
        ulong[] all = HnswTestHelpers.AllSlots(5);

        var destination = new Neighbor[100];
        int n = index.Search(query, 100, 10, SlotFilter.FromBitmap(all), destination);

        n.Should().Be(5);
        destination[..n].Should().Equal(HnswTestHelpers.Exact(rows, DistanceSpace.L2, query, 100, all));
    }

    [Fact]
    public void Search_accepts_a_destination_sized_to_the_admitted_count_when_k_exceeds_it()
    {
        var rows = ClusteredRows.Create(seed: 66, 16, 50, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[] query = rows.Queries(67, 1, DistanceSpace.L2)[0];

        var destination = new Neighbor[3];
        index.Search(query, 1000, 10, SlotFilter.FromSlots([4, 8, 15]), destination).Should().Be(3);
        destination.Select(n => n.Slot).Should().BeEquivalentTo([4, 8, 15]);

        Action tooSmall = () => index.Search(query, 1000, 10, SlotFilter.FromSlots([4, 8, 15]), new Neighbor[2]);
        tooSmall.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    [Fact]
    public void Search_returns_nothing_when_k_is_0()
    {
        var rows = ClusteredRows.Create(seed: 68, 16, 20, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);

        index.Search(rows.Queries(69, 1, DistanceSpace.L2)[0], 0, SlotFilter.FromBitmap(HnswTestHelpers.AllSlots(20)), []).Should().Be(0);
    }

    [Fact]
    public void Search_throws_when_arguments_are_invalid()
    {
        var rows = ClusteredRows.Create(seed: 70, 16, 20, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        ulong[] all = HnswTestHelpers.AllSlots(20);

        ((Action)(() => index.Search(new float[15], 1, SlotFilter.FromBitmap(all), new Neighbor[1]))).Should().Throw<ArgumentException>().WithParameterName("query");
        ((Action)(() => index.Search(new float[16], -1, SlotFilter.FromBitmap(all), new Neighbor[1]))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("k");
        ((Action)(() => index.Search(new float[16], 1, 0, SlotFilter.FromBitmap(all), new Neighbor[1]))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("ef");
    }

    [Fact]
    public void Search_finds_the_survivor_when_all_other_nodes_are_deleted()
    {
        var rows = ClusteredRows.Create(seed: 71, 16, 200, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        for (int slot = 0; slot < 200; slot++)
        {
            if (slot != 123)
            {
                index.MarkDeleted(slot);
            }
        }

        Neighbor[] result = HnswTestHelpers.Approximate(index, rows.Queries(72, 1, DistanceSpace.L2)[0], 10, 10, HnswTestHelpers.AllSlots(200));

        result.Select(n => n.Slot).Should().Equal(123);
    }

    [Fact]
    public void Create_throws_when_parameters_are_out_of_range()
    {
        var rows = ClusteredRows.Create(seed: 73, 16, 1, DistanceSpace.L2);

        ((Action)(() => HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 1)))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("M");
        ((Action)(() => HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(EfConstruction: 0)))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("EfConstruction");
        ((Action)(() => HnswIndex.Create(rows, (DistanceSpace)9, new HnswParameters()))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("space");
    }

    [Fact]
    public void Search_allocates_nothing_once_warm()
    {
        var rows = ClusteredRows.Create(seed: 74, 16, 1000, DistanceSpace.L2);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.L2, m: 8);
        float[][] queries = rows.Queries(75, 20, DistanceSpace.L2);
        ulong[] all = HnswTestHelpers.AllSlots(1000);
        var destination = new Neighbor[10];
        foreach (float[] query in queries)
        {
            index.Search(query, 10, 64, SlotFilter.FromBitmap(all), destination);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (float[] query in queries)
        {
            index.Search(query, 10, 64, SlotFilter.FromBitmap(all), destination);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }
}
