using System.Globalization;
using EmbeddedChroma.Tests.TestUtilities;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Compaction: deleted records' space is given back (arena, graph, SQLite, WAL) while every live record keeps its
/// id, embedding, metadata and document, and queries keep their answers.
/// </summary>
public sealed class CompactionTests : IDisposable
{
    private static readonly DateTime OldTime = new(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly ITestOutputHelper _output;
    private StoreFixture? _fixture;

    public CompactionTests(ITestOutputHelper output) => _output = output;

    private StoreFixture Fx => _fixture ??= new StoreFixture();

    private StoreFixture Open(ChromaStoreOptions options) => _fixture = new StoreFixture(options);

    public void Dispose() => _fixture?.Dispose();

    private sealed record Row(string Id, float[] Vector, long Group, string Tag, string Document);

    private static Row[] Rows(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => new Row(
            "id" + i.ToString(CultureInfo.InvariantCulture),
            Enumerable.Range(0, dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray(),
            i % 10,
            "t" + (i % 7).ToString(CultureInfo.InvariantCulture),
            "document " + i.ToString(CultureInfo.InvariantCulture))).ToArray();
    }

    private static void AddAll(Collection collection, IReadOnlyList<Row> rows)
    {
        foreach (var chunk in rows.Chunk(10_000))
        {
            collection.Add(
                chunk.Select(r => r.Id).ToArray(),
                chunk.Select(r => r.Vector).ToArray(),
                chunk.Select(r => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("g", r.Group), ("tag", r.Tag))).ToArray(),
                chunk.Select(r => (string?)r.Document).ToArray());
        }
    }

    private static void DeleteAll(Collection collection, IEnumerable<Row> rows)
    {
        foreach (var chunk in rows.Chunk(10_000))
        {
            collection.Delete(chunk.Select(r => r.Id).ToArray());
        }
    }

    private static long FolderBytes(string folder) => new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static void ShouldHoldExactly(Collection collection, IReadOnlyList<Row> live)
    {
        var all = StoreFixture.Everything(collection);
        all.Ids.Order(StringComparer.Ordinal).Should().Equal(live.Select(r => r.Id).Order(StringComparer.Ordinal));
        var byId = live.ToDictionary(r => r.Id, StringComparer.Ordinal);
        for (var i = 0; i < all.Ids.Count; i++)
        {
            var row = byId[all.Ids[i]];
            all.Embeddings![i].Should().Equal(row.Vector);
            all.Documents![i].Should().Be(row.Document);
            StoreFixture.ShouldHaveMetadata(all.Metadatas![i], ("g", row.Group), ("tag", row.Tag));
        }

        collection.Count().Should().Be(live.Count);
    }

