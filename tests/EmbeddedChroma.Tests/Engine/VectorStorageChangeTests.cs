using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// Changing a collection's <c>vector_storage</c> with <c>Modify</c>: recorded at once, the compact rows and the graph
/// rebuilt in the background, queries exact-correct meanwhile (the records not linked yet are scanned exactly), writes
/// made during the rebuild found after it, reopen, compaction and close mid-rebuild, and the refusals.
/// </summary>
public sealed class VectorStorageChangeTests
{
    private const int Dimension = 96;
    private const int Count = 2_000;

    /// <summary>Clustered vectors (seeded): 24 centres, each row a centre plus noise.</summary>
    private static float[][] Clustered(int n, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.1f).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[random.Next(centres.Length)];
            return c.Select(x => x + ((float)(random.NextDouble() - 0.5) * 0.12f)).ToArray();
        }).ToArray();
    }

    private static string[] Ids(int start, int count, string prefix = "id") => Enumerable.Range(start, count).Select(i => prefix + i).ToArray();

    private static Collection Create(StoreFixture fx, string name, float[][] vectors, VectorStorage storage = VectorStorage.Float32)
    {
        var collection = fx.Client.CreateCollection(name, new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.L2, VectorStorage = storage } });
        for (var start = 0; start < vectors.Length; start += 1_000)
        {
            var n = Math.Min(1_000, vectors.Length - start);
            collection.Add(
                Ids(start, n),
                vectors.Skip(start).Take(n).ToArray(),
                Enumerable.Range(start, n).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("bucket", i % 10))).ToArray());
        }

        collection.WaitForIndex();
        return collection;
    }

    private static double Recall(Collection collection, Collection exact, float[][] queries)
    {
        var total = 0.0;
        foreach (var query in queries)
        {
            // The reference: an exact scan (an id filter over every record is planned exactly).
            var truth = exact.Query([query], nResults: 10, ids: Ids(0, Count), include: Include.None).Ids[0].ToHashSet();
            total += collection.Query([query], nResults: 10, include: Include.None, efSearch: 64).Ids[0].Count(truth.Contains) / 10.0;
        }

        return total / queries.Length;
    }

    /// <summary>Holds the collection's background indexer before its next chunk until <paramref name="gate"/> is set (or the store closes).</summary>
    private static void Hold(Collection collection, ManualResetEventSlim gate) =>
        collection.Indexer!.ChunkStarting = token => WaitHandle.WaitAny([gate.WaitHandle, token.WaitHandle]);

    /// <summary>Each probe's own vector is its nearest neighbour at distance 0 (random rows in 96 dimensions are far apart).</summary>
    private static void ShouldFindOwnVectors(Collection collection, IEnumerable<(string Id, float[] Vector)> probes)
    {
        foreach (var (id, vector) in probes)
        {
            var hit = collection.Query([vector], nResults: 1, include: Include.Distances);
            hit.Ids[0].Should().Equal([id]);
            hit.Distances![0][0].Should().Be(0f);
        }
    }

    [Fact]
    public void Modify_rebuilds_the_graph_for_each_new_vector_storage_with_float32_recall_and_exact_distances_when_changed_float32_int8_float16_float32()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 301);
        var reference = Create(fx, "reference", vectors);
        var collection = Create(fx, "changing", vectors);
        var queries = Clustered(40, 302);
        var float32Rows = collection.RowsMemoryBytes;
        var recall32 = Recall(reference, reference, queries);

        foreach (var storage in new[] { VectorStorage.Int8, VectorStorage.Float16, VectorStorage.Float32 })
        {
            collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = storage });
            collection.Configuration.VectorStorage.Should().Be(storage);
            fx.Client.GetCollection("changing").Configuration.VectorStorage.Should().Be(storage, "the change is recorded at once");

            var status = collection.BuildIndex();
            status.Should().Be(new IndexingStatus(Count, 0, Count));
            collection.Indexer!.Graph.Should().NotBeNull();
            collection.Indexer.Graph!.Count.Should().Be(Count);

            // The rows the graph walks changed type: int8 codes (96 + 4 bytes, 64-aligned → 128), float16 (2 bytes a dimension), float32.
            var rows = collection.RowsMemoryBytes;
            switch (storage)
            {
                case VectorStorage.Int8:
                    collection.Indexer.Graph.Should().NotBeNull();
                    rows.Should().BeLessThan(float32Rows / 2);
                    break;
                case VectorStorage.Float16:
                    rows.Should().BeLessThan(float32Rows).And.BeGreaterThan(float32Rows / 4);
                    break;
                default:
                    rows.Should().Be(float32Rows);
                    break;
            }

            var recall = Recall(collection, reference, queries);
            recall.Should().BeGreaterThanOrEqualTo(recall32 - (storage == VectorStorage.Int8 ? 0.05 : 0.03), $"{storage}: float32 reached {recall32:F3}");

            foreach (var query in queries.Take(10))
            {
                var got = collection.Query([query], nResults: 10, include: Include.Distances);
                var exact = reference.Query([query], nResults: 10, ids: got.Ids[0], include: Include.Distances);
                var exactById = exact.Ids[0].Zip(exact.Distances![0]).ToDictionary(p => p.First, p => p.Second);
                got.Distances![0].Select((d, i) => (d, i)).Should().OnlyContain(p => p.d == exactById[got.Ids[0][p.i]], $"{storage}: distances are the float32 kernel's (re-ranked)");
            }
        }
    }

    [Fact]
    public void Query_during_a_vector_storage_rebuild_stays_exact_and_writes_made_meanwhile_are_found_after_it()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 303);
        var collection = Create(fx, "changing", vectors);
        using var gate = new ManualResetEventSlim();
        Hold(collection, gate);

        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Int8 });
        collection.GetIndexingStatus().Should().Be(new IndexingStatus(0, Count, Count), "every record waits for the new graph");
        fx.Store.GetStatus().PendingIndexRows.Should().Be(Count);

        // Meanwhile: each record's own vector is found at distance 0, filters hold, and writes go on.
        ShouldFindOwnVectors(collection, Enumerable.Range(0, Count).Where(i => i % 97 == 0).Select(i => ("id" + i, vectors[i])));
        var filtered = collection.Query([vectors[7]], nResults: 5, where: Where.Eq("bucket", 7), include: Include.Metadatas);
        filtered.Ids[0].Should().HaveCount(5);
        filtered.Ids[0][0].Should().Be("id7");
        filtered.Metadatas![0].Should().OnlyContain(m => m!["bucket"].AsInt64() == 7);

        var added = Clustered(200, 304);
        var moved = Clustered(50, 305);
        collection.Add(Ids(0, 200, "new"), added);
        collection.Update(Ids(100, 50), moved);
        collection.Delete(Ids(1_000, 100));
        ShouldFindOwnVectors(collection, [("new3", added[3]), ("id120", moved[20])]);

        gate.Set();
        var status = collection.BuildIndex();
        status.Should().Be(new IndexingStatus(Count + 100, 0, Count + 100));
        collection.Indexer!.Graph!.Count.Should().BeGreaterThanOrEqualTo(Count + 100);
        ShouldFindOwnVectors(collection, Enumerable.Range(0, 200).Select(i => ("new" + i, added[i])));
        ShouldFindOwnVectors(collection, Enumerable.Range(0, 50).Select(i => ("id" + (100 + i), moved[i])));
        var near = collection.Query(vectors.Skip(1_000).Take(100).ToArray(), nResults: 3, include: Include.None).Ids;
        near.SelectMany(ids => ids).Should().NotContain(Ids(1_000, 100), "records deleted during the rebuild stay deleted");
    }

    [Fact]
    public void Reopen_mid_rebuild_keeps_the_new_vector_storage_and_finishes_the_graph_when_the_store_was_closed_during_it()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 306);
        var collection = Create(fx, "changing", vectors);
        using var gate = new ManualResetEventSlim();
        Hold(collection, gate);
        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float16 });
        collection.Add(Ids(0, 10, "new"), Clustered(10, 307));

        var close = () => fx.Reopen();
        close.Should().NotThrow("closing stops the rebuild cleanly");
        var reopened = fx.Client.GetCollection("changing");
        reopened.Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
        reopened.BuildIndex().Should().Be(new IndexingStatus(Count + 10, 0, Count + 10));
        reopened.RowsMemoryBytes.Should().BeLessThan((long)Count * Dimension * sizeof(float));
        ShouldFindOwnVectors(reopened, Enumerable.Range(0, Count).Where(i => i % 151 == 0).Select(i => ("id" + i, vectors[i])));
    }

    [Fact]
    public void Reopen_rebuilds_the_graph_instead_of_loading_a_file_saved_for_another_vector_storage_when_a_crash_left_it_behind()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 308);
        Create(fx, "changing", vectors, VectorStorage.Float16);
        fx.Close();

        // What a crash between the catalog's commit and the graph file's deletion would leave: the new storage recorded,
        // the float16 graph file still there (same dimension, M, space, stamp and owner).
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(fx.Folder, "chroma.sqlite3")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE store_meta SET value = 'int8' WHERE key LIKE 'vector_storage:%'";
            command.ExecuteNonQuery().Should().Be(1);
        }

        fx.Reopen();
        var reopened = fx.Client.GetCollection("changing");
        reopened.Configuration.VectorStorage.Should().Be(VectorStorage.Int8);
        reopened.BuildIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeFalse("a graph built over float16 rows is never walked over int8 codes");
        ShouldFindOwnVectors(reopened, Enumerable.Range(0, Count).Where(i => i % 151 == 0).Select(i => ("id" + i, vectors[i])));

        // And the graph saved for int8 loads as int8 next time.
        fx.Reopen();
        var again = fx.Client.GetCollection("changing");
        again.BuildIndex();
        again.Indexer!.LoadedFromFile.Should().BeTrue();
    }

    [Fact]
    public void Compact_during_a_vector_storage_rebuild_keeps_every_record_findable_when_records_were_deleted()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 309);
        var collection = Create(fx, "changing", vectors);
        using var gate = new ManualResetEventSlim();
        Hold(collection, gate);
        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Int8 });
        collection.Delete(Ids(0, 1_000));

        collection.Compact().RecordsMoved.Should().BeGreaterThan(0);
        gate.Set();
        collection.BuildIndex().Should().Be(new IndexingStatus(Count - 1_000, 0, Count - 1_000));
        collection.Configuration.VectorStorage.Should().Be(VectorStorage.Int8);
        collection.RowsMemoryBytes.Should().BeLessThan((long)(Count - 1_000) * Dimension * sizeof(float) / 2);
        ShouldFindOwnVectors(collection, Enumerable.Range(1_000, Count - 1_000).Where(i => i % 97 == 0).Select(i => ("id" + i, vectors[i])));
    }

    [Fact]
    public void Modify_changes_nothing_when_the_vector_storage_is_the_same_and_refuses_an_unknown_one_naming_the_allowed_values()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var collection = Create(fx, "same", Clustered(1_000, 310), VectorStorage.Float16);
        var graph = collection.Indexer!.Graph;

        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float16 });
        collection.Indexer.Graph.Should().BeSameAs(graph, "the same storage rebuilds nothing");
        collection.GetIndexingStatus().UnindexedRecords.Should().Be(0);

        var unknown = () => collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = (VectorStorage)9 });
        unknown.Should().Throw<ChromaValidationException>().WithMessage("*vector_storage*9*'float32', 'float16'*'int8'*");
        collection.Indexer.Graph.Should().BeSameAs(graph);
        fx.Client.GetCollection("same").Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
    }

    [Fact]
    public void Modify_throws_ChromaReadOnlyException_when_the_store_is_read_only_and_the_vector_storage_would_change()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        Create(fx, "kept", Clustered(600, 311));
        fx.Close();
        using var store = ChromaStore.Open(fx.Folder, new ChromaStoreOptions { ReadOnly = true, HnswThreshold = 500 });
        var collection = store.GetClient(fx.AdminKey).GetCollection("kept");
        collection.Query([Clustered(1, 312)[0]], nResults: 1);
        var graph = collection.Indexer!.Graph;

        var change = () => collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Int8 });
        change.Should().Throw<ChromaReadOnlyException>();
        collection.Configuration.VectorStorage.Should().Be(VectorStorage.Float32);
        collection.Indexer.Graph.Should().BeSameAs(graph);
    }
}
