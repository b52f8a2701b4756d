using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public sealed class HnswPersistenceTests : IDisposable
{
    private const int Rows = 1500;
    private const long Stamp = 42;
    private static readonly HnswParameters Parameters = new(M: 8, EfConstruction: 64, Ef: 32, Seed: 7);

    private readonly TempStoreFolder _folder = new("ec-hnsw");

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(DistanceSpace.L2)]
    [InlineData(DistanceSpace.Cosine)]
    [InlineData(DistanceSpace.InnerProduct)]
    public void TryLoad_returns_a_graph_with_identical_search_results_after_Save(DistanceSpace space)
    {
        var rows = ClusteredRows.Create(seed: 81, 24, Rows, space);
        using HnswIndex saved = Build(rows, space);
        string path = Path.Combine(_folder.Path, "graph.hnsw");
        saved.Save(path, Stamp);

        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, space, Parameters, Stamp);

        loaded.Should().NotBeNull();
        loaded!.Count.Should().Be(saved.Count);
        loaded.DeletedCount.Should().Be(saved.DeletedCount);
        loaded.MaxLevel.Should().Be(saved.MaxLevel);
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        foreach (float[] query in rows.Queries(82, 30, space))
        {
            HnswTestHelpers.Approximate(loaded, query, 10, 32, all).Should().Equal(HnswTestHelpers.Approximate(saved, query, 10, 32, all));
        }

        File.Exists(path + ".tmp").Should().BeFalse();
    }

    [Fact]
    public void TryLoad_graph_accepts_further_inserts_and_reuse()
    {
        var rows = ClusteredRows.Create(seed: 83, 24, Rows, DistanceSpace.L2);
        string path = Path.Combine(_folder.Path, "graph.hnsw");
        using (HnswIndex saved = Build(rows, DistanceSpace.L2, count: 1000))
        {
            saved.Save(path, Stamp);
        }

        using HnswIndex loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp)!;
        loaded.IsDeleted(10).Should().BeTrue("deleted marks are persisted");
        for (int slot = 1000; slot < Rows; slot++)
        {
            loaded.Insert(slot);
        }

        loaded.Insert(10);
        loaded.DeletedCount.Should().Be(99, "every 10th of 1000 was deleted and slot 10 was reused");
        ulong[] live = HnswTestHelpers.Bitmap(Rows, Enumerable.Range(0, Rows).Where(s => s >= 1000 || s == 10 || s % 10 != 0));
        HnswTestHelpers.Recall(loaded, rows, DistanceSpace.L2, rows.Queries(84, 30, DistanceSpace.L2), 10, 64, live)
            .Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void TryLoad_round_trips_an_empty_graph()
    {
        var rows = ClusteredRows.Create(seed: 85, 24, 10, DistanceSpace.L2);
        string path = Path.Combine(_folder.Path, "empty.hnsw");
        using (HnswIndex empty = HnswIndex.Create(rows, DistanceSpace.L2, Parameters))
        {
            empty.Save(path, Stamp);
        }

        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp);

        loaded.Should().NotBeNull();
        loaded!.Count.Should().Be(0);
        loaded.Insert(3);
        loaded.Count.Should().Be(1);
    }

    [Fact]
    public void TryLoad_returns_null_when_file_is_missing()
    {
        var rows = ClusteredRows.Create(seed: 86, 24, 10, DistanceSpace.L2);

        HnswIndex.TryLoad(Path.Combine(_folder.Path, "absent.hnsw"), rows, DistanceSpace.L2, Parameters, Stamp).Should().BeNull();
    }

    [Fact]
    public void TryLoad_returns_null_when_file_is_truncated_anywhere()
    {
        var rows = ClusteredRows.Create(seed: 87, 24, 300, DistanceSpace.L2);
        string path = SaveSmallGraph(rows);
        byte[] bytes = File.ReadAllBytes(path);

        foreach (int length in new[] { 0, 1, 8, 71, 72, 73, bytes.Length / 2, bytes.Length - 4, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..length]);
            HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp).Should().BeNull($"the file was cut to {length} bytes");
        }
    }

    [Fact]
    public void TryLoad_returns_null_when_any_sampled_bit_is_flipped()
    {
        var rows = ClusteredRows.Create(seed: 88, 24, 300, DistanceSpace.L2);
        string path = SaveSmallGraph(rows);
        byte[] original = File.ReadAllBytes(path);
        var random = new Random(89);

        // Every byte of the current header (slot 0 after a whole save; the rest of the two 512-byte slots is padding and
        // the unused second slot), then a seeded sample of base bytes.
        IEnumerable<int> offsets = Enumerable.Range(0, 160).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(1024, original.Length)));
        foreach (int offset in offsets)
        {
            byte[] corrupt = (byte[])original.Clone();
            corrupt[offset] ^= (byte)(1 << (offset % 8));
            File.WriteAllBytes(path, corrupt);
            HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp).Should().BeNull($"byte {offset} was flipped");
        }
    }

    [Fact]
    public void TryLoad_returns_null_when_stamp_or_parameters_differ()
    {
        var rows = ClusteredRows.Create(seed: 90, 24, 300, DistanceSpace.L2);
        string path = SaveSmallGraph(rows);

        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp + 1).Should().BeNull();
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters with { M = 16 }, Stamp).Should().BeNull();
        HnswIndex.TryLoad(path, rows, DistanceSpace.InnerProduct, Parameters, Stamp).Should().BeNull();
        HnswIndex.TryLoad(path, ClusteredRows.Create(seed: 90, 32, 300, DistanceSpace.L2), DistanceSpace.L2, Parameters, Stamp).Should().BeNull();
        HnswIndex.TryLoad(path, ClusteredRows.Create(seed: 90, 24, 100, DistanceSpace.L2), DistanceSpace.L2, Parameters, Stamp)
            .Should().BeNull("the graph covers more slots than the rows hold");
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp).Should().NotBeNull();
    }

    [Fact]
    public void Save_replaces_an_existing_file()
    {
        var rows = ClusteredRows.Create(seed: 91, 24, 300, DistanceSpace.L2);
        string path = SaveSmallGraph(rows);
        using HnswIndex bigger = Build(rows, DistanceSpace.L2);

        bigger.Save(path, Stamp + 1);

        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp).Should().BeNull();
        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, Stamp + 1);
        loaded!.Count.Should().Be(300);
    }

    [Fact]
    public void Save_writes_identical_bytes_for_two_builds_with_the_same_seed()
    {
        var rows = ClusteredRows.Create(seed: 92, 24, 800, DistanceSpace.Cosine);
        string first = Path.Combine(_folder.Path, "first.hnsw");
        string second = Path.Combine(_folder.Path, "second.hnsw");
        using (HnswIndex a = Build(rows, DistanceSpace.Cosine))
        {
            a.Save(first, Stamp);
        }

        using (HnswIndex b = Build(rows, DistanceSpace.Cosine))
        {
            b.Save(second, Stamp);
        }

        File.ReadAllBytes(second).Should().Equal(File.ReadAllBytes(first));
    }

    private string SaveSmallGraph(ClusteredRows rows)
    {
        string path = Path.Combine(_folder.Path, "small.hnsw");
        using HnswIndex index = Build(rows, DistanceSpace.L2, count: 200);
        index.Save(path, Stamp);
        return path;
    }

    /// <summary>Builds over the first <paramref name="count"/> rows and deletes every 10th, so deleted bits are persisted too.</summary>
    private static HnswIndex Build(ClusteredRows rows, DistanceSpace space, int count = -1)
    {
        var index = HnswIndex.Create(rows, space, Parameters);
        int n = count < 0 ? rows.SlotCount : count;
        for (int slot = 0; slot < n; slot++)
        {
            index.Insert(slot);
        }

        for (int slot = 0; slot < n; slot += 10)
        {
            index.MarkDeleted(slot);
        }

        return index;
    }
}