    /// <summary>Top-k of Query equals brute force (l2 squared) over <paramref name="live"/>, with and without a filter.</summary>
    private static void QueriesShouldMatchBruteForce(Collection collection, IReadOnlyList<Row> live, int seed, int queries = 8)
    {
        const int k = 10;
        var random = new Random(seed);
        var dimension = live[0].Vector.Length;
        for (var q = 0; q < queries; q++)
        {
            var query = Enumerable.Range(0, dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
            var filtered = q % 2 == 1;
            var candidates = filtered ? live.Where(r => r.Group == 3).ToList() : live;
            var expected = candidates.Select(r => (r.Id, Distance: SquaredL2(query, r.Vector)))
                .OrderBy(p => p.Distance).ThenBy(p => p.Id, StringComparer.Ordinal).Take(k).ToList();
            var result = collection.Query([query], nResults: k, where: filtered ? Where.Eq("g", 3L) : null, include: Include.Distances);
            result.Ids[0].Should().HaveCount(expected.Count);
            result.Distances![0].Should().Equal(expected.Select(e => e.Distance), (a, b) => Math.Abs(a - b) <= 1e-4f * Math.Max(1, b));
            result.Ids[0].Where((id, i) => expected[i].Id != id && expected.Count(e => Math.Abs(e.Distance - expected[i].Distance) <= 1e-6f) == 1)
                .Should().BeEmpty("ids may differ from brute force only among equal distances");
        }
    }

    private static float SquaredL2(float[] a, float[] b) => (float)Index.BruteForce.ReferenceDistance(DistanceSpace.L2, a, b);

    [Fact]
    public void Compact_shrinks_store_and_keeps_every_record_when_90_percent_of_100k_were_deleted()
    {
        // Exact search throughout (threshold above the count), so queries must equal brute force exactly.
        var fx = Open(new ChromaStoreOptions { HnswThreshold = 200_000, AutoCompaction = false });
        var rows = Rows(100_000, 16, seed: 1);
        var collection = fx.CreateCollection("big");
        AddAll(collection, rows);
        var shuffled = rows.OrderBy(_ => 0).ToArray();
        new Random(2).Shuffle(shuffled);
        var live = shuffled.Take(10_000).OrderBy(r => r.Id, StringComparer.Ordinal).ToArray();
        DeleteAll(collection, shuffled.Skip(10_000));
        var id = collection.Id;
        fx.Close();
        var before = FolderBytes(fx.Folder);

        fx.Reopen();
        collection = fx.Client.GetCollection("big");
        var result = collection.Compact();
        fx.Close();
        var after = FolderBytes(fx.Folder);
        _output.WriteLine($"folder {before:N0} -> {after:N0} bytes ({100.0 * after / before:F1}%), compaction {result.Duration.TotalMilliseconds:F0} ms, " +
            $"moved {result.RecordsMoved}, result {result.BytesBefore:N0} -> {result.BytesAfter:N0}");

        result.Records.Should().Be(10_000);
        result.SlotsBefore.Should().BeInRange(99_000, 100_000, "slots above the highest live record are not reloaded");
        result.SlotsAfter.Should().Be(10_000);
        result.RecordsMoved.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(10_000);
        result.BytesAfter.Should().BeLessThan(result.BytesBefore);
        after.Should().BeLessThan((long)(before * 0.4), "90% of the records are gone");

        var arena = fx.ArenaPath(id);
        File.SetLastWriteTimeUtc(arena, OldTime);
        fx.Reopen();
        collection = fx.Client.GetCollection("big");
        ShouldHoldExactly(collection, live);
        QueriesShouldMatchBruteForce(collection, live, seed: 3);
        File.GetLastWriteTimeUtc(arena).Should().Be(OldTime, "the compacted arena is stamped clean and mapped as is on reopen");
        collection.Get(where: Where.Eq("tag", "t3"), include: Include.None).Ids.Order(StringComparer.Ordinal)
            .Should().Equal(live.Where(r => r.Tag == "t3").Select(r => r.Id).Order(StringComparer.Ordinal));
        collection.Get(whereDocument: WhereDocument.Contains("document 4242"), include: Include.None).Ids
            .Should().BeEquivalentTo(live.Where(r => r.Document.Contains("document 4242", StringComparison.Ordinal)).Select(r => r.Id));
    }

    [Fact]
    public void Compact_rebuilds_graph_over_dense_slots_when_collection_is_graph_sized()
    {
        var fx = Open(new ChromaStoreOptions { HnswThreshold = 1_000, AutoCompaction = false });
        var rows = Rows(6_000, 16, seed: 4);
        var collection = fx.CreateCollection("graph");
        AddAll(collection, rows);
        collection.WaitForIndex();
        DeleteAll(collection, rows.Where((_, i) => i % 3 != 0));
        var live = rows.Where((_, i) => i % 3 == 0).ToArray();

        collection.Compact().SlotsAfter.Should().Be(live.Length);
        QueriesShouldMatchBruteForceOrRecall(collection, live, seed: 5);   // while the graph is rebuilt
        collection.WaitForIndex();
        collection.Indexer!.Graph!.Count.Should().Be(live.Length);
        QueriesShouldMatchBruteForceOrRecall(collection, live, seed: 6);

        // New records take slots after the dense range; the graph keeps up; reopening loads the saved graph.
        var more = Rows(500, 16, seed: 7).Select(r => r with { Id = "more" + r.Id }).ToArray();
        AddAll(collection, more);
        collection.WaitForIndex();
        fx.Reopen();
        collection = fx.Client.GetCollection("graph");
        collection.Count().Should().Be(live.Length + more.Length);
        collection.Indexer!.LoadedFromFile.Should().BeTrue("the graph saved after compaction is newer than the compaction point");
        ShouldHoldExactly(collection, [.. live, .. more]);
        QueriesShouldMatchBruteForceOrRecall(collection, [.. live, .. more], seed: 8);
    }

    /// <summary>Recall@10 against brute force over 20 queries is at least 0.95 (the graph is approximate).</summary>
    private static void QueriesShouldMatchBruteForceOrRecall(Collection collection, IReadOnlyList<Row> live, int seed)
    {
        const int k = 10;
        var random = new Random(seed);
        var hits = 0;
        var wanted = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = Enumerable.Range(0, live[0].Vector.Length).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
            var exact = live.Select(r => (r.Id, Distance: SquaredL2(query, r.Vector))).OrderBy(p => p.Distance).Take(k).ToList();
            var result = collection.Query([query], nResults: k, include: Include.Distances);
            result.Ids[0].Should().OnlyHaveUniqueItems().And.HaveCount(k);
            hits += result.Distances![0].Count(d => d <= exact[^1].Distance + 1e-5f);
            wanted += k;
        }

        ((double)hits / wanted).Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Fact]
    public void Compact_is_a_no_op_when_collection_is_empty_or_never_had_vectors()
    {
        var empty = Fx.CreateCollection("empty");
        var result = empty.Compact();
        result.Should().Match<CompactionResult>(r => r.Records == 0 && r.SlotsBefore == 0 && r.SlotsAfter == 0 && r.RecordsMoved == 0);

        var emptied = Fx.CreateCollection("emptied");
        emptied.Add(["a", "b"], [[1f, 2f], [3f, 4f]]);
        emptied.Delete(["a", "b"]);
        emptied.Compact().Should().Match<CompactionResult>(r => r.Records == 0 && r.SlotsBefore == 2 && r.SlotsAfter == 0);
        emptied.Count().Should().Be(0);
        emptied.Query([[1f, 2f]], nResults: 3).Ids[0].Should().BeEmpty();
        emptied.Add(["c"], [[5f, 6f]]);
        emptied.Query([[1f, 2f]], nResults: 3).Ids[0].Should().Equal("c");
        Fx.Reopen();
        Fx.Client.GetCollection("emptied").Get(include: Include.Embeddings).Embeddings.Should().BeEquivalentTo(new[] { new[] { 5f, 6f } });
        Fx.Client.GetCollection("empty").Count().Should().Be(0);
    }

