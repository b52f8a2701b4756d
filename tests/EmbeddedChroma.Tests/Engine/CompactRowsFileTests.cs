using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// The saved compact rows of a quantized collection (<c>vectors/&lt;collection&gt;.qvec</c>): a reopen reads them instead
/// of encoding the arena again, so int8 keeps the ranges it was trained with; a damaged, truncated, stale or foreign file
/// is derived again from the arena with the same answers; compaction re-trains; a vector_storage change rewrites it.
/// </summary>
public sealed class CompactRowsFileTests
{
    private const int Dimension = 64;
    private const int Count = 400;
    private const float Outlier = 3f;

    /// <summary>Clustered rows (seeded) whose values lie within about ±0.2.</summary>
    private static float[][] Clustered(int n, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.1f).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ => centres[random.Next(centres.Length)].Select(x => x + ((float)(random.NextDouble() - 0.5) * 0.1f)).ToArray()).ToArray();
    }

    /// <summary>
    /// An l2 collection of <paramref name="storage"/> with <see cref="Count"/> clustered rows (its graph, and so its int8
    /// ranges, made at the threshold), then one record "far" whose every value is <see cref="Outlier"/>: outside the ranges.
    /// </summary>
    private static (Collection Collection, float[][] Vectors) Create(StoreFixture fx, string name, VectorStorage storage, int seed)
    {
        var vectors = Clustered(Count, seed);
        var collection = fx.Client.CreateCollection(name, new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.L2, VectorStorage = storage } });
        collection.Add(Enumerable.Range(0, Count).Select(i => "id" + i).ToArray(), vectors);
        collection.WaitForIndex();
        collection.Indexer!.Graph.Should().NotBeNull("the collection is past the threshold");
        collection.Add(["far"], [Enumerable.Repeat(Outlier, Dimension).ToArray()]);
        collection.WaitForIndex();
        return (collection, vectors);
    }

    /// <summary>The step of int8 ranges trained on every row: (largest − smallest) / 255 per dimension, as the store trains.</summary>
    private static float[] TrainedStep(float[][] vectors) =>
        Enumerable.Range(0, Dimension).Select(d => (vectors.Max(v => v[d]) - vectors.Min(v => v[d])) / 255f).ToArray();

    private static float[][] WithOutlier(float[][] vectors) => [.. vectors, Enumerable.Repeat(Outlier, Dimension).ToArray()];

    private static string CompactPath(StoreFixture fx, Guid collection) => Path.Combine(fx.VectorsFolder, collection.ToString("N") + ".qvec");

    /// <summary>Every 20th record and "far" are found first at distance 0, and a query's 5 nearest are the exact ones with exact distances.</summary>
    private static void ShouldAnswerExactly(Collection collection, float[][] vectors)
    {
        for (var i = 0; i < Count; i += 20)
        {
            var hit = collection.Query([vectors[i]], nResults: 1, include: Include.Distances);
            hit.Ids[0].Should().Equal(["id" + i]);
            hit.Distances![0][0].Should().Be(0f);
        }

        collection.Query([Enumerable.Repeat(Outlier, Dimension).ToArray()], nResults: 1, include: Include.None).Ids[0].Should().Equal(["far"]);
        var query = vectors[7].Select(x => x + 0.01f).ToArray();
        var result = collection.Query([query], nResults: 5, include: Include.Distances);
        var expected = Enumerable.Range(0, Count).OrderBy(i => vectors[i].Zip(query, (a, b) => (a - (double)b) * (a - (double)b)).Sum()).Take(5).Select(i => "id" + i);
        result.Ids[0].Should().Equal(expected);
        result.Distances![0].Should().BeInAscendingOrder();
    }

    private static Collection Loaded(StoreFixture fx, string name)
    {
        var collection = fx.Client.GetCollection(name);
        collection.Query([new float[Dimension]], nResults: 1, include: Include.None); // loads the collection
        return collection;
    }

    [Fact]
    public void Reopen_reads_the_saved_int8_codes_and_keeps_the_trained_ranges_when_a_record_written_after_training_lies_outside_them()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 11);
        var codes = collection.Arena!.Codes!;
        var low = codes.Low.ToArray();
        var step = codes.Step.ToArray();
        var far = codes.GetCodes(Count).ToArray();
        var first = codes.GetCodes(0).ToArray();
        far.Should().OnlyContain(c => c == 255, "a value above the trained range is clamped to its top");
        step.Should().NotEqual(TrainedStep(WithOutlier(vectors)), "the ranges were trained before the outlier was written");
        var id = collection.Id;

        fx.Reopen();

        var path = CompactPath(fx, id);
        File.Exists(path).Should().BeTrue("the codes are saved beside the arena on close");
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, "derived files are owner-only");
        }

        var reopened = Loaded(fx, "ints");
        var loaded = reopened.Arena!.Codes!;
        loaded.Low.ToArray().Should().Equal(low, "the ranges stay those trained before the outlier, not re-learned at the reopen");
        loaded.Step.ToArray().Should().Equal(step);
        loaded.GetCodes(Count).ToArray().Should().Equal(far);
        loaded.GetCodes(0).ToArray().Should().Equal(first);
        reopened.Indexer!.LoadedFromFile.Should().BeTrue();
        ShouldAnswerExactly(reopened, vectors);
    }

    [Theory]
    [InlineData(VectorStorage.Int8)]
    [InlineData(VectorStorage.Float16)]
    public void Reopen_holds_memory_for_the_compact_rows_alone_when_the_collection_is_large(VectorStorage storage)
    {
        // The headroom is memory a quantized collection exists to save (an eighth once: 0.33× float32's rows at 1M).
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        const int rows = 12_800;
        var vectors = Clustered(rows, 13);
        var collection = fx.Client.CreateCollection("large", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.L2, VectorStorage = storage } });
        for (var start = 0; start < rows; start += 3_200)
        {
            collection.Add(Enumerable.Range(start, 3_200).Select(i => "id" + i).ToArray(), vectors[start..(start + 3_200)]);
        }

        collection.WaitForIndex();
        fx.Reopen();

        var arena = Loaded(fx, "large").Arena!;
        var (memory, rowBytes) = storage == VectorStorage.Int8
            ? (arena.Codes!.MemoryBytes - (3L * Dimension * sizeof(float)), (long)rows * arena.Codes.RowStride)
            : (arena.Compact!.MemoryBytes, (long)rows * arena.Compact.RowStride * 2);
        arena.SlotCount.Should().Be(rows);
        memory.Should().BeInRange(rowBytes, rowBytes + Environment.SystemPageSize - 1, "the rows loaded at the reopen, on whole pages, and nothing more");
    }

    [Theory]
    [InlineData("body byte flipped")]
    [InlineData("truncated")]
    [InlineData("header garbled")]
    [InlineData("stale")]
    [InlineData("another collection's float16 rows")]
    [InlineData("empty")]
    public void Reopen_derives_the_int8_codes_again_from_the_arena_and_answers_exactly_when_the_saved_file_is(string damage)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 12);
        var id = collection.Id;
        var otherId = damage.StartsWith("another", StringComparison.Ordinal) ? Create(fx, "halves", VectorStorage.Float16, 13).Collection.Id : Guid.Empty;
        fx.Close();
        var path = CompactPath(fx, id);
        var saved = File.ReadAllBytes(path);
        if (damage == "stale")
        {
            // A file saved before a later write (as a crash after that write leaves it): stamped for an older write.
            fx.Reopen();
            fx.Client.GetCollection("ints").Update(["id3"], [vectors[3]]);
            fx.Close();
        }

        switch (damage)
        {
            case "body byte flipped":
                saved[^100] ^= 0x10;
                File.WriteAllBytes(path, saved);
                break;
            case "truncated":
                File.WriteAllBytes(path, saved[..^448]);
                break;
            case "header garbled":
                saved[20] ^= 0x01;
                File.WriteAllBytes(path, saved);
                break;
            case "stale":
                File.WriteAllBytes(path, saved);
                break;
            case "another collection's float16 rows":
                File.Copy(CompactPath(fx, otherId), path, overwrite: true);
                break;
            case "empty":
                File.WriteAllBytes(path, []);
                break;
        }

        fx.Reopen();
        var reopened = Loaded(fx, "ints");
        reopened.Arena!.Codes!.Step.ToArray().Should().Equal(TrainedStep(WithOutlier(vectors)), "the codes were derived again, trained on every row");
        ShouldAnswerExactly(reopened, vectors);

        // The close saves them again, and the next open reads them.
        fx.Reopen();
        Loaded(fx, "ints").Arena!.Codes!.SavedStamp.Should().NotBeNull("the rewritten file is read");
    }

    [Fact]
    public void Reopen_reads_the_saved_rows_when_a_save_was_killed_before_its_rename_and_removes_the_leftover()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 14);
        var step = collection.Arena!.Codes!.Step.ToArray();
        var id = collection.Id;
        fx.Close();

        // What a process killed while saving leaves: the complete previous file and a partial temporary one.
        var path = CompactPath(fx, id);
        File.WriteAllBytes(path + ".tmp", File.ReadAllBytes(path)[..1000]);

        fx.Reopen();
        var reopened = Loaded(fx, "ints");
        reopened.Arena!.Codes!.Step.ToArray().Should().Equal(step);
        File.Exists(path + ".tmp").Should().BeFalse();
        ShouldAnswerExactly(reopened, vectors);
    }

    [Fact]
    public void Compact_retrains_the_int8_ranges_on_every_row_and_the_reopen_keeps_them()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 15);
        collection.Arena!.Codes!.Step.ToArray().Should().NotEqual(TrainedStep(WithOutlier(vectors)));
        collection.Delete(["id" + (Count - 1)]);

        collection.Compact();
        collection.WaitForIndex();

        var retrained = TrainedStep(WithOutlier(vectors[..^1]));
        collection.Arena!.Codes!.Step.ToArray().Should().Equal(retrained, "compaction re-trains the ranges on the rows it keeps");
        fx.Reopen();
        var reopened = Loaded(fx, "ints");
        reopened.Arena!.Codes!.Step.ToArray().Should().Equal(retrained);
        reopened.Arena.Codes.SavedStamp.Should().NotBeNull();
        reopened.Query([vectors[5]], nResults: 1, include: Include.None).Ids[0].Should().Equal(["id5"]);
    }

    [Fact]
    public void Modify_vector_storage_rewrites_the_saved_rows_for_the_new_storage_and_float32_has_none()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "quant", VectorStorage.Int8, 16);
        var path = CompactPath(fx, collection.Id);

        collection.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float16 });
        collection.WaitForIndex();
        fx.Reopen();
        var half = Loaded(fx, "quant");
        half.Arena!.Compact!.SavedStamp.Should().NotBeNull("the float16 rows are read from the rewritten file");
        half.Arena.Codes.Should().BeNull();
        ShouldAnswerExactly(half, vectors);

        half.Modify(configuration: new CollectionConfigurationUpdate { VectorStorage = VectorStorage.Float32 });
        File.Exists(path).Should().BeFalse("a float32 collection has no compact rows");
        half.WaitForIndex();
        fx.Reopen();
        File.Exists(path).Should().BeFalse();
        ShouldAnswerExactly(Loaded(fx, "quant"), vectors);
    }

    [Fact]
    public void Backup_of_an_int8_collection_opens_with_the_codes_and_ranges_of_the_source()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 17);
        var step = collection.Arena!.Codes!.Step.ToArray();
        var destination = Path.Combine(Path.GetTempPath(), "ec-qvec-backup-" + Guid.NewGuid().ToString("N"));
        try
        {
            fx.Client.Backup(destination);
            using var copy = ChromaStore.Open(destination, fx.Options);
            var restored = copy.GetClient(fx.AdminKey).GetCollection("ints");

            // The source never saved its graph (fewer links than a background checkpoint waits for, and no close), so the
            // copy builds it in the background: until it is done, only the records not yet linked are found exactly, and a
            // query may miss a linked one (the walk of a graph being built is approximate). Wait for it before asking for
            // exact answers; what this test proves — the copy's codes and ranges are the source's — needs no query.
            restored.WaitForIndex();
            restored.Arena!.Codes!.Step.ToArray().Should().Equal(step, "the backup holds the saved codes of the source");
            restored.Arena.Codes.SavedStamp.Should().NotBeNull();
            restored.Query([vectors[0]], nResults: 1, include: Include.None).Ids[0].Should().Equal(["id0"]);
            ShouldAnswerExactly(restored, vectors);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(destination))
            {
                Directory.Delete(destination, recursive: true);
            }
        }
    }
    [Fact]
    public void VerifyIntegrity_reencodes_int8_codes_changed_in_memory_and_replaces_a_damaged_saved_file()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 200 });
        var (collection, vectors) = Create(fx, "ints", VectorStorage.Int8, 18);
        var path = CompactPath(fx, collection.Id);
        fx.Close();
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        fx.Reopen();
        var reopened = Loaded(fx, "ints");
        reopened.Arena!.Codes!.Write(5, vectors[200].Select(x => -x).ToArray()); // live memory changed under the graph

        var report = fx.Client.VerifyIntegrity();

        var check = report.Collections.Single(c => c.Name == "ints").Checks.Single(c => c.Kind == ChromaDerivedKind.VectorArena);
        check.State.Should().Be(ChromaDerivedState.Repaired, check.Detail);
        check.Detail.Should().Contain("1 compact row(s) in memory (first: slot 5)").And.Contain("saved compact rows file fails its checksum");
        reopened.Arena!.Codes!.Matches(5, vectors[5]).Should().BeTrue();
        var again = fx.Client.VerifyIntegrity().Collections.Single(c => c.Name == "ints").Checks.Single(c => c.Kind == ChromaDerivedKind.VectorArena);
        again.State.Should().Be(ChromaDerivedState.Checked, again.Detail);
        again.Detail.Should().Contain("int8 compact rows encode them and their saved file is sound");
        ShouldAnswerExactly(reopened, vectors);
        fx.Reopen();
        Loaded(fx, "ints").Arena!.Codes!.SavedStamp.Should().NotBeNull("the file saved by the repair is read");
    }
}
