using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// <c>vector_storage</c> through the public API: a float16 collection's graph walks float16 rows, its results are
/// re-ranked with the float32 rows (exact float32 distances), recall stays that of float32 at equal ef, and every write,
/// compaction, reopen and damaged file behaves as for float32.
/// </summary>
public sealed class VectorStorageTests
{
    private const int Dimension = 384;
    private const int Count = 1_500;

    /// <summary>MiniLM-like clustered vectors (seeded): 24 centres, each row a centre plus noise; ip rows have norms spread over 4×.</summary>
    private static float[][] Clustered(int n, int seed, bool spreadNorms = false)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.1f).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[random.Next(centres.Length)];
            var scale = spreadNorms ? 0.5f + (float)(random.NextDouble() * 1.5) : 1f;
            return c.Select(x => (x + ((float)(random.NextDouble() - 0.5) * 0.12f)) * scale).ToArray();
        }).ToArray();
    }

    private static Collection Create(StoreFixture fx, string name, DistanceSpace space, VectorStorage storage, float[][] vectors)
    {
        var collection = fx.Client.CreateCollection(name, new CollectionOptions { Configuration = new CollectionConfiguration { Space = space, VectorStorage = storage } });
        for (var start = 0; start < vectors.Length; start += 500)
        {
            var n = Math.Min(500, vectors.Length - start);
            collection.Add(
                Enumerable.Range(start, n).Select(i => "id" + i).ToArray(),
                vectors.Skip(start).Take(n).ToArray(),
                Enumerable.Range(start, n).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("bucket", i % 10))).ToArray());
        }

        collection.WaitForIndex();
        return collection;
    }

    private static double Distance(DistanceSpace space, float[] a, float[] b)
    {
        if (space == DistanceSpace.L2)
        {
            return a.Zip(b, (x, y) => (x - (double)y) * (x - (double)y)).Sum();
        }

        var dot = a.Zip(b, (x, y) => x * (double)y).Sum();
        return space == DistanceSpace.Cosine
            ? 1 - (dot / Math.Sqrt(a.Sum(x => x * (double)x) * b.Sum(x => x * (double)x)))
            : 1 - dot;
    }

    private static double Recall(Collection collection, DistanceSpace space, float[][] vectors, float[][] queries, int ef)
    {
        var total = 0.0;
        foreach (var query in queries)
        {
            var truth = Enumerable.Range(0, vectors.Length).OrderBy(i => Distance(space, query, vectors[i])).ThenBy(i => i).Take(10).Select(i => "id" + i).ToHashSet();
            var got = collection.Query([query], nResults: 10, include: Include.None, efSearch: ef).Ids[0];
            total += got.Count(truth.Contains) / 10.0;
        }

        return total / queries.Length;
    }

    /// <summary>The float32 collection's exact distances for <paramref name="ids"/> (an id filter small enough to be scanned exactly).</summary>
    private static Dictionary<string, float> ExactDistances(Collection float32, float[] query, IReadOnlyList<string> ids)
    {
        var exact = float32.Query([query], nResults: ids.Count, ids: ids, include: Include.Distances);
        return exact.Ids[0].Zip(exact.Distances![0], (id, d) => (id, d)).ToDictionary(p => p.id, p => p.d);
    }

    [Theory]
    [InlineData(DistanceSpace.L2, VectorStorage.Float16)]
    [InlineData(DistanceSpace.Cosine, VectorStorage.Float16)]
    [InlineData(DistanceSpace.InnerProduct, VectorStorage.Float16)]
    [InlineData(DistanceSpace.L2, VectorStorage.Int8)]
    [InlineData(DistanceSpace.Cosine, VectorStorage.Int8)]
    [InlineData(DistanceSpace.InnerProduct, VectorStorage.Int8)]
    public void Query_on_a_quantized_collection_keeps_float32_recall_and_returns_exact_float32_distances_when_the_data_is_clustered(DistanceSpace space, VectorStorage storage)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(Count, 171, spreadNorms: space == DistanceSpace.InnerProduct);
        var float32 = Create(fx, "f32", space, VectorStorage.Float32, vectors);
        var float16 = Create(fx, "f16", space, storage, vectors);
        float16.Indexer!.Graph.Should().NotBeNull("the collection is past the threshold, so its graph answers");
        var queries = Clustered(100, 172, spreadNorms: space == DistanceSpace.InnerProduct);

        // Equal ef. Both graphs are built in parallel (not bit-reproducible), and at ef 24 their recall on this noisy 384-d
        // data varied by up to 0.045 between builds of the same storage (ip), so the comparison is at ef 64, where that
        // noise is small; a walk over wrong compact rows would still fall far below. The benchmark measures the issue's
        // tolerances at 100k.
        var recall32 = Recall(float32, space, vectors, queries, ef: 64);
        var recall16 = Recall(float16, space, vectors, queries, ef: 64);
        var tolerance = storage == VectorStorage.Int8 ? 0.05 : 0.03;
        recall16.Should().BeGreaterThanOrEqualTo(recall32 - tolerance, $"float32 reached {recall32:F3}");
        recall16.Should().BeGreaterThanOrEqualTo(0.85);

        foreach (var query in queries.Take(10))
        {
            var result = float16.Query([query], nResults: 10, include: Include.Distances);
            var distances = result.Distances![0];
            distances.Should().BeInAscendingOrder();
            var exact = ExactDistances(float32, query, result.Ids[0]);
            for (var i = 0; i < distances.Count; i++)
            {
                distances[i].Should().Be(exact[result.Ids[0][i]], "re-ranked distances are the float32 kernel's, bit for bit");
            }
        }
    }

    [Fact]
    public void Float16_collection_reports_its_storage_and_reloads_its_graph_without_rebuild_when_the_store_is_reopened()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(1_000, 173);
        var collection = Create(fx, "f16", DistanceSpace.Cosine, VectorStorage.Float16, vectors);
        var queries = Clustered(10, 174);
        var before = queries.Select(q => collection.Query([q], nResults: 10, include: Include.Distances)).ToArray();

        fx.Reopen();

        var reopened = fx.Client.GetCollection("f16");
        reopened.Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
        fx.Client.ListCollections().Single(c => c.Name == "f16").Configuration.VectorStorage.Should().Be(VectorStorage.Float16);
        var after = queries.Select(q => reopened.Query([q], nResults: 10, include: Include.Distances)).ToArray();
        reopened.Indexer!.LoadedFromFile.Should().BeTrue("the saved graph is loaded over the float16 rows derived from the arena");
        for (var i = 0; i < queries.Length; i++)
        {
            after[i].Ids[0].Should().Equal(before[i].Ids[0]);
            after[i].Distances![0].Should().Equal(before[i].Distances![0]);
        }
    }

    [Fact]
    public void Float16_collection_answers_as_before_when_its_arena_file_was_damaged_and_is_rebuilt_from_sqlite()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(1_000, 175);
        var collection = Create(fx, "f16", DistanceSpace.L2, VectorStorage.Float16, vectors);
        var id = collection.Id;
        var queries = Clustered(10, 176);
        var before = queries.Select(q => collection.Query([q], nResults: 5, include: Include.Distances)).ToArray();
        fx.Close();

        // Garble a row in the float32 file the float16 rows are derived from: the checksum rejects it, SQLite rebuilds it.
        var path = fx.ArenaPath(id);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 4096 + (7L * Dimension * sizeof(float)) + 40;
            file.Write([0x7F, 0x7F, 0x7F, 0x7F]);
        }

        fx.Reopen();
        var reopened = fx.Client.GetCollection("f16");
        for (var i = 0; i < queries.Length; i++)
        {
            var after = reopened.Query([queries[i]], nResults: 5, include: Include.Distances);
            after.Ids[0].Should().Equal(before[i].Ids[0]);
            after.Distances![0].Should().Equal(before[i].Distances![0]);
        }
    }

    [Theory]
    [InlineData(VectorStorage.Float16)]
    [InlineData(VectorStorage.Int8)]
    public void Quantized_collection_finds_every_written_vector_at_distance_zero_after_upsert_update_delete_and_compaction(VectorStorage storage)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500 });
        var vectors = Clustered(1_200, 177);
        var collection = Create(fx, "f16", DistanceSpace.L2, storage, vectors);
        var moved = Clustered(50, 178);

        collection.Update(Enumerable.Range(0, 25).Select(i => "id" + i).ToArray(), moved[..25]);
        collection.Upsert(Enumerable.Range(25, 25).Select(i => "new" + i).ToArray(), moved[25..]);
        collection.Delete(Enumerable.Range(100, 400).Select(i => "id" + i).ToArray());
        collection.WaitForIndex();

        void Check(Collection c)
        {
            for (var i = 0; i < 50; i++)
            {
                var expected = i < 25 ? "id" + i : "new" + i;
                var hit = c.Query([moved[i]], nResults: 1, include: Include.Distances);
                hit.Ids[0].Should().Equal([expected]);
                hit.Distances![0][0].Should().Be(0f, "the float32 row of the record is re-ranked exactly");
            }

            for (var i = 500; i < 1_200; i += 35)
            {
                c.Query([vectors[i]], nResults: 1, include: Include.Distances).Ids[0].Should().Equal(["id" + i]);
            }

            var all = c.Query([vectors[150]], nResults: 50, include: Include.None).Ids[0];
            all.Should().NotContain(Enumerable.Range(100, 400).Select(i => "id" + i), "deleted records never come back");
        }

        Check(collection);
        collection.Compact();
        collection.WaitForIndex();
        collection.Indexer!.Graph.Should().NotBeNull();
        Check(collection);
        fx.Reopen();
        Check(fx.Client.GetCollection("f16"));
    }

    [Fact]
    public void Filtered_query_on_a_float16_collection_returns_only_allowed_records_with_exact_distances()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 500, FilteredExactScanLimit = 16 });
        var vectors = Clustered(Count, 179);
        var float32 = Create(fx, "f32", DistanceSpace.Cosine, VectorStorage.Float32, vectors);
        var float16 = Create(fx, "f16", DistanceSpace.Cosine, VectorStorage.Float16, vectors);
        foreach (var query in Clustered(10, 180))
        {
            var where = Where.In("bucket", 1, 2, 3);
            var got = float16.Query([query], nResults: 10, where: where, include: Include.Distances | Include.Metadatas);
            got.Ids[0].Should().HaveCount(10);
            got.Metadatas![0].Should().OnlyContain(m => m!["bucket"].AsInt64() >= 1 && m["bucket"].AsInt64() <= 3);
            var exact = ExactDistances(float32, query, got.Ids[0]);
            got.Distances![0].Select((d, i) => (d, i)).Should().OnlyContain(p => p.d == exact[got.Ids[0][p.i]]);
        }
    }

    [Fact]
    public void CreateCollection_throws_naming_vector_storage_when_the_value_is_unknown_and_Modify_keeps_the_same_storage()
    {
        using var fx = new StoreFixture();
        var unknown = () => fx.Client.CreateCollection("bad", new CollectionOptions { Configuration = new CollectionConfiguration { VectorStorage = (VectorStorage)7 } });
        unknown.Should().Throw<ChromaValidationException>().WithMessage("*vector_storage*7*");
        fx.Client.ListCollections().Should().BeEmpty("a rejected create changes nothing");
        var parse = () => CollectionConfiguration.ParseVectorStorage("int4");
        parse.Should().Throw<ChromaValidationException>().WithMessage("*vector_storage*int4*float32*float16*");

        var collection = fx.Client.CreateCollection("f16", new CollectionOptions { Configuration = new CollectionConfiguration { VectorStorage = VectorStorage.Float16 } });
        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float16, EfSearch = 50 });
        fx.Client.GetCollection("f16").Configuration.Should().Be(new CollectionConfiguration { VectorStorage = VectorStorage.Float16, EfSearch = 50, EmbeddingFunction = collection.Configuration.EmbeddingFunction });
    }
}
