using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// A write batch inserts its records into SQLite without holding its collection's lock exclusively: queries, gets and
/// counts on the collection (and the background indexer, which links under the same read lock) run meanwhile and see
/// only committed records; the batch takes the lock exclusively for its commit and the in-memory publish only, so what
/// readers see changes at once and completely (issues #14 and #17: durable ingest speed while the index builds).
/// </summary>
public sealed class WriteConcurrencyTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    /// <summary>Runs <see cref="During"/> on another thread at the batch's first progress report (its inserts under way).</summary>
    private sealed class MidBatch(Action during) : IProgress<ChromaProgress>
    {
        public bool Ran { get; private set; }

        public void Report(ChromaProgress value)
        {
            if (Ran || value.Completed == value.Total)
            {
                return;
            }

            Ran = true;
            var task = Task.Run(during);
            task.Wait(Patience).Should().BeTrue("a read of the collection must not wait for a batch's inserts");
            task.GetAwaiter().GetResult();
        }
    }

    private static RecordBatch Batch(int from, int count, string group) => new()
    {
        Ids = Enumerable.Range(from, count).Select(i => $"id{i}").ToArray(),
        Embeddings = Enumerable.Range(from, count).Select(i => new[] { 1f, i, (float)(i % 3) }).ToArray(),
        Metadatas = Enumerable.Range(from, count).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("group", group), ("i", (long)i))).ToArray(),
        Documents = Enumerable.Range(from, count).Select(i => $"document {group} {i}").ToArray(),
    };

    [Fact]
    public void Query_get_and_count_complete_while_an_add_inserts_its_records_and_see_only_committed_records()
    {
        var collection = _fx.CreateCollection("books");
        collection.Add(Batch(0, 3, "old"));
        int? countDuring = null;
        GetResult? getDuring = null;
        QueryResult? queryDuring = null;
        var midBatch = new MidBatch(() =>
        {
            countDuring = collection.Count();
            getDuring = collection.Get();
            queryDuring = collection.Query([[1f, 5f, 2f]], nResults: 10);
        });

        collection.Add(Batch(3, 10, "new"), midBatch);

        midBatch.Ran.Should().BeTrue();
        countDuring.Should().Be(3);
        getDuring!.Ids.Should().BeEquivalentTo(["id0", "id1", "id2"]);
        queryDuring!.Ids[0].Should().BeEquivalentTo(["id0", "id1", "id2"]);
        collection.Count().Should().Be(13);
        collection.Query([[1f, 5f, 2f]], nResults: 1).Ids[0].Should().Equal("id5");
        collection.GetSlots().Allocated.Should().Be(13);
    }

    [Fact]
    public void Filtered_get_finds_the_batch_after_commit_when_the_filter_index_was_built_while_the_batch_inserted()
    {
        var collection = _fx.CreateCollection("books");
        collection.Add(Batch(0, 5, "old"));
        var midBatch = new MidBatch(() =>
            // The first filtered read builds the collection's in-memory filter index from the committed rows.
            collection.Get(where: Where.Eq("group", "old")).Ids.Should().HaveCount(5));

        collection.Add(Batch(5, 4, "new"), midBatch);

        midBatch.Ran.Should().BeTrue();
        collection.Get(where: Where.Eq("group", "new")).Ids.Should().BeEquivalentTo(["id5", "id6", "id7", "id8"]);
        collection.Get(where: Where.Gte("i", 3L)).Ids.Should().BeEquivalentTo(["id3", "id4", "id5", "id6", "id7", "id8"]);
        collection.Query([[1f, 6f, 0f]], nResults: 1, where: Where.Eq("group", "new")).Ids[0].Should().Equal("id6");
    }

    [Fact]
    public void Failed_batch_leaves_records_and_slots_unchanged_when_readers_ran_during_its_inserts()
    {
        var collection = _fx.CreateCollection("books");
        collection.Add(Batch(0, 6, "old"));
        collection.Delete(["id1", "id4"]);
        var before = StoreFixture.Everything(collection);
        var midBatch = new MidBatch(() =>
        {
            collection.Count().Should().Be(4);
            throw new InvalidOperationException("the caller's progress callback failed");
        });

        var failing = () => collection.Add(Batch(10, 5, "new"), midBatch);

        failing.Should().Throw<InvalidOperationException>();
        collection.Count().Should().Be(4);
        StoreFixture.Everything(collection).Should().BeEquivalentTo(before);
        collection.GetSlots().Should().Be(new CollectionSlots(4, 6));

        // The two freed slots are reused first, then one new slot: exactly as if the failed batch had never run.
        collection.Add(Batch(20, 3, "after"));
        collection.GetSlots().Should().Be(new CollectionSlots(7, 7));
        collection.Get(where: Where.Eq("group", "after")).Ids.Should().BeEquivalentTo(["id20", "id21", "id22"]);
        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("books");
        reopened.Count().Should().Be(7);
        reopened.Query([[1f, 21f, 0f]], nResults: 1).Ids[0].Should().Equal("id21");
    }
}
