using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Index.Hnsw;

/// <summary>
/// Neighbour pruning (Alg. 4) can drop the last link into a node: it is then never found, not even by its own vector.
/// 8-d uniform data with M = 4 does it a few times in 2,000 single-threaded inserts; the seeds below were picked
/// because they do (each test checks it first), so the repair has something to repair.
/// </summary>
public class HnswReachabilityTests
{
    private const int Rows = 2000;
    private const int Dimension = 8;

    private static HnswIndex BuildUniform(ClusteredRows rows, int seed, int count = Rows)
    {
        var index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 4, EfConstruction: 32, Ef: 10, Seed: (ulong)seed));
        for (int slot = 0; slot < count; slot++)
        {
            index.Insert(slot);
        }

        return index;
    }

    private static List<int> UnreachedLive(HnswIndex index, int slotCount) => HnswTestHelpers.UnreachedLive(index, slotCount);

    /// <summary>Live slots whose own vector, queried with k = 1 at ef 100, does not return them.</summary>
    private static List<int> SelfQueryMisses(HnswIndex index, ClusteredRows rows)
    {
        ulong[] all = HnswTestHelpers.AllSlots(rows.SlotCount);
        var destination = new Neighbor[1];
        var misses = new List<int>();
        for (int slot = 0; slot < rows.SlotCount; slot++)
        {
            if (index.Contains(slot) && !index.IsDeleted(slot)
                && (index.Search(rows.GetRow(slot), 1, 100, SlotFilter.FromBitmap(all), destination) != 1 || destination[0].Slot != slot))
            {
                misses.Add(slot);
            }
        }

        return misses;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(10)]
    public void RepairReachability_links_every_live_node_when_pruning_left_some_without_in_links(int seed)
    {
        var rows = ClusteredRows.CreateUniform(seed, Dimension, Rows);
        using HnswIndex index = BuildUniform(rows, seed);
        List<int> unreached = UnreachedLive(index, Rows);
        unreached.Should().NotBeEmpty("the seed was chosen for a build that leaves nodes without a path from the entry point");
        SelfQueryMisses(index, rows).Should().Contain(unreached, "an unreached node is not found even by its own vector");

        ReachabilityRepair repair = index.RepairReachability();

        repair.Should().Be(new ReachabilityRepair(unreached.Count, unreached.Count, 0, Completed: true));
        UnreachedLive(index, Rows).Should().BeEmpty();
        SelfQueryMisses(index, rows).Should().BeEmpty();
        index.VerifyStructure().Should().BeNull();
    }

    [Fact]
    public void RepairReachability_changes_no_link_when_every_live_node_is_reached()
    {
        const int Seed = 1;
        var rows = ClusteredRows.CreateUniform(Seed, Dimension, Rows);
        using HnswIndex index = BuildUniform(rows, Seed);
        UnreachedLive(index, Rows).Should().BeEmpty("the seed was chosen for a build that reaches every node");
        int[][] before = Links(index);

        index.RepairReachability().Should().Be(new ReachabilityRepair(0, 0, 0, Completed: true));

        Links(index).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public void RepairReachability_reaches_every_live_node_when_deletes_and_updates_are_mixed_in()
    {
        const int Seed = 0;
        var rows = ClusteredRows.CreateUniform(Seed, Dimension, Rows);
        using HnswIndex index = BuildUniform(rows, Seed);
        var random = new Random(Seed + 1000);
        for (int slot = 3; slot < Rows; slot += 9)
        {
            index.MarkDeleted(slot).Should().BeTrue();
        }

        for (int slot = 5; slot < Rows; slot += 11)
        {
            rows.SetRow(slot, Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray());
            if (index.IsDeleted(slot))
            {
                index.Insert(slot); // a deleted slot reused for a new record
            }
            else
            {
                index.Update(slot);
            }
        }

        UnreachedLive(index, Rows).Should().NotBeEmpty("the mix was chosen so that some live node has no path from the entry point");

        ReachabilityRepair repair = index.RepairReachability();

        repair.Completed.Should().BeTrue();
        repair.Remaining.Should().Be(0);
        UnreachedLive(index, Rows).Should().BeEmpty();
        SelfQueryMisses(index, rows).Should().BeEmpty();
        index.VerifyStructure().Should().BeNull();
    }

    [Fact]
    public void RepairReachability_links_survive_a_save_and_a_load_and_repair_a_graph_loaded_unrepaired()
    {
        const int Seed = 7;
        using var folder = new TempStoreFolder();
        string path = Path.Combine(folder.Path, "graph.hnsw");
        var rows = ClusteredRows.CreateUniform(Seed, Dimension, Rows);
        var parameters = new HnswParameters(M: 4, EfConstruction: 32, Ef: 10, Seed: Seed);
        using HnswIndex index = BuildUniform(rows, Seed);
        index.Save(path, stamp: 1);

        using (HnswIndex loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, parameters, 1)!)
        {
            UnreachedLive(loaded, Rows).Should().NotBeEmpty("the file holds the graph as built");
            loaded.RepairReachability().Remaining.Should().Be(0);
            UnreachedLive(loaded, Rows).Should().BeEmpty();
        }

        index.RepairReachability().LinksAdded.Should().BeGreaterThan(0);
        index.Save(path, stamp: 2);
        index.LastSaveAppended.Should().BeTrue("the repaired lists are saved as changed nodes, in a segment");

        using HnswIndex reloaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, parameters, 2)!;
        UnreachedLive(reloaded, Rows).Should().BeEmpty();
        SelfQueryMisses(reloaded, rows).Should().BeEmpty();
    }

    [Fact]
    public void RepairReachability_stops_early_when_asked_and_a_later_pass_finishes()
    {
        const int Seed = 10;
        var rows = ClusteredRows.CreateUniform(Seed, Dimension, Rows);
        using HnswIndex index = BuildUniform(rows, Seed);
        int unreached = UnreachedLive(index, Rows).Count;

        index.RepairReachability(() => true).Completed.Should().BeFalse();

        index.RepairReachability().Should().Be(new ReachabilityRepair(unreached, unreached, 0, Completed: true));
        UnreachedLive(index, Rows).Should().BeEmpty();
    }

    private static int[][] Links(HnswIndex index)
    {
        var buffer = new int[2 * index.Parameters.M];
        return Enumerable.Range(0, Rows).Select(s => buffer.AsSpan(0, index.GetLinks(s, 0, buffer)).ToArray()).ToArray();
    }
}
