using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// The add path of a write batch (issue #14, 1-connection adds): one insert statement prepared per batch with its
/// parameters reused record after record (and one embedding buffer), the filter rows and document index skipped for a
/// batch without metadata or documents, and the background indexer leaving a core to a collection under ingest. Each
/// record must still get its own values, an existing id its slot back, and a failed batch must change nothing.
/// </summary>
public sealed class AddPathTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static float[] Vector(int i) => [1f + i, (i * 7) % 11, (i * 3) % 5, -i, 0.5f * i];

    private static string[] Ids(string prefix, int from, int count) => Enumerable.Range(from, count).Select(i => prefix + i).ToArray();

    private static float[][] Vectors(int from, int count) => Enumerable.Range(from, count).Select(Vector).ToArray();

    [Fact]
    public void Add_stores_every_record_its_own_embedding_when_one_batch_reuses_its_insert_statement_and_buffer()
    {
        var collection = _fx.CreateCollection("vectors");
        collection.Add(Ids("r", 0, 60), Vectors(0, 60));

        // From SQLite (the arena file deleted, so it is rebuilt from the stored blobs) and checked against the checksums.
        _fx.Close();
        File.Delete(_fx.ArenaPath(collection.Id));
        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("vectors");
        var got = reopened.Get(include: Include.Embeddings);
        got.Ids.Should().Equal(Ids("r", 0, 60));
        for (var i = 0; i < 60; i++)
        {
            got.Embeddings![i].Should().Equal(Vector(i), $"record r{i} keeps its own embedding");
            reopened.Query([Vector(i)], nResults: 1).Ids[0].Should().Equal($"r{i}");
        }

        _fx.Client.VerifyIntegrity().Repaired.Should().BeFalse();
    }

    [Fact]
    public void Add_gives_the_slot_of_an_existing_id_to_the_next_record_and_leaves_the_existing_record_unchanged_when_a_batch_mixes_them()
    {
        var collection = _fx.CreateCollection("mixed");
        collection.Add(["a", "b", "c"], Vectors(0, 3));

        collection.Add(["x", "b", "y", "c", "z"], [Vector(10), Vector(11), Vector(12), Vector(13), Vector(14)]);

        collection.Count().Should().Be(6);
        collection.GetSlots().Should().Be(new CollectionSlots(6, 6), "an id that exists takes no slot");
        var got = collection.Get(["a", "b", "c", "x", "y", "z"], include: Include.Embeddings);
        got.Ids.Should().Equal("a", "b", "c", "x", "y", "z");
        got.Embeddings.Should().BeEquivalentTo([Vector(0), Vector(1), Vector(2), Vector(10), Vector(12), Vector(14)], o => o.WithStrictOrdering());
        collection.Query([Vector(12)], nResults: 1).Ids[0].Should().Equal("y");
        collection.Query([Vector(1)], nResults: 1).Ids[0].Should().Equal("b");
    }

    [Fact]
    public void Add_after_a_failed_batch_writes_its_own_values_and_the_failed_one_changes_nothing_when_it_failed_mid_way()
    {
        var collection = _fx.CreateCollection("failing");
        collection.Add(Ids("r", 0, 5), Vectors(0, 5));
        var before = StoreFixture.Everything(collection);
        var failAfterSome = new Progress(report =>
        {
            if (report.Completed >= 3 && report.Completed < report.Total)
            {
                throw new InvalidOperationException("the caller's progress callback failed");
            }
        });

        var failing = () => collection.Add(new RecordBatch { Ids = Ids("f", 0, 20), Embeddings = Vectors(100, 20) }, failAfterSome);

        failing.Should().Throw<InvalidOperationException>();
        StoreFixture.Everything(collection).Should().BeEquivalentTo(before);
        collection.GetSlots().Should().Be(new CollectionSlots(5, 5));
        collection.Add(Ids("n", 0, 4), Vectors(200, 4));
        collection.Get(Ids("n", 0, 4), include: Include.Embeddings).Embeddings.Should().BeEquivalentTo(Vectors(200, 4), o => o.WithStrictOrdering());
        _fx.Reopen();
        _fx.Client.GetCollection("failing").Count().Should().Be(9);
        _fx.Client.VerifyIntegrity().Repaired.Should().BeFalse();
    }

    [Fact]
    public void Filtered_reads_stay_exact_when_batches_without_metadata_or_documents_follow_a_built_filter_index()
    {
        var collection = _fx.CreateCollection("filters");
        collection.Add(["m0", "m1"], Vectors(0, 2), [StoreFixture.Meta(("group", "a"), ("n", 1L)), StoreFixture.Meta(("group", "b"), ("n", 2L))], ["alpha text", "beta text"]);
        collection.Get(where: Where.Eq("group", "a")).Ids.Should().Equal("m0"); // builds the in-memory filter index

        // Bare records (no filter rows, no document index entry), then a batch mixing bare and described records.
        collection.Add(Ids("bare", 0, 3), Vectors(10, 3));
        collection.Add(["bare3", "m2"], Vectors(20, 2), [null, StoreFixture.Meta(("group", "a"), ("n", 3L))], [null, "gamma text"]);

        collection.Get(where: Where.Eq("group", "a")).Ids.Should().BeEquivalentTo(["m0", "m2"]);
        collection.Get(where: Where.Gte("n", 2L)).Ids.Should().BeEquivalentTo(["m1", "m2"]);
        collection.Get(whereDocument: WhereDocument.Contains("text")).Ids.Should().BeEquivalentTo(["m0", "m1", "m2"]);
        collection.Query([Vector(21)], nResults: 1, where: Where.Eq("group", "a")).Ids[0].Should().Equal("m2");
        collection.Count().Should().Be(7);
        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("filters");
        reopened.Get(where: Where.Eq("group", "a")).Ids.Should().BeEquivalentTo(["m0", "m2"]);
        reopened.Get(whereDocument: WhereDocument.Contains("gamma")).Ids.Should().Equal("m2");
        _fx.Client.VerifyIntegrity().Repaired.Should().BeFalse("the filter rows and document index match the records");
    }

    [Fact]
    public void Add_keeps_every_row_when_the_vector_file_grows_several_times_within_and_across_batches()
    {
        // 1,024 slots at first, doubled as needed: 5,000 records grow the file three times (unmapped and mapped again
        // without flushing the old mapping).
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = int.MaxValue });
        var collection = fx.CreateCollection("growing");
        for (var b = 0; b < 5; b++)
        {
            collection.Add(Ids("r", b * 1_000, 1_000), Vectors(b * 1_000, 1_000));
        }

        fx.Client.VerifyIntegrity().Repaired.Should().BeFalse("every row of the vector file matches its record");
        foreach (var i in new[] { 0, 1_023, 1_024, 2_047, 2_048, 4_095, 4_096, 4_999 })
        {
            collection.Query([Vector(i)], nResults: 1).Ids[0].Should().Equal($"r{i}");
        }

        fx.Reopen();
        var reopened = fx.Client.GetCollection("growing");
        reopened.GetSlots().Should().Be(new CollectionSlots(5_000, 5_000));
        foreach (var i in new[] { 0, 1_024, 2_048, 4_999 })
        {
            reopened.Query([Vector(i)], nResults: 1).Ids[0].Should().Equal($"r{i}");
        }

        fx.Client.VerifyIntegrity().Repaired.Should().BeFalse();
    }

    [Fact]
    public void Collection_counts_as_ingesting_from_a_batch_start_until_the_ingest_gap_after_it_ends()
    {
        var state = new CollectionState
        {
            Id = 1,
            Uuid = Guid.NewGuid(),
            DatabaseId = 1,
            Tenant = "t",
            Database = "d",
            Name = "c",
            Configuration = new CollectionConfiguration(),
        };
        state.Ingesting.Should().BeFalse("no batch has run");

        state.BatchesInserting++;
        state.MarkBatch();
        state.Ingesting.Should().BeTrue("a batch runs its SQL");
        state.BatchesInserting--;
        state.MarkBatch();
        state.Ingesting.Should().BeTrue("the next batch of an ingest is on its way");

        Thread.Sleep(CollectionState.IngestGap + TimeSpan.FromMilliseconds(30));
        state.Ingesting.Should().BeFalse("no batch followed within the gap");
        VectorIndexer.LinkingThreads(ingesting: true).Should().Be(Math.Max(1, Environment.ProcessorCount - 1));
        VectorIndexer.LinkingThreads(ingesting: false).Should().Be(Environment.ProcessorCount);
    }

    [Fact]
    public void Graph_links_every_record_of_an_ingest_and_finds_them_when_batches_follow_each_other_without_pause()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 50 });
        var collection = fx.CreateCollection("ingest");
        for (var b = 0; b < 20; b++)
        {
            collection.Add(Ids("r", b * 40, 40), Vectors(b * 40, 40));
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (collection.GetIndexingStatus().UnindexedRecords > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        collection.GetIndexingStatus().Should().Be(new IndexingStatus(800, 0, 800));
        foreach (var i in new[] { 0, 399, 401, 799 })
        {
            collection.Query([Vector(i)], nResults: 1).Ids[0].Should().Equal($"r{i}");
        }
    }

    /// <summary>A synchronous progress sink (Progress&lt;T&gt; posts to the thread pool, too late to fail the batch).</summary>
    private sealed class Progress(Action<ChromaProgress> report) : IProgress<ChromaProgress>
    {
        public void Report(ChromaProgress value) => report(value);
    }
}