    [Fact]
    public void Compact_moves_nothing_and_keeps_arena_when_collection_has_no_deletes()
    {
        var rows = Rows(300, 8, seed: 9);
        var collection = Fx.CreateCollection();
        AddAll(collection, rows);
        var arena = Fx.ArenaPath(collection.Id);
        var length = new FileInfo(arena).Length;

        var result = collection.Compact();

        result.RecordsMoved.Should().Be(0);
        result.SlotsBefore.Should().Be(300);
        result.SlotsAfter.Should().Be(300);
        new FileInfo(arena).Length.Should().Be(length, "a dense collection's arena is left as it is");
        ShouldHoldExactly(collection, rows);
        QueriesShouldMatchBruteForce(collection, rows, seed: 10);
    }

    [Fact]
    public void Compact_then_writes_reuse_the_dense_range_and_stay_correct_across_reopen()
    {
        var rows = Rows(2_000, 8, seed: 11);
        var collection = Fx.CreateCollection();
        AddAll(collection, rows);
        DeleteAll(collection, rows.Take(1_500));
        collection.Compact().SlotsAfter.Should().Be(500);

        var fresh = Rows(100, 8, seed: 12).Select(r => r with { Id = "new" + r.Id }).ToArray();
        AddAll(collection, fresh);
        collection.Upsert([rows[1_999].Id], [fresh[0].Vector], documents: ["changed"]);
        collection.Delete([rows[1_600].Id]);
        var live = rows.Skip(1_500).Where(r => r.Id != rows[1_600].Id)
            .Select(r => r.Id == rows[1_999].Id ? r with { Vector = fresh[0].Vector, Document = "changed" } : r)
            .Concat(fresh).ToArray();

        ShouldHoldExactly(collection, live);
        QueriesShouldMatchBruteForce(collection, live, seed: 13);
        Fx.Reopen();
        collection = Fx.Client.GetCollection("test");
        ShouldHoldExactly(collection, live);
        QueriesShouldMatchBruteForce(collection, live, seed: 14);
    }

