using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;
using FluentAssertions;
using Xunit;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// An unfiltered query asking only for ids and distances takes its result ids from memory once a query has read them
/// (<see cref="ResultIdCache"/>): each id is read from SQLite once while its slot holds the same record, and a slot freed
/// and reused by another record, slots renumbered by compaction, or a reload never yield an old id. Filtered queries
/// read each result row (with its checksum-verified metadata) once and check it again against their selectors at every
/// query (<see cref="Storage.CollectionState.CheckedRows"/>); a record replaced in place is read again.
/// </summary>
public sealed class ResultIdCacheTests : IDisposable
{
    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = int.MaxValue, AutoCompaction = false });

    public void Dispose() => _fx.Dispose();

    /// <summary>Record n's vector: distinct per n, so querying it finds record n at distance 0.</summary>
    private static float[] Vector(int n) => QueryRowReadTests.Vector(n, salt: 3);

    private static void Add(Collection collection, IEnumerable<(string Id, int N)> records)
    {
        var list = records.ToList();
        collection.Add(list.ConvertAll(r => r.Id), list.ConvertAll(r => Vector(r.N)), list.ConvertAll(r => StoreFixture.Meta(("n", (long)r.N))));
    }

    private static ResultIdCache Cache(Collection collection) => collection.Engine.State.ResultIds;

    private static (string Id, float Distance) Nearest(Collection collection, int n, Include include = Include.Distances)
    {
        var result = collection.Query([Vector(n)], nResults: 1, include: include | Include.Distances);
        return (result.Ids[0][0], result.Distances![0][0]);
    }

    [Fact]
    public void Query_reads_each_result_id_from_sqlite_once_when_only_ids_and_distances_are_asked_and_no_write_touches_the_slots()
    {
        var collection = _fx.CreateCollection("once");
        Add(collection, Enumerable.Range(0, 200).Select(n => ("r" + n, n)));
        var queries = Enumerable.Range(0, 20).Select(q => new[] { Vector(1_000 + q) }).ToArray();

        var first = queries.Select(q => collection.Query(q, nResults: 10, include: Include.Distances)).ToArray();
        var misses = Cache(collection).Misses;
        var hits = Cache(collection).Hits;
        var again = queries.Select(q => collection.Query(q, nResults: 10, include: Include.None)).ToArray();

        Cache(collection).Misses.Should().Be(misses, "every id was read by the first pass");
        Cache(collection).Hits.Should().Be(hits + (20 * 10));
        again.Select(r => r.Ids[0]).Should().BeEquivalentTo(first.Select(r => r.Ids[0]), o => o.WithStrictOrdering());
        Cache(collection).Count.Should().Be(first.SelectMany(r => r.Ids[0]).Distinct().Count());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Query_returns_the_new_records_id_when_a_deleted_records_slot_is_reused(bool upsert)
    {
        var collection = _fx.CreateCollection("reuse");
        Add(collection, Enumerable.Range(0, 100).Select(n => ("r" + n, n)));
        Nearest(collection, 5).Should().Be(("r5", 0f));
        Nearest(collection, 6).Should().Be(("r6", 0f));

        // r5's and r6's slots are freed, then taken by records with each other's vectors (and new ids).
        collection.Delete(["r5", "r6"]);
        if (upsert)
        {
            collection.Upsert(["x6", "x5"], [Vector(6), Vector(5)]);
        }
        else
        {
            Add(collection, [("x6", 6), ("x5", 5)]);
        }

        collection.GetSlots().Allocated.Should().Be(100, "the new records took the freed slots");
        Nearest(collection, 5).Should().Be(("x5", 0f));
        Nearest(collection, 6).Should().Be(("x6", 0f));
        Nearest(collection, 5, Include.Metadatas).Id.Should().Be("x5");
    }

    [Fact]
    public void Query_returns_each_records_own_id_when_compaction_renumbered_slots_whose_ids_were_read()
    {
        var collection = _fx.CreateCollection("compact");
        Add(collection, Enumerable.Range(0, 300).Select(n => ("r" + n, n)));
        for (var n = 0; n < 300; n++)
        {
            Nearest(collection, n).Should().Be(("r" + n, 0f));
        }

        collection.Delete(Enumerable.Range(0, 300).Where(n => n % 3 != 0).Select(n => "r" + n).ToArray());
        collection.Compact().RecordsMoved.Should().BePositive("the test needs slots renumbered");

        for (var n = 0; n < 300; n += 3)
        {
            Nearest(collection, n).Should().Be(("r" + n, 0f));
        }
    }

    [Fact]
    public void Query_returns_each_records_own_id_when_a_slot_is_reused_after_a_reopen()
    {
        var collection = _fx.CreateCollection("reload");
        Add(collection, Enumerable.Range(0, 50).Select(n => ("r" + n, n)));
        Nearest(collection, 7).Should().Be(("r7", 0f));
        _fx.Reopen();
        collection = _fx.Client.GetCollection("reload");
        Nearest(collection, 7).Should().Be(("r7", 0f));
        collection.Delete(["r7"]);
        Add(collection, [("y8", 8_000), ("y7", 7)]);

        Nearest(collection, 7).Should().Be(("y7", 0f));
        Nearest(collection, 8_000).Should().Be(("y8", 0f));
    }

    private static ResultIdCache Checked(Collection collection) => collection.Engine.State.CheckedRows;

    [Fact]
    public void Query_with_a_filter_reads_each_result_row_from_sqlite_once_and_never_takes_an_unfiltered_querys_ids()
    {
        var collection = _fx.CreateCollection("filtered");
        Add(collection, Enumerable.Range(0, 200).Select(n => ("r" + n, n)));
        Nearest(collection, 9).Should().Be(("r9", 0f));
        var (hits, misses) = (Cache(collection).Hits, Cache(collection).Misses);
        var queries = Enumerable.Range(0, 20).Select(q => new[] { Vector(q * 7) }).ToArray();

        var first = queries.Select(q => collection.Query(q, nResults: 10, where: Where.Lt("n", 150), include: Include.Distances)).ToArray();
        var checkedMisses = Checked(collection).Misses;
        var checkedHits = Checked(collection).Hits;
        var again = queries.Select(q => collection.Query(q, nResults: 10, where: Where.Lt("n", 150), include: Include.None)).ToArray();


        again.Select(r => r.Ids[0]).Should().BeEquivalentTo(first.Select(r => r.Ids[0]), o => o.WithStrictOrdering());
        first.SelectMany(r => r.Ids[0]).Select(id => int.Parse(id.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)).Should().OnlyContain(n => n < 150);
        Checked(collection).Misses.Should().Be(checkedMisses, "every row was read by the first pass");
        Checked(collection).Hits.Should().Be(checkedHits + (20 * 10));
        Checked(collection).TryGet(0, out var kept).Should().BeTrue("slot 0 holds r0, the first query's nearest");
        kept!.MetadataJson.Should().Contain("\"n\"", "the row is kept with its checksum-verified metadata, which each query checks again");
        collection.Query([Vector(9)], nResults: 3, ids: ["r9", "r10", "r11"], include: Include.Distances).Ids[0].Should().BeEquivalentTo(["r9", "r10", "r11"]);
        (Cache(collection).Hits, Cache(collection).Misses).Should().Be((hits, misses), "a filtered query never takes an unfiltered one's ids");
    }

    [Fact]
    public void Query_with_a_filter_checks_the_new_metadata_after_a_record_is_replaced_in_place()
    {
        var collection = _fx.CreateCollection("replaced");
        Add(collection, Enumerable.Range(0, 100).Select(n => ("r" + n, n)));
        const int slot = 4; // the fifth record added to a new collection
        collection.Query([Vector(4)], nResults: 1, where: Where.Lt("n", 50), include: Include.None).Ids[0].Should().Equal("r4");
        Checked(collection).TryGet(slot, out var before).Should().BeTrue();
        before!.MetadataJson.Should().Contain("4");

        // In place (same slot): metadata only, then metadata and vector.
        collection.Update(["r4"], metadatas: [StoreFixture.Meta(("n", 60L))]);
        Checked(collection).TryGet(slot, out _).Should().BeFalse("a replaced record's kept row is forgotten");
        collection.Query([Vector(4)], nResults: 3, where: Where.Lt("n", 50), include: Include.None).Ids[0].Should().NotContain("r4");
        var found = collection.Query([Vector(4)], nResults: 1, where: Where.Gte("n", 50), include: Include.Distances);
        (found.Ids[0][0], found.Distances![0][0]).Should().Be(("r4", 0f));
        Checked(collection).TryGet(slot, out var after).Should().BeTrue();
        after!.MetadataJson.Should().Contain("60");

        collection.Upsert(["r4"], [Vector(4)], [StoreFixture.Meta(("n", 4L))]);
        Checked(collection).TryGet(slot, out _).Should().BeFalse();
        collection.Query([Vector(4)], nResults: 1, where: Where.Lt("n", 50), include: Include.None).Ids[0].Should().Equal("r4");
        Checked(collection).TryGet(slot, out var again).Should().BeTrue();
        again!.MetadataJson.Should().NotContain("60");
    }

    [Fact]
    public void Add_stops_keeping_rows_past_the_character_budget_and_Forget_gives_their_characters_back()
    {
        var cache = new ResultIdCache(maxChars: 100);
        cache.Add(new RecordRow(1, 0, "a", null, new string('m', 60), null), slotCount: 4);
        cache.Add(new RecordRow(2, 1, "b", null, new string('m', 60), null), slotCount: 4);
        cache.Count.Should().Be(1, "the second row would take 122 characters of 100");
        cache.TryGet(1, out _).Should().BeFalse();

        cache.Forget(0);
        cache.Add(new RecordRow(2, 1, "b", null, new string('m', 60), null), slotCount: 4);
        cache.TryGet(1, out _).Should().BeTrue();
        cache.Clear();
        cache.Add(new RecordRow(1, 0, "a", null, new string('m', 60), null), slotCount: 4);
        cache.Count.Should().Be(1);
    }

    [Fact]
    public async Task Query_returns_each_records_own_id_while_writes_free_and_reuse_slots_concurrently()
    {
        const int Records = 64;
        var collection = _fx.CreateCollection("race");
        Add(collection, Enumerable.Range(0, Records).Select(n => ($"v{n}g0", n)));
        var generation = new int[Records];
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            // Each step frees two records' slots and adds both back (new ids) in the other order, so a slot is often
            // taken by the other vector: a stale id would name the wrong vector.
            for (var i = 0; i < 300; i++)
            {
                var (a, b) = (i % Records, (i * 7 + 3) % Records);
                if (a == b)
                {
                    continue;
                }

                collection.Delete([$"v{a}g{generation[a]}", $"v{b}g{generation[b]}"]);
                generation[a]++;
                generation[b]++;
                Add(collection, [($"v{b}g{generation[b]}", b), ($"v{a}g{generation[a]}", a)]);
            }

            stop.Cancel();
        });

        var checkedHits = 0;
        Parallel.For(0, 4, t =>
        {
            for (var q = t; !stop.IsCancellationRequested; q += 4)
            {
                var n = q % Records;
                var result = collection.Query([Vector(n)], nResults: 3, include: Include.Distances);
                for (var h = 0; h < result.Ids[0].Count; h++)
                {
                    if (result.Distances![0][h] == 0f)
                    {
                        result.Ids[0][h].Should().StartWith($"v{n}g", "a hit at distance 0 is the record holding the queried vector");
                        Interlocked.Increment(ref checkedHits);
                    }
                }
            }
        });
        await writer;

        checkedHits.Should().BePositive();
        Cache(collection).Hits.Should().BePositive("the test must exercise ids taken from memory");
        for (var n = 0; n < Records; n++)
        {
            Nearest(collection, n).Should().Be(($"v{n}g{generation[n]}", 0f));
        }
    }

    [Fact]
    public void Add_keeps_at_most_MaxEntries_ids_and_Forget_and_Clear_drop_them()
    {
        var cache = new ResultIdCache();
        for (var slot = 0; slot < ResultIdCache.MaxEntries + 10; slot++)
        {
            cache.Add(new RecordRow(slot + 1, slot, "id" + slot, null, null, null), slotCount: 16);
        }

        cache.Count.Should().Be(ResultIdCache.MaxEntries);
        cache.TryGet(ResultIdCache.MaxEntries + 5, out _).Should().BeFalse("ids beyond the limit are not kept");
        cache.TryGet(12_345, out var row).Should().BeTrue();
        row!.Id.Should().Be("id12345");

        cache.Forget(12_345);
        cache.TryGet(12_345, out _).Should().BeFalse();
        cache.Count.Should().Be(ResultIdCache.MaxEntries - 1);
        cache.Add(new RecordRow(1, 12_345, "other", null, null, null), slotCount: 16);
        cache.TryGet(12_345, out row).Should().BeTrue();
        row!.Id.Should().Be("other");

        cache.Clear();
        cache.Count.Should().Be(0);
        cache.TryGet(0, out _).Should().BeFalse();
        cache.TryGet(-1, out _).Should().BeFalse();
    }
}
