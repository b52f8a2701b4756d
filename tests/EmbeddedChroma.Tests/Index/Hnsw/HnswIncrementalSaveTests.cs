using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Index.Hnsw;

/// <summary>
/// A save into the file the graph last wrote or loaded appends only the nodes that changed (a checksummed segment
/// committed by a new header beside the current one); the file then loads as the graph was at its stamp, a crash
/// between the segment and its header leaves the previous save loadable, and damage anywhere is never trusted.
/// </summary>
public sealed class HnswIncrementalSaveTests : IDisposable
{
    private const int Rows = 1600;
    private const int Dimension = 16;
    private static readonly HnswParameters Parameters = new(M: 8, EfConstruction: 48, Ef: 32, Seed: 11);

    private readonly TempStoreFolder _folder = new("ec-hnsw-append");

    public void Dispose() => _folder.Dispose();

    private string PathOf(string name) => Path.Combine(_folder.Path, name);

    private static HnswIndex Build(ClusteredRows rows, int count)
    {
        var index = HnswIndex.Create(rows, DistanceSpace.L2, Parameters);
        for (int slot = 0; slot < count; slot++)
        {
            index.Insert(slot);
        }

        return index;
    }

    /// <summary>Every slot's presence, deleted mark and links at every level: equal snapshots are the same graph.</summary>
    private static string Snapshot(HnswIndex index, int slotCount)
    {
        var text = new System.Text.StringBuilder();
        text.Append(index.Count).Append('/').Append(index.DeletedCount).Append('/').Append(index.MaxLevel).Append('\n');
        var links = new int[64];
        for (int slot = 0; slot < slotCount; slot++)
        {
            if (!index.Contains(slot))
            {
                continue;
            }

            text.Append(slot).Append(index.IsDeleted(slot) ? 'd' : 'p');
            for (int level = 0; level <= Math.Max(index.MaxLevel, 0); level++)
            {
                int n = index.GetLinks(slot, level, links);
                text.Append('|').AppendJoin(',', links[..n]);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Inserts <paramref name="inserts"/> new slots from <paramref name="next"/>, deletes and updates a few older ones.</summary>
    private static int SmallChange(HnswIndex index, ClusteredRows rows, int next, int inserts, Random random)
    {
        for (int i = 0; i < inserts; i++)
        {
            index.Insert(next++);
        }

        int victim = random.Next(next);
        if (!index.IsDeleted(victim))
        {
            index.MarkDeleted(victim);
        }

        int moved = random.Next(next);
        if (!index.IsDeleted(moved))
        {
            rows.SetRow(moved, rows.GetRow(random.Next(next)).ToArray().Select(v => v + 0.01f).ToArray());
            index.Update(moved);
        }

        return next;
    }

    [Fact]
    public void Save_appends_only_the_changed_nodes_when_the_file_is_the_one_the_graph_last_wrote()
    {
        var rows = ClusteredRows.Create(seed: 301, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1500);
        string path = PathOf("graph.hnsw");
        index.Save(path, stamp: 1);
        long whole = index.LastSaveBytes;
        index.LastSaveAppended.Should().BeFalse("the first save of a graph writes the whole file");
        new FileInfo(path).Length.Should().Be(whole);

        for (int slot = 1500; slot < 1510; slot++)
        {
            index.Insert(slot);
        }

        index.Save(path, stamp: 2);

        index.LastSaveAppended.Should().BeTrue();
        index.LastSaveBytes.Should().BeLessThan(whole / 4, "10 inserts change a few dozen of 1,510 nodes");
        new FileInfo(path).Length.Should().Be(whole + index.LastSaveBytes - 160, "the segment is appended; the header is rewritten in place");
        HnswIndex.VerifyFile(path).Should().Be(new GraphFileCheck(2, 1, null));
        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 2);
        loaded.Should().NotBeNull();
        Snapshot(loaded!, Rows).Should().Be(Snapshot(index, Rows));
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 1).Should().BeNull("the file holds the graph at stamp 2 now");
    }

    [Fact]
    public void TryLoad_equals_the_graph_and_a_whole_save_after_many_saves_with_few_changes()
    {
        var rows = ClusteredRows.Create(seed: 302, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1200);
        string path = PathOf("graph.hnsw");
        index.Save(path, stamp: 0);
        var random = new Random(303);
        int next = 1200;
        int appended = 0;
        int whole = 0;
        ulong[] queries = HnswTestHelpers.AllSlots(Rows);
        for (int round = 1; round <= 40; round++)
        {
            next = SmallChange(index, rows, next, inserts: 5, random);
            index.Save(path, round);
            if (index.LastSaveAppended)
            {
                appended++;
            }
            else
            {
                whole++;
            }

            using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, round);
            loaded.Should().NotBeNull($"round {round}");
            Snapshot(loaded!, Rows).Should().Be(Snapshot(index, Rows), $"round {round}");
            foreach (float[] query in rows.Queries(304 + round, 3, DistanceSpace.L2))
            {
                HnswTestHelpers.Approximate(loaded!, query, 10, 32, queries).Should().Equal(HnswTestHelpers.Approximate(index, query, 10, 32, queries));
            }
        }

        appended.Should().BeGreaterThan(20, "most saves after a small change append");
        whole.Should().BeGreaterThan(0, "once the segments would pass half the base, the file is rewritten whole");
        string fresh = PathOf("fresh.hnsw");
        index.Save(fresh, 40);
        index.LastSaveAppended.Should().BeFalse("another path is written whole");
        using HnswIndex fromFresh = HnswIndex.TryLoad(fresh, rows, DistanceSpace.L2, Parameters, 40)!;
        using HnswIndex fromSegments = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 40)!;
        Snapshot(fromSegments, Rows).Should().Be(Snapshot(fromFresh, Rows));
        new FileInfo(path).Length.Should().BeLessThan((long)(new FileInfo(fresh).Length * 1.6), "segments stay under half the base");
    }

    [Fact]
    public void TryLoad_returns_the_previous_save_when_a_save_stops_between_its_segment_and_its_header()
    {
        var rows = ClusteredRows.Create(seed: 305, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1400);
        string path = PathOf("graph.hnsw");
        index.Save(path, stamp: 1);
        index.Insert(1400);
        index.Save(path, stamp: 2);
        string atTwo = Snapshot(index, Rows);
        for (int slot = 1401; slot < 1420; slot++)
        {
            index.Insert(slot);
        }

        // The process dies with the segment flushed and no header written: the folder as it is at that moment.
        string crashed = PathOf("crashed.hnsw");
        index.SegmentWritten = () =>
        {
            File.Copy(path, crashed);
            throw new IOException("simulated crash");
        };
        FluentActions.Invoking(() => index.Save(path, stamp: 3)).Should().Throw<IOException>();
        index.SegmentWritten = null;
        new FileInfo(crashed).Length.Should().BeGreaterThan(new FileInfo(path).Length, "the crashed copy holds the uncommitted segment");

        foreach (string file in new[] { crashed, path })
        {
            HnswIndex.ReadStamp(file).Should().Be(2);
            HnswIndex.VerifyFile(file).Should().Be(new GraphFileCheck(2, 1, null));
            HnswIndex.TryLoad(file, rows, DistanceSpace.L2, Parameters, 3).Should().BeNull();
            using HnswIndex reopened = HnswIndex.TryLoad(file, rows, DistanceSpace.L2, Parameters, 2)!;
            Snapshot(reopened, Rows).Should().Be(atTwo, $"{Path.GetFileName(file)} holds the save at stamp 2");
        }

        // The graph reopened from the crashed file re-links the newer writes and appends over the uncommitted tail.
        using (HnswIndex reopened = HnswIndex.TryLoad(crashed, rows, DistanceSpace.L2, Parameters, 2)!)
        {
            for (int slot = 1401; slot < 1420; slot++)
            {
                reopened.Insert(slot);
            }

            reopened.Save(crashed, stamp: 3);
            reopened.LastSaveAppended.Should().BeTrue();
            using HnswIndex? again = HnswIndex.TryLoad(crashed, rows, DistanceSpace.L2, Parameters, 3);
            Snapshot(again!, Rows).Should().Be(Snapshot(reopened, Rows));
        }

        // The graph whose save failed saves again (appending the same changes) and the file holds it.
        index.Save(path, stamp: 3);
        index.LastSaveAppended.Should().BeTrue();
        using HnswIndex? saved = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 3);
        Snapshot(saved!, Rows).Should().Be(Snapshot(index, Rows));
    }

    [Fact]
    public void TryLoad_uses_the_other_header_when_the_newest_header_write_was_torn()
    {
        var rows = ClusteredRows.Create(seed: 306, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1400);
        string path = PathOf("graph.hnsw");
        index.Save(path, stamp: 1);
        index.Insert(1400);
        index.Save(path, stamp: 2);
        string atTwo = Snapshot(index, Rows);
        index.Insert(1401);
        index.Save(path, stamp: 3); // generation 3: header slot 0

        // Half of the newest header is garbage, as a write torn mid-sector would leave it.
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 40;
            file.Write(Enumerable.Repeat((byte)0xA5, 64).ToArray());
        }

        HnswIndex.ReadStamp(path).Should().Be(2, "the intact header of the previous save is in charge");
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 3).Should().BeNull();
        using HnswIndex loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 2)!;
        Snapshot(loaded, Rows).Should().Be(atTwo);

        // Its next save goes into the torn slot and is loaded.
        loaded.Insert(1401);
        loaded.Save(path, stamp: 3);
        loaded.LastSaveAppended.Should().BeTrue();
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 3).Should().NotBeNull();
    }

    [Fact]
    public void TryLoad_returns_null_or_an_earlier_save_exactly_when_any_region_of_a_segmented_file_is_damaged()
    {
        var rows = ClusteredRows.Create(seed: 307, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1400);
        string path = PathOf("graph.hnsw");
        var snapshots = new Dictionary<long, string>();
        int next = 1400;
        var random = new Random(308);
        index.Save(path, stamp: 1);
        long baseEnd = index.LastSaveBytes;
        snapshots[1] = Snapshot(index, Rows);
        for (long stamp = 2; stamp <= 4; stamp++)
        {
            next = SmallChange(index, rows, next, inserts: 4, random);
            index.Save(path, stamp);
            index.LastSaveAppended.Should().BeTrue();
            snapshots[stamp] = Snapshot(index, Rows);
        }

        byte[] original = File.ReadAllBytes(path);
        HnswIndex.VerifyFile(path).Should().Be(new GraphFileCheck(4, 3, null));
        string damaged = PathOf("damaged.hnsw");
        int loadedEarlier = 0;
        var failures = new List<string>();

        // Both header slots in 8-byte steps, the base in 64-byte steps, the three segments in 8-byte steps.
        IEnumerable<long> offsets = Enumerable.Range(0, 1024 / 8).Select(i => i * 8L)
            .Concat(Enumerable.Range(0, (int)(baseEnd - 1024) / 64).Select(i => 1024 + (i * 64L)))
            .Concat(Enumerable.Range(0, (int)(original.Length - baseEnd) / 8).Select(i => baseEnd + (i * 8L)));
        foreach (long offset in offsets)
        {
            byte[] copy = (byte[])original.Clone();
            copy[offset + (offset % 5)] ^= 0x5A;
            File.WriteAllBytes(damaged, copy);
            long? stamp = HnswIndex.ReadStamp(damaged);
            bool intact = HnswIndex.VerifyFile(damaged).Intact;
            using HnswIndex? loaded = stamp is { } s ? HnswIndex.TryLoad(damaged, rows, DistanceSpace.L2, Parameters, s) : null;
            if (intact != loaded is not null)
            {
                failures.Add($"@{offset}: VerifyFile says intact = {intact}, the load {(loaded is null ? "failed" : "succeeded")}");
            }

            if (loaded is null)
            {
                continue;
            }

            if (offset >= 1024)
            {
                failures.Add($"@{offset}: damage in the base or a segment was loaded");
            }

            if (Snapshot(loaded, Rows) != snapshots[stamp!.Value])
            {
                failures.Add($"@{offset}: loaded a graph that is not the save at stamp {stamp}");
            }

            loadedEarlier += stamp < 4 ? 1 : 0;
        }

        failures.Should().BeEmpty();
        loadedEarlier.Should().BeGreaterThan(0, "a damaged newest header leaves the previous save in charge");
    }

    [Fact]
    public void TryLoad_reads_a_version_2_file_and_its_next_save_rewrites_it_whole_as_version_4()
    {
        // Written by the version-2 code (commit c280aa8): 400 cosine rows of 8 dimensions (ClusteredRows seed 170),
        // M 4, ef_construction 32, seed 17, every 25th slot deleted, stamp 42, owner "fixture-v2".
        var rows = ClusteredRows.Create(seed: 170, 8, 400, DistanceSpace.Cosine);
        var parameters = new HnswParameters(M: 4, EfConstruction: 32, Ef: 16, Seed: 17);
        string path = PathOf("v2.hnsw");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Index", "Hnsw", "Fixtures", "graph-v2.hnsw"), path);
        HnswIndex.ReadStamp(path).Should().Be(42);
        HnswIndex.VerifyFile(path).Should().Be(new GraphFileCheck(42, 0, null));
        HnswIndex.TryLoad(path, rows, DistanceSpace.Cosine, parameters, 42, "another"u8).Should().BeNull("the owner stamp is still checked");

        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.Cosine, parameters, 42, "fixture-v2"u8);

        loaded.Should().NotBeNull();
        loaded!.Count.Should().Be(400);
        loaded.DeletedCount.Should().Be(16);
        loaded.MaxLevel.Should().Be(4);
        ulong[] live = HnswTestHelpers.Bitmap(400, Enumerable.Range(0, 400).Where(s => s % 25 != 0));
        HnswTestHelpers.Recall(loaded, rows, DistanceSpace.Cosine, rows.Queries(171, 30, DistanceSpace.Cosine), 10, 64, live)
            .Should().BeGreaterThanOrEqualTo(0.95);
        string before = Snapshot(loaded, 400);

        loaded.Insert(0); // reuses a deleted slot
        loaded.Save(path, 43, "fixture-v2"u8);
        loaded.LastSaveAppended.Should().BeFalse("a version-2 file cannot take a segment");
        File.ReadAllBytes(path)[8].Should().Be((byte)4, "the file is version 4 now");
        loaded.Insert(25);
        loaded.Save(path, 44, "fixture-v2"u8);
        loaded.LastSaveAppended.Should().BeTrue();
        using HnswIndex? reloaded = HnswIndex.TryLoad(path, rows, DistanceSpace.Cosine, parameters, 44, "fixture-v2"u8);
        Snapshot(reloaded!, 400).Should().Be(Snapshot(loaded, 400)).And.NotBe(before);
    }

    [Fact]
    public void TryLoad_reads_a_version_3_file_and_its_next_save_rewrites_it_whole_as_version_4()
    {
        var rows = ClusteredRows.Create(seed: 313, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1500);
        string path = PathOf("v3.hnsw");
        index.Save(path, stamp: 5);
        File.ReadAllBytes(path)[8].Should().Be((byte)4, "a save writes version 4");
        HnswTestHelpers.RewriteAsVersion(path, version: 3, xxHash3Base: true);
        HnswIndex.VerifyFile(path).Should().Be(new GraphFileCheck(5, 0, null));

        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 5);

        loaded.Should().NotBeNull("a version-3 file checksummed with XxHash3 still loads");
        loaded!.LoadedFromOlderFormat.Should().BeTrue();
        Snapshot(loaded!, Rows).Should().Be(Snapshot(index, Rows));
        loaded!.Insert(1500);
        loaded.Save(path, stamp: 6);
        loaded.LastSaveAppended.Should().BeFalse("a version-3 file is rewritten whole, never appended to");
        File.ReadAllBytes(path)[8].Should().Be((byte)4);
        loaded.Insert(1501);
        loaded.Save(path, stamp: 7);
        loaded.LastSaveAppended.Should().BeTrue("the version-4 file it wrote takes segments");
        using HnswIndex? reloaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 7);
        reloaded!.LoadedFromOlderFormat.Should().BeFalse();
        Snapshot(reloaded, Rows).Should().Be(Snapshot(loaded, Rows));
    }

    [Theory]
    [InlineData(3, false)] // version 3 claimed over version 4's checksum
    [InlineData(4, true)] // version 4 claimed over version 3's checksum
    public void TryLoad_returns_null_when_the_base_checksum_is_not_the_one_of_the_version_the_header_names(int version, bool xxHash3Base)
    {
        var rows = ClusteredRows.Create(seed: 317, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1200);
        string path = PathOf("mixed.hnsw");
        index.Save(path, stamp: 3);
        HnswTestHelpers.RewriteAsVersion(path, version, xxHash3Base);

        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 3).Should().BeNull();
        HnswIndex.VerifyFile(path).Problem.Should().Be("the base fails its checksum");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void TryLoad_returns_null_when_one_byte_of_the_upper_level_block_or_of_the_last_segment_is_damaged(int version)
    {
        var rows = ClusteredRows.Create(seed: 319, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1400);
        string path = PathOf("upper.hnsw");
        index.Save(path, stamp: 1);
        if (version == 3)
        {
            HnswTestHelpers.RewriteAsVersion(path, 3, xxHash3Base: true);
        }

        byte[] intact = File.ReadAllBytes(path);
        long baseLength = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(intact.AsSpan(48));
        int upperStart = 1024 + (1400 * (1 + Parameters.MaxM0) * sizeof(int));
        upperStart.Should().BeLessThan(1024 + (int)baseLength, "some node has upper levels");
        foreach (int offset in (int[])[upperStart, upperStart + 7, 1024 + (int)baseLength - 1])
        {
            byte[] damaged = (byte[])intact.Clone();
            damaged[offset] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 1).Should().BeNull($"byte {offset} of the upper-level block is damaged");
        }

        if (version == 4)
        {
            File.WriteAllBytes(path, intact);
            using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 1);
            loaded!.Insert(1400);
            loaded.Insert(1401);
            loaded.Save(path, stamp: 2);
            loaded.LastSaveAppended.Should().BeTrue();
            byte[] segmented = File.ReadAllBytes(path);
            foreach (int back in (int[])[1, 5, 70])
            {
                byte[] damaged = (byte[])segmented.Clone();
                damaged[^back] ^= 0x01;
                File.WriteAllBytes(path, damaged);
                HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 2).Should().BeNull($"byte {back} from the end (the last segment's records) is damaged");
            }
        }
    }

    [Fact]
    public void Save_rewrites_the_file_whole_when_it_was_replaced_since_the_graph_last_wrote_it()
    {
        var rows = ClusteredRows.Create(seed: 309, Dimension, Rows, DistanceSpace.L2);
        using HnswIndex index = Build(rows, 1400);
        using HnswIndex other = Build(rows, 1300);
        string path = PathOf("graph.hnsw");
        index.Save(path, stamp: 1);
        other.Save(path, stamp: 7); // another writer replaced the file
        index.Insert(1400);

        index.Save(path, stamp: 2);

        index.LastSaveAppended.Should().BeFalse("appending to a file whose header is not the remembered one would mix two graphs");
        using HnswIndex? loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 2);
        Snapshot(loaded!, Rows).Should().Be(Snapshot(index, Rows));
        File.Delete(path);
        index.Insert(1401);
        index.Save(path, stamp: 3);
        index.LastSaveAppended.Should().BeFalse("a deleted file is written anew");
        HnswIndex.TryLoad(path, rows, DistanceSpace.L2, Parameters, 3).Should().NotBeNull();
    }
}