    [Fact]
    public void Filtered_queries_after_compaction_see_the_renumbered_records()
    {
        var rows = Rows(3_000, 8, seed: 21);
        var collection = Fx.CreateCollection();
        AddAll(collection, rows);

        // Build the in-memory filter index over the old slots, then move every live record.
        var probe = rows[0].Vector;
        collection.Query([probe], 5, where: Where.Eq("g", 3L)).Ids[0].Should().HaveCount(5);
        DeleteAll(collection, rows.Where((_, i) => i % 4 != 0));
        collection.Compact().RecordsMoved.Should().BePositive();

        var live = rows.Where((_, i) => i % 4 == 0).ToArray();
        foreach (var (where, keep) in new (Where Filter, Func<Row, bool> Keep)[]
        {
            (Where.Eq("g", 4L), r => r.Group == 4),
            (Where.Ne("tag", "t1"), r => r.Tag != "t1"),
            (Where.Gte("g", 8L), r => r.Group >= 8),
        })
        {
            var expected = live.Where(keep)
                .OrderBy(r => EmbeddedChroma.Distance.VectorMath.SquaredL2(r.Vector, probe)).Take(10).Select(r => r.Id).ToArray();
            collection.Query([probe], 10, where: where).Ids[0].Should().Equal(expected);
            collection.Get(where: where).Ids.Should().BeEquivalentTo(live.Where(keep).Select(r => r.Id));
        }
    }

    [Fact]
    public async Task Concurrent_queries_see_consistent_results_while_collection_is_compacted()
    {
        var rows = Rows(20_000, 16, seed: 15);
        var fx = Open(new ChromaStoreOptions { HnswThreshold = 100_000, AutoCompaction = false });
        var collection = fx.CreateCollection();
        AddAll(collection, rows);
        DeleteAll(collection, rows.Where((_, i) => i % 4 != 0));
        var live = rows.Where((_, i) => i % 4 == 0).ToArray();
        var queries = Enumerable.Range(0, 8).Select(q => live[q * 97].Vector).ToArray();
        var expected = collection.Query(queries, nResults: 5, include: Include.Distances | Include.Documents);

        using var stop = new CancellationTokenSource();
        var checks = 0;
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var got = collection.Query(queries, nResults: 5, include: Include.Distances | Include.Documents);
                got.Ids.Should().BeEquivalentTo(expected.Ids, o => o.WithStrictOrdering());
                got.Documents.Should().BeEquivalentTo(expected.Documents, o => o.WithStrictOrdering());
                collection.Get(where: Where.Eq("g", 4L), include: Include.None).Ids.Should().HaveCount(live.Count(r => r.Group == 4));
                Interlocked.Increment(ref checks);
            }
        })).ToArray();

        SpinWait.SpinUntil(() => Volatile.Read(ref checks) > 0, TimeSpan.FromSeconds(60)).Should().BeTrue("the readers run before the first compaction");
        for (var round = 0; round < 3; round++)
        {
            // Each round frees a slot again so the next compaction has work (far away: never among the readers' nearest).
            collection.Add(["extra" + round], [Enumerable.Repeat(100f, 16).ToArray()]);
            collection.Delete(["extra" + round]);
            collection.Compact();
        }

        var afterCompactions = Volatile.Read(ref checks);
        SpinWait.SpinUntil(() => Volatile.Read(ref checks) >= afterCompactions + 3, TimeSpan.FromSeconds(60)).Should().BeTrue("the readers keep succeeding after the compactions");
        stop.Cancel();
        await Task.WhenAll(readers);
        ShouldHoldExactly(collection, live);
    }

    [Fact]
    public void Auto_compaction_runs_past_the_threshold_and_not_below_it()
    {
        var fx = Open(new ChromaStoreOptions { AutoCompactionMinDeadSlots = 500, AutoCompactionDeadFraction = 0.4 });
        var rows = Rows(2_000, 8, seed: 16);
        var collection = fx.CreateCollection();
        AddAll(collection, rows);

        // 700 freed of 2,000 = 35 % < 40 %: nothing happens.
        DeleteAll(collection, rows.Take(700));
        fx.Store.WaitForMaintenance();
        CompactionState(fx, collection).Should().Be((2_000, 1_300));

        // 1,000 freed of 2,000 = 50 % ≥ 40 % and ≥ 500: compacted in the background.
        DeleteAll(collection, rows.Skip(700).Take(300));
        fx.Store.WaitForMaintenance();
        fx.Store.LastMaintenanceError.Should().BeNull();
        CompactionState(fx, collection).Should().Be((1_000, 1_000));
        var live = rows.Skip(1_000).ToArray();
        ShouldHoldExactly(collection, live);
        QueriesShouldMatchBruteForce(collection, live, seed: 17);

        // Many freed slots but below the minimum count: nothing happens.
        DeleteAll(collection, live.Take(450));
        fx.Store.WaitForMaintenance();
        CompactionState(fx, collection).Should().Be((1_000, 550));
    }

    [Fact]
    public void Auto_compaction_never_runs_when_disabled()
    {
        var fx = Open(new ChromaStoreOptions { AutoCompaction = false, AutoCompactionMinDeadSlots = 1, AutoCompactionDeadFraction = 0.01 });
        var rows = Rows(500, 8, seed: 18);
        var collection = fx.CreateCollection();
        AddAll(collection, rows);
        DeleteAll(collection, rows.Take(400));
        fx.Store.WaitForMaintenance();
        CompactionState(fx, collection).Should().Be((500, 100));
    }

    private static (int Slots, int Live) CompactionState(StoreFixture fx, Collection collection)
    {
        collection.Count();
        var state = fx.Store.InRead(() => fx.Store.Catalog.FindCollection(fx.Store.Catalog.DatabaseId("default_tenant", "default_database"), collection.Name)!).State;
        return (state.NextSlot, state.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void Options_throw_validation_when_dead_fraction_is_out_of_range(double fraction)
    {
        using var folder = new TempStoreFolder();
        var create = () => ChromaStore.Create(folder.Path, out _, new ChromaStoreOptions { AutoCompactionDeadFraction = fraction });
        create.Should().Throw<ChromaValidationException>().WithMessage("*AutoCompactionDeadFraction*");
    }

    [Fact]
    public void Options_throw_validation_when_min_dead_slots_is_not_positive()
    {
        using var folder = new TempStoreFolder();
        var create = () => ChromaStore.Create(folder.Path, out _, new ChromaStoreOptions { AutoCompactionMinDeadSlots = 0 });
        create.Should().Throw<ChromaValidationException>().WithMessage("*AutoCompactionMinDeadSlots*");
    }

    [Fact]
    public void Compact_converts_and_shrinks_a_store_created_without_auto_vacuum()
    {
        var rows = Rows(3_000, 8, seed: 19);
        var collection = Fx.CreateCollection();
        AddAll(collection, rows);
        Fx.Close();
        var file = Path.Combine(Fx.Folder, "chroma.sqlite3");
        AutoVacuum(file, "PRAGMA auto_vacuum=NONE; VACUUM;").Should().Be(0, "the store now looks like one made by an older version");

        Fx.Reopen();
        collection = Fx.Client.GetCollection("test");
        DeleteAll(collection, rows.Take(2_700));
        var live = rows.Skip(2_700).ToArray();
        ShouldHoldExactly(collection, live);
        var result = collection.Compact();
        Fx.Close();

        result.BytesAfter.Should().BeLessThan(result.BytesBefore);
        AutoVacuum(file, null).Should().Be(2, "the first explicit compaction converts the store to incremental auto-vacuum");
        Fx.Reopen();
        ShouldHoldExactly(Fx.Client.GetCollection("test"), live);
        QueriesShouldMatchBruteForce(Fx.Client.GetCollection("test"), live, seed: 20);
    }

    private static long AutoVacuum(string file, string? sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        if (sql is not null)
        {
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        command.CommandText = "PRAGMA auto_vacuum";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public void New_store_uses_incremental_auto_vacuum()
    {
        Fx.Close();
        AutoVacuum(Path.Combine(Fx.Folder, "chroma.sqlite3"), null).Should().Be(2);
    }

    [Fact]
    public void Compact_throws_not_found_when_collection_was_deleted()
    {
        var collection = Fx.CreateCollection("gone");
        collection.Add(["a"], [[1f]]);
        Fx.Client.DeleteCollection("gone");

        var act = () => collection.Compact();

        act.Should().Throw<ChromaNotFoundException>();
    }
}
